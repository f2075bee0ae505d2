using Microsoft.Extensions.DependencyInjection;
using Vectorizer.Server.Application;
using Vectorizer.Server.Backups;

namespace Vectorizer.Server.Tests;

/// <summary>
/// What an operator watches of backups: the metrics on <c>/metrics</c> (counts per operation, kind and outcome, last
/// success and failure, duration, archive size, archives kept), the running operation's progress
/// (<c>GET /api/backups/progress</c>, which <c>vectorizer backup --url</c> polls), and zstd archives beside gzip ones.
/// </summary>
public sealed class BackupOperationsTests
{
    private static double Sample(IReadOnlyList<MetricsTests.Sample> samples, string name, params (string Label, string Value)[] labels) =>
        samples.Single(s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Label, out var v) && v == l.Value)).Value;

    [Fact]
    public async Task MetricsReportOutcomesDurationsSizesAndArchivesKept()
    {
        await using var server = await TestServer.StartAsync();
        await BackupTests.Populate(server, "metered", 30);
        await BackupTests.Populate(server, "other", 5);
        var before = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        var full = (await server.Post("/api/backups/create", """{"collection": "metered"}""")).AssertOk().Result;
        (await server.Put("/collections/metered/points?wait=true", $$"""{"points": [{{BackupTests.Point(99)}}]}""")).AssertOk();
        var incremental = (await server.Post("/api/backups/create", """{"collection": "metered", "type": "incremental"}""")).AssertOk().Result;
        Assert.Equal(400, (await server.Post("/api/backups/create", """{"collection": "other", "type": "incremental"}""")).Status); // no full backup to build on: a failure
        (await server.Post("/api/backups/verify", $$"""{"backup_id": "{{incremental.GetProperty("id").GetString()}}"}""")).AssertOk();
        (await server.Post("/api/backups/restore", $$"""{"backup_id": "{{full.GetProperty("id").GetString()}}", "as": "metered_copy"}""")).AssertOk();
        (await server.Post("/collections/other/snapshots", "")).AssertOk();

        var samples = MetricsTests.Samples(await server.Client.GetStringAsync("/metrics"));
        const string Operations = "vectorizer_backup_operations_total";
        Assert.Equal(1, Sample(samples, Operations, ("operation", "create"), ("kind", "full"), ("outcome", "success")));
        Assert.Equal(0, Sample(samples, Operations, ("operation", "create"), ("kind", "full"), ("outcome", "failure")));
        Assert.Equal(1, Sample(samples, Operations, ("operation", "create"), ("kind", "incremental"), ("outcome", "success")));
        Assert.Equal(1, Sample(samples, Operations, ("operation", "create"), ("kind", "incremental"), ("outcome", "failure")));
        Assert.Equal(1, Sample(samples, Operations, ("operation", "create"), ("kind", "snapshot"), ("outcome", "success")));
        Assert.Equal(1, Sample(samples, Operations, ("operation", "verify"), ("kind", "backup"), ("outcome", "success")));
        Assert.Equal(1, Sample(samples, Operations, ("operation", "restore"), ("kind", "backup"), ("outcome", "success")));

        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var lastSuccess = Sample(samples, "vectorizer_backup_last_success_timestamp_seconds", ("operation", "create"), ("kind", "full"));
        Assert.InRange(lastSuccess, before - 1, now + 1);
        Assert.InRange(Sample(samples, "vectorizer_backup_last_failure_timestamp_seconds", ("operation", "create"), ("kind", "incremental")), before - 1, now + 1);
        Assert.DoesNotContain(samples, s => s.Name == "vectorizer_backup_last_failure_timestamp_seconds" && s.Labels["kind"] == "full");
        Assert.InRange(Sample(samples, "vectorizer_backup_last_duration_seconds", ("operation", "restore"), ("kind", "backup")), 0.0001, 60);
        Assert.Equal(full.GetProperty("size").GetInt64(), Sample(samples, "vectorizer_backup_last_size_bytes", ("operation", "create"), ("kind", "full")));
        Assert.Equal(incremental.GetProperty("size").GetInt64(), Sample(samples, "vectorizer_backup_last_size_bytes", ("operation", "create"), ("kind", "incremental")));

        Assert.Equal(1, Sample(samples, "vectorizer_backup_stored", ("kind", "full")));
        Assert.Equal(1, Sample(samples, "vectorizer_backup_stored", ("kind", "incremental")));
        Assert.Equal(1, Sample(samples, "vectorizer_backup_stored", ("kind", "snapshot")));
        Assert.Equal(full.GetProperty("size").GetInt64(), Sample(samples, "vectorizer_backup_stored_size_bytes", ("kind", "full")));
        Assert.Equal(0, Sample(samples, "vectorizer_backup_running"));
    }

    /// <summary>The running operation is visible, with its request id and bytes; none: <c>null</c>. Manage access only.</summary>
    [Fact]
    public async Task ProgressShowsTheRunningOperationAndItsRequest()
    {
        await using var server = await TestServer.StartAsync();
        await BackupTests.Populate(server, "watched", 50);
        Assert.Equal(System.Text.Json.JsonValueKind.Null, (await server.Get("/api/backups/progress")).AssertOk().Result.ValueKind);

        var backups = server.Services.GetRequiredService<BackupsService>();
        using var reached = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var call = new CallContext(Access.Full, "rest", "req-0123456789abcdef");
        var running = Task.Run(() => backups.CreateAsync(call, new BackupRequest("watched"), (phase, done, total) =>
        {
            reached.Set();
            release.Wait(TimeSpan.FromSeconds(60));
        }));
        try
        {
            Assert.True(reached.Wait(TimeSpan.FromSeconds(60)));
            var current = (await server.Get("/api/backups/progress")).AssertOk().Result;
            Assert.Equal(("create", "full", "req-0123456789abcdef", "backup"), (
                current.GetProperty("operation").GetString(), current.GetProperty("kind").GetString(),
                current.GetProperty("request_id").GetString(), current.GetProperty("phase").GetString()));
            Assert.InRange(current.GetProperty("done").GetInt64(), 1, current.GetProperty("total").GetInt64());
            var samples = MetricsTests.Samples(await server.Client.GetStringAsync("/metrics"));
            Assert.Equal(1, Sample(samples, "vectorizer_backup_running"));
        }
        finally
        {
            release.Set();
        }

        await running;
        Assert.Equal(System.Text.Json.JsonValueKind.Null, (await server.Get("/api/backups/progress")).AssertOk().Result.ValueKind);
    }

    /// <summary>
    /// <c>compression: zstd</c> writes <c>ID.tar.zst</c> (zstd's magic number first); an incremental in zstd on a gzip parent
    /// restores (readers take either, from the file's first bytes); a damaged or truncated zstd archive is refused.
    /// </summary>
    [Fact]
    public async Task ZstdArchivesAndMixedChainsVerifyAndRestore()
    {
        var dataDir = TestServer.NewDataDir();
        string fullId, expected;
        await using (var gzip = await TestServer.StartAsync(dataDir: dataDir))
        {
            await BackupTests.Populate(gzip, "mixed", 40);
            fullId = await BackupTests.CreateBackup(gzip, "mixed");
            Assert.True(File.Exists(Path.Combine(dataDir, "backups", fullId + ".tar.gz")));
        }

        await using var server = await TestServer.StartAsync(s => s.Backup.Compression = "zstd", dataDir: dataDir);
        var batch = string.Join(",", Enumerable.Range(35, 10).Select(i => BackupTests.Point(i, "z")));
        (await server.Put("/collections/mixed/points?wait=true", $$"""{"points": [{{batch}}]}""")).AssertOk();
        (await server.Post("/collections/mixed/points/delete?wait=true", """{"points": [1, 2]}""")).AssertOk();
        expected = await BackupTests.Fingerprint(server, "mixed");
        var incrementalId = await BackupTests.CreateBackup(server, "mixed", incremental: true);
        var zst = Path.Combine(dataDir, "backups", incrementalId + ".tar.zst");
        var bytes = await File.ReadAllBytesAsync(zst);
        Assert.Equal(new byte[] { 0x28, 0xb5, 0x2f, 0xfd }, bytes[..4]);
        Assert.Equal(fullId, BackupArchive.ReadManifest(zst).Parent);
        Assert.Equal("zstd", BackupArchive.ReadManifest(zst).Compression);

        var zstdFull = await BackupTests.CreateBackup(server, "mixed");
        Assert.True(File.Exists(Path.Combine(dataDir, "backups", zstdFull + ".tar.zst")));

        (await server.Post("/api/backups/verify", $$"""{"backup_id": "{{incrementalId}}"}""")).AssertOk();
        (await server.Post("/collections/mixed/points/delete?wait=true", """{"points": [3, 4, 5]}""")).AssertOk();
        (await server.Post("/api/backups/restore", $$"""{"backup_id": "{{incrementalId}}"}""")).AssertOk();
        Assert.Equal(expected, await BackupTests.Fingerprint(server, "mixed"));

        // Damaged and truncated copies under ids of their own are refused, naming the archive; nothing changes.
        var backupsDir = Path.Combine(dataDir, "backups");
        var zstdFullFile = Path.Combine(backupsDir, zstdFull + ".tar.zst");
        var original = await File.ReadAllBytesAsync(zstdFullFile);
        foreach (var (name, damaged) in new[]
        {
            ("flipped", BackupTests.Flip(original, original.Length / 2)),
            ("truncated", original[..(original.Length * 2 / 3)]),
        })
        {
            await File.WriteAllBytesAsync(zstdFullFile, damaged);
            var refused = await server.Post("/api/backups/restore", $$"""{"backup_id": "{{zstdFull}}", "as": "mixed_{{name}}"}""");
            Assert.True(refused.Status == 400, $"{name}: {refused.Status} {refused.Error}");
            Assert.Contains("is invalid", refused.Error, StringComparison.Ordinal);
            Assert.Equal(404, (await server.Get($"/collections/mixed_{name}")).Status);
        }

        Assert.Equal(expected, await BackupTests.Fingerprint(server, "mixed"));
    }
}
