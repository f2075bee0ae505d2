using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Vectorizer.Server.Configuration;
using Xunit.Abstractions;

namespace Vectorizer.Server.Tests;

/// <summary>
/// The file watcher inside a real server: real files in a temporary directory, changes observed over HTTP
/// (<c>/points/count</c>, <c>/points/scroll</c>, <c>/search/text</c>, <c>/api/watcher/status</c>).
/// </summary>
public sealed class FileWatcherTests(ITestOutputHelper output) : IDisposable
{
    private readonly string root = TestPaths.NewDirectory("watch-");

    public void Dispose() => TestServer.TryDelete(root);

    private Task<TestServer> StartAsync(Action<FileWatcherSection>? configure = null) => TestServer.StartAsync(settings =>
    {
        settings.FileWatcher.Enabled = true;
        settings.FileWatcher.WatchPaths = [root];
        // Words, not meaning: these tests are about files and events (the default, the local model, is tested in LocalEmbedderTests).
        settings.Embedding.Dense.Provider = "hash";
        settings.Embedding.Sparse.Provider = "bm25";
        configure?.Invoke(settings.FileWatcher);
    });

    private string Write(string relative, string text)
    {
        var path = Path.Combine(root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public async Task CreateModifyRenameAndDeleteKeepTheCollectionInStep()
    {
        await using var server = await StartAsync();
        await WaitForIdle(server);

        Write("notes/a.md", "# Alpha\n\nThe aardvark eats ants.\n");
        await WaitFor(async () => await Count(server, "files", "notes/a.md") == 1, "a.md indexed");
        var first = await Chunks(server, "files", "notes/a.md");
        Assert.Equal(Sha256(Path.Combine(root, "notes/a.md")), first[0].GetProperty("file_hash").GetString());
        Assert.Equal(root, first[0].GetProperty("watch_root").GetString());
        Assert.Equal("markdown", first[0].GetProperty("language").GetString());

        // Three sections: three chunks, all of the new version; the old text is gone from search.
        Write("notes/a.md", "# One\n\n" + Words("bison", 100) + "\n\n# Two\n\n" + Words("camel", 100) + "\n\n# Three\n\n" + Words("dingo", 100) + "\n");
        await WaitFor(async () => await Count(server, "files", "notes/a.md") == 3 && (await Chunks(server, "files", "notes/a.md")).All(c => c.GetProperty("content").GetString()!.Contains("bison", StringComparison.Ordinal) || c.GetProperty("content").GetString()!.Contains("camel", StringComparison.Ordinal) || c.GetProperty("content").GetString()!.Contains("dingo", StringComparison.Ordinal)), "a.md re-indexed");
        var hash = Sha256(Path.Combine(root, "notes/a.md"));
        Assert.All(await Chunks(server, "files", "notes/a.md"), c => Assert.Equal(hash, c.GetProperty("file_hash").GetString()));
        Assert.DoesNotContain("aardvark", await TopContent(server, "files", "aardvark ants"), StringComparison.Ordinal);

        // Fewer chunks than before: the extra chunks of the old version are deleted.
        Write("notes/a.md", "# Only\n\nThe emu runs.\n");
        await WaitFor(async () => await Count(server, "files", "notes/a.md") == 1 && (await TopContent(server, "files", "emu runs")).Contains("emu", StringComparison.Ordinal), "a.md shrank to one chunk");

        // Rename: the old path's points go, the new path is indexed.
        File.Move(Path.Combine(root, "notes/a.md"), Path.Combine(root, "notes/b.md"));
        await WaitFor(async () => await Count(server, "files", "notes/a.md") == 0 && await Count(server, "files", "notes/b.md") == 1, "rename applied");

        // A directory renamed: every file below it moves.
        Write("dir/x.md", "# X\n\nxylophone\n");
        Write("dir/sub/y.txt", "yak yak yak\n");
        await WaitFor(async () => await Count(server, "files", "dir/sub/y.txt") == 1 && await Count(server, "files", "dir/x.md") == 1, "dir indexed");
        Directory.Move(Path.Combine(root, "dir"), Path.Combine(root, "moved"));
        await WaitFor(
            async () => await Count(server, "files", "dir/x.md") == 0 && await Count(server, "files", "dir/sub/y.txt") == 0
                && await Count(server, "files", "moved/x.md") == 1 && await Count(server, "files", "moved/sub/y.txt") == 1,
            "directory rename applied");

        // Delete: its points go.
        File.Delete(Path.Combine(root, "notes/b.md"));
        await WaitFor(async () => await Count(server, "files", "notes/b.md") == 0, "delete applied");
        Directory.Delete(Path.Combine(root, "moved"), recursive: true);
        await WaitFor(async () => await Count(server, "files", null) == 0, "directory delete applied");

        var status = await Status(server);
        Assert.True(status.GetProperty("files_removed").GetInt64() >= 4);
        Assert.Equal(0, status.GetProperty("errors").GetArrayLength());
        Assert.Equal(JsonValueKind.Object, status.GetProperty("last_event").ValueKind);
        await server.StopAsync(); // stops the watcher, then the engine, without errors
    }

    /// <summary>
    /// End to end in real time: a file saved under a watched root becomes searchable through the text search. No
    /// latency bound (the debounce is tested on a fake clock in <see cref="FileWatcherDebounceTests"/>; the latency
    /// is measured by the benchmark's <c>watch</c> command); the time is printed for information.
    /// </summary>
    [Fact]
    public async Task ASavedFileBecomesSearchable()
    {
        Write("seed.md", "# Seed\n\nThe collection exists before the measured saves.\n");
        await using var server = await StartAsync();
        await WaitFor(async () => await Count(server, "files", "seed.md") == 1, "seed indexed");
        await WaitForIdle(server);

        var word = "quokka" + Guid.NewGuid().ToString("N")[..10];
        var clock = Stopwatch.StartNew();
        Write("saved.md", $"# Note\n\nToday the {word} smiled at the camera.\n");
        await WaitFor(async () => (await TopContent(server, "files", word)).Contains(word, StringComparison.Ordinal), $"{word} searchable");
        output.WriteLine($"save-to-searchable: {clock.Elapsed.TotalMilliseconds:F0} ms (debounce 300 ms)");
    }

    [Fact]
    public async Task ABurstOfAThousandFilesIsIndexedWithoutLosingAny()
    {
        await using var server = await StartAsync(w => w.CollectionMapping = new() { ["burst/**"] = "burst" });
        await WaitForIdle(server);
        var clock = Stopwatch.StartNew();
        var expected = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < 1000; i++)
        {
            // Four new directories: files land in them before their watches exist, which the directory scan covers.
            var relative = $"burst/d{i % 4}/file-{i:D4}.txt";
            Write(relative, $"burst file {i} with the token t{i:D4}\n");
            expected.Add(relative);
        }

        var written = clock.Elapsed;
        await WaitFor(async () => await Count(server, "burst", null, allowMissing: true) == 1000, "all 1000 files indexed", TimeSpan.FromSeconds(90));
        output.WriteLine($"1000 files written in {written.TotalMilliseconds:F0} ms, all indexed {clock.Elapsed.TotalMilliseconds:F0} ms after the first write");

        var paths = new HashSet<string>(StringComparer.Ordinal);
        foreach (var chunk in await Chunks(server, "burst", null))
        {
            Assert.True(paths.Add(chunk.GetProperty("file_path").GetString()!), "one chunk per file");
        }

        Assert.Equal(expected, paths);
        Assert.Equal(0, await Count(server, "files", null, allowMissing: true));
        await WaitForIdle(server);
        var status = await Status(server);
        output.WriteLine($"watcher: {status.GetProperty("files_indexed")} indexed, {status.GetProperty("files_unchanged")} unchanged, {status.GetProperty("rescans")} rescans, {status.GetProperty("overflows")} overflows");
        Assert.Equal(0, status.GetProperty("files_failed").GetInt64());
    }

    [Fact]
    public async Task ExcludedAndUnlistedFilesAreIgnoredAndUnindexableOnesSkippedWithAReason()
    {
        var outside = TestPaths.NewPath("outside-", ".md");
        File.WriteAllText(outside, "# Outside\n\nnot under the root\n");
        try
        {
            await using var server = await StartAsync(w =>
            {
                w.IncludeExtensions = [".md", "txt"];
                w.ExcludePatterns = ["**/secret/**", "*.draft.md", "**/node_modules/**"];
                w.MaxFileSize = 2000;
            });
            await WaitForIdle(server);

            Write("keep.md", "# Keep\n\nkept text\n");
            Write("secret/hidden.md", "# Hidden\n\nexcluded directory\n");
            Write("deep/secret/hidden.md", "# Hidden\n\nexcluded directory\n");
            Write("x.draft.md", "# Draft\n\nexcluded by name\n");
            Write("node_modules/pkg/readme.md", "# Package\n\nexcluded\n");
            Write("code.cs", "class C { }\n");
            Write("big.md", "# Big\n\n" + Words("huge", 600));
            File.WriteAllBytes(Path.Combine(root, "bin.txt"), [(byte)'a', 0, (byte)'b']);
            File.CreateSymbolicLink(Path.Combine(root, "loop-a.md"), Path.Combine(root, "loop-b.md"));
            File.CreateSymbolicLink(Path.Combine(root, "loop-b.md"), Path.Combine(root, "loop-a.md"));
            File.CreateSymbolicLink(Path.Combine(root, "escape.md"), outside);
            Directory.CreateSymbolicLink(Path.Combine(root, "linked-dir"), Path.GetDirectoryName(outside)!);
            Write("zz-last.md", "# Last\n\nwritten last\n");

            await WaitFor(async () => await Count(server, "files", "zz-last.md") == 1, "the last file indexed");
            await WaitForIdle(server);
            var indexed = (await Chunks(server, "files", null)).Select(c => c.GetProperty("file_path").GetString()).ToHashSet();
            Assert.Equal(["keep.md", "zz-last.md"], indexed.Order());

            var status = await Status(server);
            var skipped = status.GetProperty("skipped").EnumerateArray()
                .ToDictionary(s => Path.GetRelativePath(root, s.GetProperty("path").GetString()!), s => s.GetProperty("reason").GetString()!);
            output.WriteLine(string.Join("\n", skipped.Select(s => $"{s.Key}: {s.Value}")));
            Assert.StartsWith("too large: ", skipped["big.md"], StringComparison.Ordinal);
            Assert.StartsWith("binary: NUL byte", skipped["bin.txt"], StringComparison.Ordinal);
            Assert.StartsWith("symlink loop", skipped["loop-a.md"], StringComparison.Ordinal);
            Assert.Contains("outside the watch roots", skipped["escape.md"], StringComparison.Ordinal);
            Assert.StartsWith("symlinked directory not followed", skipped["linked-dir"], StringComparison.Ordinal);
            Assert.DoesNotContain("code.cs", skipped.Keys);
            Assert.True(status.GetProperty("files_skipped").GetInt64() >= 5);
            Assert.Equal(0, status.GetProperty("files_failed").GetInt64());
        }
        finally
        {
            File.Delete(outside);
        }
    }

    [Fact]
    public async Task AChangedFileWatcherSectionIsAppliedWithoutARestart()
    {
        var other = Directory.CreateDirectory(Path.Combine(root, "..", "watch-other-" + Guid.NewGuid().ToString("N"))).FullName;
        var config = TestPaths.NewPath("watch-config-", ".yml");
        try
        {
            await File.WriteAllTextAsync(config, $"""
                file_watcher:
                  enabled: true
                  watch_paths: ["{root}"]
                  exclude_patterns: ["**/later/**"]
                """);
            await using var server = await TestServer.StartAsync(configPath: config);
            Write("later/x.md", "# Later\n\nexcluded for now\n");
            Write("now.md", "# Now\n\nindexed at once\n");
            await WaitFor(async () => await Count(server, "files", "now.md") == 1, "now.md indexed");
            await WaitForIdle(server);
            Assert.Equal(0, await Count(server, "files", "later/x.md"));

            // Another directory, no exclusions: the watcher restarts, rescans and picks up what was excluded.
            await File.WriteAllTextAsync(config, $"""
                file_watcher:
                  enabled: true
                  watch_paths: ["{root}", "{other}"]
                  exclude_patterns: []
                """);
            await WaitFor(async () => (await Status(server)).GetProperty("paths").EnumerateArray().Any(p => p.GetString() == other), "new watch path applied");
            Assert.Equal(1, (await Status(server)).GetProperty("reloads").GetInt64());
            await WaitFor(async () => await Count(server, "files", "later/x.md") == 1, "the formerly excluded file indexed");
            await File.WriteAllTextAsync(Path.Combine(other, "elsewhere.md"), "# Elsewhere\n\nin the second root\n");
            await WaitFor(async () => await Count(server, "files", "elsewhere.md") == 1, "a file in the new root indexed");

            // A bad section is reported (naming the key) and not applied.
            await File.WriteAllTextAsync(config, $"""
                file_watcher:
                  enabled: true
                  watch_paths: ["{root}"]
                  debounce_ms: -5
                """);
            await WaitFor(async () => (await Status(server)).GetProperty("errors").EnumerateArray().Any(e => e.GetProperty("reason").GetString()!.Contains("file_watcher.debounce_ms", StringComparison.Ordinal)), "bad config reported");
            var status = await Status(server);
            Assert.Equal(2, status.GetProperty("paths").GetArrayLength());
            Assert.True(status.GetProperty("running").GetBoolean());
        }
        finally
        {
            File.Delete(config);
            TestServer.TryDelete(other);
        }
    }

    [Fact]
    public async Task StatusOfADisabledWatcher()
    {
        await using var server = await TestServer.StartAsync();
        var status = await Status(server);
        Assert.False(status.GetProperty("enabled").GetBoolean());
        Assert.False(status.GetProperty("running").GetBoolean());
        Assert.Equal(0, status.GetProperty("queue_depth").GetInt32());
        Assert.Equal(JsonValueKind.Null, status.GetProperty("last_event").ValueKind);
    }

    // ------------------------------------------------------------------ helpers

    private static string Words(string word, int count) => string.Join(' ', Enumerable.Repeat(word, count));

    private static string Sha256(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));

