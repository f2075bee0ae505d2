using System.Text.Json;
using Xunit.Abstractions;

namespace Vectorizer.Server.Tests;

/// <summary>
/// <c>vectorizer index --url</c> (and the automatic switch when a server holds the data directory): the real
/// executable reads the files and sends them to a running server, which indexes them with its embedders; hash-skip,
/// changes, removals, the summary; and <c>/collections/{c}/files</c> refusing bad input.
/// </summary>
public sealed class RemoteIndexTests(ITestOutputHelper output) : IDisposable
{
    private readonly string work = TestPaths.NewPath("remote-index-");

    public void Dispose() => TestServer.TryDelete(work);

    /// <summary>A server whose new collections get dense hash + sparse BM25 (fast; the default would be local + bm25).</summary>
    private static Task<TestServer> StartServer() => TestServer.StartAsync(s =>
    {
        s.Embedding.Dense.Provider = "hash";
        s.Embedding.Sparse.Provider = "bm25";
    });

    private Dictionary<string, string> Environment() => new() { ["XDG_STATE_HOME"] = Path.Combine(work, "state") };

    private async Task<(int Code, string Text)> Index(params string[] arguments)
    {
        var (code, text) = await VectorizerProcess.RunInAsync(null, Environment(), arguments);
        output.WriteLine(text);
        return (code, text);
    }

    private static async Task<List<string>> Paths(TestServer server, string collection)
    {
        var points = (await server.Post($"/collections/{collection}/points/scroll", """{"limit": 1000, "with_payload": true}""")).AssertOk().Result.GetProperty("points");
        return [.. points.EnumerateArray().Select(p => p.GetProperty("payload").GetProperty("file_path").GetString()!).Distinct().Order(StringComparer.Ordinal)];
    }

