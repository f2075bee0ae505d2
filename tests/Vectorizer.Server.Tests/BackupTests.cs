using System.Formats.Tar;
using System.Globalization;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Vectorizer.Server.Tests;

/// <summary>Backups over HTTP (<c>/api/backups</c>): round trip, corrupted archives, incremental chains, deletion rules.</summary>
public sealed class BackupTests
{
    private const string Create = """
        {"vectors": {"text": {"size": 4, "distance": "Cosine"}, "image": {"size": 3, "distance": "Euclid",
          "quantization_config": {"scalar": {"type": "int8", "quantile": 0.99}}}},
         "sparse_vectors": {"words": {"modifier": "idf"}},
         "hnsw_config": {"m": 8, "ef_construct": 50},
         "quantization_config": {"binary": {"always_ram": true}}}
        """;

    internal static string Point(int i, string tag = "a") => string.Create(CultureInfo.InvariantCulture, $$"""
        {"id": {{i}}, "vector": {"text": [{{Math.Sin(i)}}, {{Math.Cos(i)}}, {{Math.Sin(i * 0.5)}}, 0.5],
          "image": [{{i % 7}}, {{i % 3}}, 1.5],
          "words": {"indices": [{{i % 11}}, {{11 + (i % 5)}}], "values": [1.0, 0.5] } },
         "payload": {"n": {{i}}, "tag": "{{tag}}{{i % 4}}", "nested": {"x": [{{i}}, {{i + 1}}] } } }
        """);

    internal static async Task Populate(TestServer server, string name, int count)
    {
        (await server.Put($"/collections/{name}", Create)).AssertOk();
        (await server.Put($"/collections/{name}/index", """{"field_name": "tag", "field_schema": "keyword"}""")).AssertOk();
        (await server.Put($"/collections/{name}/index", """{"field_name": "n", "field_schema": "integer"}""")).AssertOk();
        var points = string.Join(",", Enumerable.Range(1, count).Select(i => Point(i)));
        (await server.Put($"/collections/{name}/points?wait=true", $$"""{"points": [{{points}}]}""")).AssertOk();
        (await server.Post("/collections/aliases", $$$"""{"actions": [{"create_alias": {"collection_name": "{{{name}}}", "alias_name": "{{{name}}}_live"}}]}""")).AssertOk();
    }

    /// <summary>What must be the same after a restore: answers to a dense, sparse, filtered and hybrid query, a scroll, collection info.</summary>
    internal static async Task<string> Fingerprint(TestServer server, string name)
    {
        var parts = new List<string>();
        foreach (var query in new[]
        {
            """{"query": [0.1, 0.9, 0.3, 0.5], "using": "text", "limit": 5, "with_payload": true}""",
            """{"query": [3, 1, 1.5], "using": "image", "limit": 5, "filter": {"must": [{"key": "tag", "match": {"value": "a1"}}]}}""",
            """{"query": {"indices": [3, 12], "values": [1.0, 1.0]}, "using": "words", "limit": 5}""",
            """{"prefetch": [{"query": [0.1, 0.9, 0.3, 0.5], "using": "text", "limit": 10}, {"query": {"indices": [3], "values": [1.0]}, "using": "words", "limit": 10}], "query": {"fusion": "rrf"}, "limit": 5}""",
        })
        {
            parts.Add((await server.Post($"/collections/{name}/points/query", query)).AssertOk().Result.GetRawText());
        }

        parts.Add((await server.Post($"/collections/{name}/points/scroll", """{"limit": 1000, "with_payload": true, "with_vector": true}""")).AssertOk().Result.GetRawText());
        var info = JsonNode.Parse((await server.Get($"/collections/{name}")).AssertOk().Result.GetRawText())!.AsObject();
        info.Remove("status");
        info.Remove("optimizer_status");
        info.Remove("indexed_vectors_count");
        info.Remove("storage");
        parts.Add(info.ToJsonString());
        parts.Add((await server.Get($"/collections/{name}/aliases")).AssertOk().Result.GetRawText());
        return string.Join("\n", parts);
    }

    internal static async Task<string> CreateBackup(TestServer server, string? collection, bool incremental = false)
    {
        var body = collection is null ? $$"""{"type": "{{(incremental ? "incremental" : "full")}}"}""" : $$"""{"collection": "{{collection}}", "type": "{{(incremental ? "incremental" : "full")}}"}""";
        var result = (await server.Post("/api/backups/create", body)).AssertOk().Result;
        return result.GetProperty("id").GetString()!;
    }