    internal static async Task<JsonElement> Status(TestServer server)
    {
        var response = await server.Get("/api/watcher/status");
        Assert.True(response.Status == 200, response.Text);
        return response.Body;
    }

    /// <summary>Waits until the watcher has nothing queued and is not scanning.</summary>
    internal static async Task WaitForIdle(TestServer server) => await WaitFor(async () =>
    {
        var status = await Status(server);
        return status.GetProperty("running").GetBoolean() && !status.GetProperty("scanning").GetBoolean() && status.GetProperty("queue_depth").GetInt32() == 0;
    }, "watcher idle");

    internal static async Task WaitFor(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(clock.Elapsed < (timeout ?? TimeSpan.FromSeconds(20)), $"timed out waiting for: {what}");
            await Task.Delay(25);
        }
    }

    /// <summary>The chunks (of one file, or all): a file's page point (<c>"point_kind": "page"</c>, default embedders) is left out.</summary>
    private static string PathFilter(string? filePath) =>
        "{\"must_not\": [{\"key\": \"point_kind\", \"match\": {\"value\": \"page\"}}]"
        + (filePath is null ? "" : ", \"must\": [{\"key\": \"file_path\", \"match\": {\"value\": " + JsonSerializer.Serialize(filePath) + "}}]") + "}";

    internal static async Task<long> Count(TestServer server, string collection, string? filePath, bool allowMissing = false)
    {
        var filter = PathFilter(filePath);
        var response = await server.Post($"/collections/{collection}/points/count", filter.Length == 0 ? """{"exact": true}""" : $$"""{"exact": true, "filter": {{filter}}}""");
        if (response.Status == 404 && (allowMissing || filePath is not null))
        {
            return 0;
        }

        return response.AssertOk().Result.GetProperty("count").GetInt64();
    }

    /// <summary>The payloads of every chunk of a file (or of the collection), by scrolling; page points are left out.</summary>
    internal static async Task<List<JsonElement>> Chunks(TestServer server, string collection, string? filePath)
    {
        var result = new List<JsonElement>();
        string offset = "null";
        do
        {
            var filter = PathFilter(filePath);
            var body = $$"""{"limit": 500, "with_payload": true, "offset": {{offset}}{{(filter.Length == 0 ? "" : ", \"filter\": " + filter)}}}""";
            var page = (await server.Post($"/collections/{collection}/points/scroll", body)).AssertOk().Result;
            result.AddRange(page.GetProperty("points").EnumerateArray().Select(p => p.GetProperty("payload").Clone()));
            var next = page.GetProperty("next_page_offset");
            offset = next.ValueKind == JsonValueKind.Null ? "" : next.GetRawText();
        }
        while (offset.Length > 0);
        return result;
    }

    /// <summary>The content of the best hybrid match for <paramref name="query"/>, or "" (no collection yet, no match).</summary>
    private static async Task<string> TopContent(TestServer server, string collection, string query)
    {
        var response = await server.Post($"/collections/{collection}/search/text", JsonSerializer.Serialize(new { query, limit = 1 }));
        if (response.Status == 404)
        {
            return "";
        }

        var points = response.AssertOk().Result.GetProperty("points");
        return points.GetArrayLength() == 0 ? "" : points[0].GetProperty("payload").GetProperty("content").GetString()!;
    }
}
