using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using Xunit.Abstractions;

namespace Vectorizer.Server.Tests;

/// <summary>Qdrant's snapshot API: the official JS client, uploads, access rights, consistency under writes and reads.</summary>
public sealed class SnapshotApiTests(ITestOutputHelper output)
{
    [SkippableFact]
    [Trait("Category", "Slow")]
    public async Task OfficialClientSnapshotScenarioPasses()
    {
        Prerequisites.Require(Need.Node);
        var folder = await JsClientTests.EnsureClientInstalled();
        await using var server = await TestServer.StartAsync();
        var (code, log) = await JsClientTests.Run("node", folder, "snapshots.mjs", server.Url, Path.Combine(server.DataDir, "snapshots"));
        output.WriteLine(log);
        Assert.True(code == 0, log);
        Assert.Contains("all steps passed", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UploadRecoversAndChecksTheChecksum()
    {
        await using var server = await TestServer.StartAsync();
        await BackupTests.Populate(server, "up", 60);
        var before = await BackupTests.Fingerprint(server, "up");
        var snapshot = (await server.Post("/collections/up/snapshots", "")).AssertOk().Result;
        var name = snapshot.GetProperty("name").GetString()!;
        var bytes = await server.Client.GetByteArrayAsync($"/collections/up/snapshots/{name}");
        Assert.Equal(snapshot.GetProperty("checksum").GetString(), Convert.ToHexStringLower(SHA256.HashData(bytes)));
        (await server.Delete("/collections/up")).AssertOk();

        (await Upload(server, "up", bytes, "0000")).AssertError(400, "checksum");
        Assert.Equal(404, (await server.Get("/collections/up")).Status);
        (await Upload(server, "up", BackupTests.Flip(bytes, bytes.Length / 2), null)).AssertError(400, "invalid");
        Assert.Equal(404, (await server.Get("/collections/up")).Status);

        (await Upload(server, "up", bytes, snapshot.GetProperty("checksum").GetString())).AssertOk();
        Assert.Equal(before, await BackupTests.Fingerprint(server, "up"));
    }

    private static async Task<ApiResponse> Upload(TestServer server, string collection, byte[] bytes, string? checksum)
    {
        using var form = new MultipartFormDataContent();
        var file = new ByteArrayContent(bytes);
        file.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        form.Add(file, "snapshot", collection + "-upload.snapshot");
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/collections/{collection}/snapshots/upload?wait=true" + (checksum is null ? "" : "&checksum=" + checksum)) { Content = form };
        return await server.Client.SendAndRead(request);
    }

    [Fact]
    public async Task EveryBackupAndSnapshotRouteNeedsManageRights()
    {
        await using var server = await TestServer.StartAsync(Secure.Configure);
        (await server.Client.Put("/collections/s", """{"vectors": {"size": 2, "distance": "Dot"}}""", Secure.FullKey)).AssertOk();
        var routes = new (HttpMethod Method, string Path, string? Body)[]
        {
            (HttpMethod.Get, "/api/backups", null),
            (HttpMethod.Post, "/api/backups/create", "{}"),
            (HttpMethod.Post, "/api/backups/restore", """{"backup_id": "x"}"""),
            (HttpMethod.Post, "/api/backups/verify", """{"backup_id": "x"}"""),
            (HttpMethod.Delete, "/api/backups/x", null),
            (HttpMethod.Get, "/collections/s/snapshots", null),
            (HttpMethod.Post, "/collections/s/snapshots", ""),
            (HttpMethod.Put, "/collections/s/snapshots/recover", """{"location": "file:///x.snapshot"}"""),
            (HttpMethod.Get, "/collections/s/snapshots/x.snapshot", null),
            (HttpMethod.Delete, "/collections/s/snapshots/x.snapshot", null),
            (HttpMethod.Get, "/snapshots", null),
            (HttpMethod.Post, "/snapshots", ""),
            (HttpMethod.Get, "/snapshots/x.snapshot", null),
            (HttpMethod.Delete, "/snapshots/x.snapshot", null),
        };
        foreach (var (method, path, body) in routes)
        {
            Assert.Equal(401, (await server.Client.Send(method, path, body, null)).Status);
            Assert.Equal(403, (await server.Client.Send(method, path, body, Secure.ReadKey)).Status);
        }

        (await server.Client.Send(HttpMethod.Post, "/collections/s/snapshots", "", Secure.FullKey)).AssertOk();
        Assert.Equal(1, (await server.Client.Get("/collections/s/snapshots", Secure.FullKey)).AssertOk().Result.GetArrayLength());
    }

    /// <summary>
    /// A snapshot taken while a client keeps writing (wait=true, one batch of points per request, in order): recovered,
    /// it holds exactly the first k batches for some k (no torn batch, nothing out of order), and every batch
    /// acknowledged before the snapshot was requested.
    /// </summary>
    [Fact]
    public async Task SnapshotDuringWritesIsAPrefixOfTheAcknowledgedWrites()
    {
        await using var server = await TestServer.StartAsync();
        await server.CreateCollection("w", size: 4);
        const int Batch = 20;
        var acknowledged = 0;
        using var stop = new CancellationTokenSource();
        var writer = Task.Run(async () =>
        {
            for (var b = 0; !stop.IsCancellationRequested && b < 5000; b++)
            {
                var points = string.Join(",", Enumerable.Range(b * Batch, Batch).Select(i => $$"""{"id": {{i}}, "vector": [1, {{i % 7}}, 0.5, {{b}}], "payload": {"batch": {{b}} } }"""));
                (await server.Put("/collections/w/points?wait=true", $$"""{"points": [{{points}}]}""")).AssertOk();
                Volatile.Write(ref acknowledged, b + 1);
            }
        });

        var snapshots = new List<(string Name, int AckedBefore)>();
        for (var round = 0; round < 3; round++)
        {
            await Task.Delay(150);
            var ackedBefore = Volatile.Read(ref acknowledged);
            var name = (await server.Post("/collections/w/snapshots", "")).AssertOk().Result.GetProperty("name").GetString()!;
            snapshots.Add((name, ackedBefore));
        }

        await Task.Delay(100);
        await stop.CancelAsync();
        await writer;

        foreach (var (name, ackedBefore) in snapshots)
        {
            var location = "file://" + Path.Combine(server.DataDir, "snapshots", "w", name);
            (await server.Put("/collections/w_check/snapshots/recover", JsonSerializer.Serialize(new { location }))).AssertOk();
            var ids = new HashSet<long>();
            var page = (await server.Post("/collections/w_check/points/scroll", """{"limit": 1000000}""")).AssertOk().Result;
            foreach (var point in page.GetProperty("points").EnumerateArray())
            {
                ids.Add(point.GetProperty("id").GetInt64());
            }

            Assert.True(ids.Count % Batch == 0, $"{name}: {ids.Count} points is not a whole number of batches");
            var batches = ids.Count / Batch;
            Assert.True(batches >= ackedBefore, $"{name}: {batches} batches, but {ackedBefore} were acknowledged before it was requested");
            Assert.True(ids.SetEquals(Enumerable.Range(0, batches * Batch).Select(i => (long)i)), $"{name}: not the first {batches} batches");
            output.WriteLine($"{name}: {batches} batches (acknowledged before: {ackedBefore})");
            (await server.Delete("/collections/w_check")).AssertOk();
        }
    }

    /// <summary>Readers querying a collection while it is restored see the old state or the new one in every answer, and no error.</summary>
    [Fact]
    public async Task ReadsDuringARestoreSeeOldOrNewNeverAMixture()
    {
        await using var server = await TestServer.StartAsync();
        await Fill(server, "new", 150);
        var id = await BackupTests.CreateBackup(server, "r");
        (await server.Delete("/collections/r")).AssertOk();
        await Fill(server, "old", 100);

        var seen = new ConcurrentDictionary<string, int>();
        var errors = new ConcurrentQueue<string>();
        using var stop = new CancellationTokenSource();
        var readers = Enumerable.Range(0, 3).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var response = await server.Post("/collections/r/points/scroll", """{"limit": 1000, "with_payload": true}""");
                if (response.Status != 200)
                {
                    errors.Enqueue($"{response.Status} {response.Text}");
                    continue;
                }

                var points = response.Result.GetProperty("points").EnumerateArray().ToList();
                var tags = points.Select(p => p.GetProperty("payload").GetProperty("tag").GetString()!).Distinct().ToList();
                var state = tags.Count == 1 ? $"{tags[0]}:{points.Count}" : "mixed:" + string.Join(",", tags);
                seen.AddOrUpdate(state, 1, (_, n) => n + 1);
            }
        })).ToList();

        await Task.Delay(200);
        (await server.Post("/api/backups/restore", $$"""{"backup_id": "{{id}}"}""")).AssertOk();
        await Task.Delay(200);
        await stop.CancelAsync();
        await Task.WhenAll(readers);

        output.WriteLine(string.Join(", ", seen.Select(s => $"{s.Key} × {s.Value}")));
        Assert.Empty(errors);
        Assert.Equal(["new:150", "old:100"], seen.Keys.Order().ToArray());
    }

    private static async Task Fill(TestServer server, string tag, int count)
    {
        await server.CreateCollection("r", size: 4);
        var points = string.Join(",", Enumerable.Range(0, count).Select(i => $$"""{"id": {{i}}, "vector": [1, {{i % 5}}, 0.5, 2], "payload": {"tag": "{{tag}}"} }"""));
        (await server.Put("/collections/r/points?wait=true", $$"""{"points": [{{points}}]}""")).AssertOk();
    }
}