    private static string BackupFile(TestServer server, string id) =>
        Directory.GetFiles(Path.Combine(server.DataDir, "backups"), id + ".tar*").Single(f => !f.EndsWith(".sha256", StringComparison.Ordinal));

    [Fact]
    public async Task RoundTripRestoresTheSameAnswersAndCollectionInfo()
    {
        await using var server = await TestServer.StartAsync();
        await Populate(server, "rt", 300);
        var before = await Fingerprint(server, "rt");

        var id = await CreateBackup(server, "rt");
        var listed = (await server.Get("/api/backups")).AssertOk().Result.GetProperty("backups");
        var entry = listed.EnumerateArray().Single(b => b.GetProperty("id").GetString() == id);
        Assert.Equal("full", entry.GetProperty("type").GetString());
        Assert.Equal(300, entry.GetProperty("points").GetInt64());
        Assert.Equal(64, entry.GetProperty("sha256").GetString()!.Length);
        (await server.Post("/api/backups/verify", $$"""{"backup_id": "{{id}}"}""")).AssertOk();

        (await server.Delete("/collections/rt")).AssertOk();
        (await server.Get("/collections/rt_live")).AssertError(404, "rt_live");

        var restored = (await server.Post("/api/backups/restore", $$"""{"backup_id": "{{id}}"}""")).AssertOk().Result;
        var collection = restored.GetProperty("collections")[0];
        Assert.Equal("rt", collection.GetProperty("name").GetString());
        Assert.Equal(300, collection.GetProperty("points").GetInt64());
        Assert.False(collection.GetProperty("replaced").GetBoolean());
        Assert.Equal("rt_live", collection.GetProperty("aliases")[0].GetString());
        Assert.Equal(0, restored.GetProperty("safety_backups").GetArrayLength());
        Assert.Equal(before, await Fingerprint(server, "rt"));

        // Into a new name: the same data, no aliases taken over.
        (await server.Post("/api/backups/restore", $$"""{"backup_id": "{{id}}", "collection": "rt", "as": "rt_copy"}""")).AssertOk();
        var copy = (await server.Post("/collections/rt_copy/points/count", "{}")).AssertOk().Result.GetProperty("count").GetInt64();
        Assert.Equal(300, copy);

        // After a restart the restored collection opens from its own files.
        var dataDir = server.DataDir;
        await server.StopAsync();
        await using var again = await TestServer.StartAsync(dataDir: dataDir);
        Assert.Equal(before, await Fingerprint(again, "rt"));
    }

    [Fact]
    public async Task RestoreOverALiveCollectionBacksItUpFirst()
    {
        await using var server = await TestServer.StartAsync();
        await Populate(server, "live", 50);
        var id = await CreateBackup(server, "live");
        (await server.Post("/collections/live/points/delete?wait=true", """{"points": [1, 2, 3]}""")).AssertOk();
        (await server.Put("/collections/live/points?wait=true", $$"""{"points": [{{Point(999, "z")}}]}""")).AssertOk();
        var changed = await Fingerprint(server, "live");

        var restored = (await server.Post("/api/backups/restore", $$"""{"backup_id": "{{id}}"}""")).AssertOk().Result;
        Assert.True(restored.GetProperty("collections")[0].GetProperty("replaced").GetBoolean());
        Assert.Equal(50, (await server.Post("/collections/live/points/count", "{}")).AssertOk().Result.GetProperty("count").GetInt64());
        var safety = restored.GetProperty("safety_backups")[0].GetProperty("id").GetString()!;

        // The safety backup holds the state the restore replaced.
        (await server.Post("/api/backups/restore", $$"""{"backup_id": "{{safety}}"}""")).AssertOk();
        Assert.Equal(changed, await Fingerprint(server, "live"));
    }