    [Fact]
    public async Task IndexingThroughARunningServerSkipsUnchangedFilesAndRemovesVanishedOnes()
    {
        await using var server = await StartServer();
        var corpus = Directory.CreateDirectory(Path.Combine(work, "notes")).FullName;
        File.WriteAllText(Path.Combine(corpus, "cats.md"), "# Cats\n\nThe cat is sleeping on the warm windowsill.\n");
        File.WriteAllText(Path.Combine(corpus, "rates.md"), "# Rates\n\nThe central bank raised interest rates again.\n");
        Directory.CreateDirectory(Path.Combine(corpus, "sub"));
        File.WriteAllText(Path.Combine(corpus, "sub", "bread.txt"), "Sourdough bread needs a long, slow fermentation.\n");
        File.WriteAllBytes(Path.Combine(corpus, "image.png"), [0x89, 0x50, 0x4E, 0x47, 0, 0, 0, 13]);

        var (code, text) = await Index("index", corpus, "--collection", "notes", "--url", server.Url, "--plain");
        Assert.True(code == 0, text);
        Assert.Contains($"Indexing {corpus} into `notes` on {server.Url.TrimEnd('/')} (a new collection, with the server's embedders;", text, StringComparison.Ordinal);
        Assert.Equal(3, IndexCommandTests.Summary(text, "files indexed"));
        Assert.Equal(1, IndexCommandTests.Summary(text, "files skipped")); // the binary file, with its reason
        Assert.Contains("skipped: image.png:", text, StringComparison.Ordinal);
        Assert.Equal(["cats.md", "rates.md", "sub/bread.txt"], await Paths(server, "notes"));

        // The server's embedders did the work: hash + bm25 from its `embedding:` section; the chunks are the local run's.
        var embedding = (await server.Get("/collections/notes/embedding")).AssertOk().Result;
        Assert.Equal("hash", embedding.GetProperty("dense").GetProperty("provider").GetString());
        var hit = (await server.Post("/collections/notes/search/text", """{"query": "interest rates", "limit": 1}""")).AssertOk().Result.GetProperty("points")[0].GetProperty("payload");
        Assert.Equal("rates.md", hit.GetProperty("file_path").GetString());
        Assert.Equal(corpus, hit.GetProperty("watch_root").GetString());

        // Again: every file unchanged (hashes only were sent), nothing embedded.
        (code, text) = await Index("index", corpus, "--collection", "notes", "--url", server.Url, "--plain");
        Assert.True(code == 0, text);
        Assert.Equal(0, IndexCommandTests.Summary(text, "files indexed"));
        Assert.Equal(3, IndexCommandTests.Summary(text, "files unchanged"));

        // A change, a new file, a deleted one.
        File.WriteAllText(Path.Combine(corpus, "cats.md"), "# Cats\n\nThe cat now sleeps in the garden.\n");
        File.WriteAllText(Path.Combine(corpus, "dogs.md"), "# Dogs\n\nThe dog fetches the ball.\n");
        File.Delete(Path.Combine(corpus, "sub", "bread.txt"));
        (code, text) = await Index("index", corpus, "--collection", "notes", "--url", server.Url, "--plain");
        Assert.True(code == 0, text);
        Assert.Equal(2, IndexCommandTests.Summary(text, "files indexed"));
        Assert.Equal(1, IndexCommandTests.Summary(text, "files unchanged"));
        Assert.Equal(1, IndexCommandTests.Summary(text, "files removed"));
        Assert.Equal(["cats.md", "dogs.md", "rates.md"], await Paths(server, "notes"));
        var cats = (await server.Post("/collections/notes/points/scroll", """{"limit": 100, "with_payload": true, "filter": {"must": [{"key": "file_path", "match": {"value": "cats.md"}}]}}"""))
            .AssertOk().Result.GetProperty("points");
        Assert.All(cats.EnumerateArray(), p => Assert.Contains("garden", p.GetProperty("payload").GetProperty("content").GetString(), StringComparison.Ordinal));

        // Options that make no sense against a server are refused, not ignored.
        (code, text) = await Index("index", corpus, "--collection", "notes", "--url", server.Url, "--provider", "hash");
        Assert.Equal(2, code);
        Assert.Contains("--provider does not combine with --url", text, StringComparison.Ordinal);
        (code, text) = await Index("index", corpus, "--collection", "notes", "--url", server.Url, "--watch");
        Assert.Equal(2, code);
        (code, text) = await Index("index", corpus, "--collection", "notes", "--url", "http://127.0.0.1:1", "--plain");
        Assert.Equal(1, code);
        Assert.Contains("cannot use the server at http://127.0.0.1:1/", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ADataDirectoryHeldByAReachableServerIsIndexedThroughIt()
    {
        await using var server = await StartServer();
        var corpus = Directory.CreateDirectory(Path.Combine(work, "docs")).FullName;
        File.WriteAllText(Path.Combine(corpus, "a.md"), "# A\n\nalpha beta gamma\n");
        var config = Path.Combine(work, "config.yml");
        File.WriteAllText(config, $"server:\n  host: 127.0.0.1\n  port: {new Uri(server.Url).Port}\n");

        var (code, text) = await Index("index", corpus, "--collection", "docs", "--config", config, "--data-dir", server.DataDir, "--plain");
        Assert.True(code == 0, text);
        Assert.Contains($"is in use by the server at http://127.0.0.1:{new Uri(server.Url).Port}: indexing through it", text, StringComparison.Ordinal);
        Assert.Equal(1, IndexCommandTests.Summary(text, "files indexed"));
        Assert.Equal(["a.md"], await Paths(server, "docs"));

        // Another server answering at the configured address is not the one holding the directory: refused, not used.
        await using var other = await StartServer();
        File.WriteAllText(config, $"server:\n  host: 127.0.0.1\n  port: {new Uri(other.Url).Port}\n");
        (code, text) = await Index("index", corpus, "--collection", "docs", "--config", config, "--data-dir", server.DataDir, "--plain");
        Assert.Equal(2, code);
        Assert.Contains("is in use by another Vectorizer process", text, StringComparison.Ordinal);
        Assert.Equal(404, (await other.Get("/collections/docs")).Status);
    }

    [Fact]
    public async Task TheFilesEndpointRefusesBadInputAndChangesNothing()
    {
        await using var server = await StartServer();
        var hash = new string('a', 64);
        (await server.Post("/collections/f/files", $$"""{"root": "relative/root", "files": [{"path": "a.md", "hash": "{{hash}}", "text": "x"}]}""")).AssertError(400, "not an absolute path");
        (await server.Post("/collections/f/files", $$"""{"root": "/r", "files": [{"path": "../a.md", "hash": "{{hash}}", "text": "x"}]}""")).AssertError(400, "is not a relative path");
        (await server.Post("/collections/f/files", $$"""{"root": "/r", "files": [{"path": "/etc/passwd", "hash": "{{hash}}"}]}""")).AssertError(400, "is not a relative path");
        (await server.Post("/collections/f/files", """{"root": "/r", "files": [{"path": "a.md", "hash": "xyz"}]}""")).AssertError(400, "SHA-256");
        (await server.Post("/collections/f/files", $$"""{"root": "/r", "files": [{"path": "a.md", "hash": "{{hash}}", "size": 1}]}""")).AssertError(400, "size");
        (await server.Post("/collections/f/files/prune", """{"root": "/r", "present": []}""")).AssertError(404, "");
        Assert.Equal(404, (await server.Get("/collections/f")).Status);

        // A file sent without its text is `changed` (send it again with it); with it, indexed.
        var result = (await server.Post("/collections/f/files", $$"""{"root": "/r", "files": [{"path": "a.md", "hash": "{{hash}}"}]}""")).AssertOk().Result;
        Assert.Equal("changed", result.GetProperty("files")[0].GetProperty("outcome").GetString());
        result = (await server.Post("/collections/f/files", $$"""{"root": "/r", "files": [{"path": "a.md", "hash": "{{hash}}", "text": "# A\n\nsome words"}]}""")).AssertOk().Result;
        Assert.Equal("indexed", result.GetProperty("files")[0].GetProperty("outcome").GetString());
        result = (await server.Post("/collections/f/files", $$"""{"root": "/r", "files": [{"path": "a.md", "hash": "{{hash}}"}]}""")).AssertOk().Result;
        Assert.Equal("unchanged", result.GetProperty("files")[0].GetProperty("outcome").GetString());
        (await server.Post("/collections/f/files/prune", """{"root": "/r", "present": ["a/../../b"]}""")).AssertError(400, "is not a relative path");
        var removed = (await server.Post("/collections/f/files/prune", """{"root": "/r", "present": []}""")).AssertOk().Result;
        Assert.Equal(1, removed.GetProperty("removed").GetInt32());
        Assert.Equal(0, JsonDocument.Parse((await server.Post("/collections/f/points/count", "{}")).Text).RootElement.GetProperty("result").GetProperty("count").GetInt32());
    }
}