    [Fact]
    public async Task CorruptedArchivesAreRefusedBeforeAnythingChanges()
    {
        await using var server = await TestServer.StartAsync();
        await Populate(server, "c", 120);
        var id = await CreateBackup(server, "c");
        (await server.Post("/collections/c/points/delete?wait=true", """{"points": [5, 6]}""")).AssertOk();
        var current = await Fingerprint(server, "c");
        var original = File.ReadAllBytes(BackupFile(server, id));
        var tar = Gunzip(original);

        var cases = new Dictionary<string, (byte[] Bytes, string Message)>
        {
            ["flipped"] = (Flip(original, original.Length / 2), "invalid"),
            ["flipped-in-tar"] = (Gzip(Flip(tar, MemberOffset(tar, "points.bin") + 100)), "points.bin"),
            ["truncated"] = (original[..(original.Length * 2 / 3)], "invalid"),
            ["missing-member"] = (Gzip(Rewrite(tar, (name, data) => name.EndsWith("points.bin", StringComparison.Ordinal) ? null : data)), "points.bin"),
            ["manifest-checksum"] = (Gzip(Rewrite(tar, (name, data) => name == "manifest.sha256" ? Encoding.ASCII.GetBytes(new string('0', 64)) : data)), "manifest.json is damaged"),
            ["file-checksum-in-manifest"] = (Gzip(Rewrite(tar, RewriteManifest(m =>
            {
                var file = m["collections"]![0]!["files"]!.AsArray().First(f => f!["path"]!.GetValue<string>().EndsWith("points.bin", StringComparison.Ordinal))!;
                file["sha256"] = new string('a', 64);
            }))), "points.bin"),
        };

        var backups = Path.Combine(server.DataDir, "backups");
        foreach (var (name, (bytes, message)) in cases)
        {
            var damagedId = "damaged-" + name;
            File.WriteAllBytes(Path.Combine(backups, damagedId + ".tar.gz"), bytes);
            var verify = await server.Post("/api/backups/verify", $$"""{"backup_id": "{{damagedId}}"}""");
            Assert.True(verify.Status is 400 or 404, $"{name}: verify answered {verify.Status} {verify.Text}");
            Assert.Contains(message, verify.Text, StringComparison.Ordinal);
            var restore = await server.Post("/api/backups/restore", $$"""{"backup_id": "{{damagedId}}"}""");
            Assert.True(restore.Status is 400 or 404, $"{name}: restore answered {restore.Status} {restore.Text}");
            Assert.Equal(current, await Fingerprint(server, "c"));
        }

        // No safety backup, staging folder or quarantined folder was left behind by the refusals.
        var staging = Path.Combine(server.DataDir, "staging");
        Assert.True(!Directory.Exists(staging) || Directory.GetDirectories(staging).Length == 0);
        Assert.Single(Directory.GetFiles(backups, "*-full-*.tar.gz"));
    }

    [Fact]
    public async Task AChainOfIncrementalsRestoresTheFinalStateAndParentsAreKept()
    {
        await using var server = await TestServer.StartAsync();
        await Populate(server, "ch", 200);
        var full = await CreateBackup(server, "ch");
        var ids = new List<string> { full };
        for (var round = 0; round < 3; round++)
        {
            var batch = string.Join(",", Enumerable.Range(1000 + (round * 50), 50).Select(i => Point(i, "r" + round)));
            (await server.Put("/collections/ch/points?wait=true", $$"""{"points": [{{batch}}]}""")).AssertOk();
            (await server.Post("/collections/ch/points/payload?wait=true", $$"""{"payload": {"round": {{round}}}, "points": [{{round + 1}}, {{round + 10}}]}""")).AssertOk();
            (await server.Post("/collections/ch/points/delete?wait=true", $$"""{"points": [{{round + 100}}, {{round + 150}}]}""")).AssertOk();
            ids.Add(await CreateBackup(server, "ch", incremental: true));
        }

        var final = await Fingerprint(server, "ch");
        var last = (await server.Get("/api/backups")).AssertOk().Result.GetProperty("backups").EnumerateArray().Single(b => b.GetProperty("id").GetString() == ids[^1]);
        Assert.Equal("incremental", last.GetProperty("type").GetString());
        Assert.Equal(ids[2], last.GetProperty("parent").GetString());
        Assert.Equal([ids[2], ids[1], ids[0]], last.GetProperty("chain").EnumerateArray().Select(e => e.GetString()!).ToArray());

        // A parent that a kept incremental needs cannot be deleted; the newest can.
        (await server.Delete($"/api/backups/{ids[1]}")).AssertError(400, ids[2]);
        (await server.Delete($"/api/backups/{full}")).AssertError(400, "needed by");

        (await server.Delete("/collections/ch")).AssertOk();
        (await server.Post("/api/backups/restore", $$"""{"backup_id": "{{ids[^1]}}"}""")).AssertOk();
        Assert.Equal(final, await Fingerprint(server, "ch"));

        // Without one of its ancestors the chain is incomplete: refused, saying which.
        File.Move(BackupFile(server, ids[1]), Path.Combine(TestPaths.Root, ids[1] + ".tar.gz"));
        (await server.Post("/api/backups/verify", $$"""{"backup_id": "{{ids[^1]}}"}""")).AssertError(400, ids[1]);
    }

    [Fact]
    public async Task BadRequestsGetClearErrors()
    {
        await using var server = await TestServer.StartAsync();
        (await server.Post("/api/backups/create", """{"collection": "nope"}""")).AssertError(404, "nope");
        (await server.Post("/api/backups/create", """{"type": "sometimes"}""")).AssertError(422, "type");
        (await server.Post("/api/backups/restore", """{"backup_id": "../../etc/passwd"}""")).AssertError(400, "not a backup id");
        (await server.Post("/api/backups/restore", """{"backup_id": "20990101T000000Z-full-000000"}""")).AssertError(404, "not found");
        (await server.Post("/api/backups/verify", "{}")).AssertError(400, "backup_id");
        await server.CreateCollection("one");
        (await server.Post("/api/backups/create", """{"collection": "one", "type": "incremental"}""")).AssertError(400, "full backup first");
        (await server.Delete("/api/backups/nope")).AssertError(404, "nope");
        var status = (await server.Get("/api/status")).Body.GetProperty("backups");
        Assert.False(status.GetProperty("schedule_enabled").GetBoolean());
    }

    // ------------------------------------------------------------------ archive surgery

    internal static byte[] Flip(byte[] bytes, int at)
    {
        var copy = (byte[])bytes.Clone();
        copy[at] ^= 0x5a;
        return copy;
    }

    internal static byte[] Gunzip(byte[] bytes)
    {
        using var input = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
        using var output = new MemoryStream();
        input.CopyTo(output);
        return output.ToArray();
    }

    internal static byte[] Gzip(byte[] bytes)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(bytes);
        }

        return output.ToArray();
    }

    /// <summary>Where the data of the first member whose name ends with <paramref name="suffix"/> starts in a tar.</summary>
    private static int MemberOffset(byte[] tar, string suffix)
    {
        var data = ReadMembers(tar).First(m => m.Name.EndsWith(suffix, StringComparison.Ordinal)).Data;
        var at = tar.AsSpan().IndexOf(data);
        Assert.True(at > 0, suffix);
        return at;
    }

    private static List<(string Name, byte[] Data)> ReadMembers(byte[] tar)
    {
        var list = new List<(string, byte[])>();
        using var reader = new TarReader(new MemoryStream(tar));
        while (reader.GetNextEntry(copyData: true) is { } entry)
        {
            using var data = new MemoryStream();
            entry.DataStream?.CopyTo(data);
            list.Add((entry.Name, data.ToArray()));
        }

        return list;
    }

    private static byte[] WriteMembers(List<(string Name, byte[]? Data)> members)
    {
        using var output = new MemoryStream();
        using (var writer = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var (name, data) in members)
            {
                if (data is not null)
                {
                    writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(data) });
                }
            }
        }

        return output.ToArray();
    }

    internal static byte[] Rewrite(byte[] tar, Func<string, byte[], byte[]?> change) =>
        WriteMembers([.. ReadMembers(tar).Select(m => (m.Name, change(m.Name, m.Data)))]);

    /// <summary>Edits manifest.json and writes a matching manifest.sha256, so only the edit is wrong.</summary>
    private static Func<string, byte[], byte[]?> RewriteManifest(Action<JsonNode> edit)
    {
        byte[]? manifest = null;
        return (name, data) =>
        {
            if (name == "manifest.json")
            {
                var node = JsonNode.Parse(data)!;
                edit(node);
                manifest = Encoding.UTF8.GetBytes(node.ToJsonString());
                return manifest;
            }

            return name == "manifest.sha256" ? Encoding.ASCII.GetBytes(Convert.ToHexStringLower(SHA256.HashData(manifest!))) : data;
        };
    }
}
