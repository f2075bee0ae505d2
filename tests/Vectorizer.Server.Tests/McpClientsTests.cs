using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using ModelContextProtocol.Client;
using Xunit.Abstractions;

namespace Vectorizer.Server.Tests;

/// <summary>
/// <c>vectorizer mcp</c> (stdio) as a real child process, in-process on a data directory and forwarding to a running
/// server, driven by the official C# client's <see cref="StdioClientTransport"/>; the official TypeScript SDK
/// (<c>tests/clients/mcp/scenario.mjs</c>) over streamable HTTP; and <c>@modelcontextprotocol/inspector-cli</c> against
/// <c>vectorizer mcp</c>. Also measures a <c>search</c> call end to end over each transport.
/// </summary>
public sealed class McpClientsTests(ITestOutputHelper output)
{
    private static readonly SemaphoreSlim InstallLock = new(1, 1);

    private const string TextEmbedding = """{"dense": {"provider": "hash", "dimension": 64}, "sparse": {"provider": "bm25"}}""";

    [Fact]
    [Trait("Category", "Slow")]
    public async Task StdioInProcessServesTheDataDirectory()
    {
        var dataDir = TestServer.NewDataDir();
        await using (var client = await McpSupport.ConnectStdioAsync(["--data-dir", dataDir]))
        {
            Assert.Equal("vectorizer", client.ServerInfo?.Name);
            Assert.Equal(McpSupport.ExpectedTools.Order(), (await client.ListToolsAsync()).Select(t => t.Name).Order());
            (await client.Call("create_collection", $$"""{"collection": "notes", "embedding": {{TextEmbedding}}}""")).Ok("create_collection");
            (await client.Call("add_documents", """{"collection": "notes", "documents": [{"id": 1, "text": "Snapshots are copied nightly."}, {"id": 2, "text": "The cafeteria opens at noon."}]}""")).Ok("add_documents");
            var found = (await client.Call("search_text", """{"collection": "notes", "query": "cafeteria", "limit": 1}""")).Ok("search_text");
            Assert.Equal(2, found.GetProperty("points")[0].GetProperty("id").GetInt64());
            Assert.Equal("vectorizer://collections/notes", Assert.Single(await client.ListResourcesAsync()).Uri);
            (await client.Call("get_collection", """{"collection": "nope"}""")).Failed("get_collection");
            var backup = (await client.Call("create_backup", """{"collection": "notes"}""")).Ok("create_backup").GetProperty("id").GetString();
            Assert.Equal(backup, (await client.Call("list_backups", "{}")).Ok("list_backups").GetProperty("backups")[0].GetProperty("id").GetString());
            Assert.True(File.Exists(Path.Combine(dataDir, "backups", backup + ".tar.gz")));
            await ReportSearchLatency(client, "stdio, in-process");
        }

        // The directory was closed cleanly (lock released, WAL flushed): a second process sees the documents.
        await using (var again = await McpSupport.ConnectStdioAsync(["--data-dir", dataDir]))
        {
            Assert.Equal(2, (await again.Call("count_points", """{"collection": "notes"}""")).Ok("count_points").GetProperty("count").GetInt64());
        }

        TestPaths.TryDelete(dataDir);
    }

    /// <summary>stdout carries only JSON-RPC messages, one per line; logs go to stderr.</summary>
    [Fact]
    [Trait("Category", "Slow")]
    public async Task StdoutHasOnlyProtocolMessages()
    {
        var dataDir = TestServer.NewDataDir();
        var start = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { VectorizerProcess.ExecutablePath(), "mcp", "--data-dir", dataDir, "--log-level", "debug" })
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["TMPDIR"] = TestPaths.Root;
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardInput.WriteLineAsync("""{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}}""");
        await process.StandardInput.WriteLineAsync("""{"jsonrpc": "2.0", "method": "notifications/initialized"}""");
        await process.StandardInput.WriteLineAsync("""{"jsonrpc": "2.0", "id": 2, "method": "tools/list"}""");
        await process.StandardInput.WriteLineAsync("""{"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "server_status", "arguments": {}}}""");
        var lines = new List<string>();
        while (lines.Count < 3 && await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60)) is { } line)
        {
            lines.Add(line);
        }

        process.StandardInput.Close();
        lines.AddRange((await process.StandardOutput.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(60))).Split('\n', StringSplitOptions.RemoveEmptyEntries));
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        var log = await stderr;
        output.WriteLine(log);
        Assert.Equal(0, process.ExitCode);
        Assert.Equal(3, lines.Count);
        var byId = new Dictionary<int, string>();
        foreach (var line in lines)
        {
            using var message = JsonDocument.Parse(line);
            Assert.Equal("2.0", message.RootElement.GetProperty("jsonrpc").GetString());
            byId[message.RootElement.GetProperty("id").GetInt32()] = line; // requests may be answered in any order
        }

        Assert.Equal([1, 2, 3], byId.Keys.Order());
        Assert.Contains("\"server_status\"", byId[2], StringComparison.Ordinal);
        Assert.Contains("structuredContent", byId[3], StringComparison.Ordinal);
        Assert.False(string.IsNullOrWhiteSpace(log), "the debug logs should be on stderr");
        TestPaths.TryDelete(dataDir);
    }

    /// <summary>While a server holds the data directory, the in-process mode refuses (exit 2) and points at --url.</summary>
    [Fact]
    [Trait("Category", "Slow")]
    public async Task StdioRefusesADataDirectoryAServerHolds()
    {
        await using var server = await TestServer.StartAsync();
        var (code, stdout, stderr) = await VectorizerProcess.RunSplitAsync("mcp", "--data-dir", server.DataDir);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains("--url", stderr, StringComparison.Ordinal);
    }

    /// <summary>With --url, stdio forwards to a running server's /mcp with the API key: tools run there, under that key.</summary>
    [Fact]
    [Trait("Category", "Slow")]
    public async Task StdioForwardsToARunningServerWithItsKey()
    {
        await using var server = await TestServer.StartAsync(Secure.Configure);
        await using (var client = await McpSupport.ConnectStdioAsync(["--url", server.Url, "--api-key", Secure.FullKey]))
        {
            Assert.Equal(McpSupport.ExpectedTools.Order(), (await client.ListToolsAsync()).Select(t => t.Name).Order());
            (await client.Call("create_collection", $$"""{"collection": "notes", "embedding": {{TextEmbedding}}}""")).Ok("create_collection");
            (await client.Call("add_documents", """{"collection": "notes", "documents": [{"id": 1, "text": "Snapshots are copied nightly."}]}""")).Ok("add_documents");
            Assert.Equal(1, (await client.Call("count_points", """{"collection": "notes"}""")).Ok("count_points").GetProperty("count").GetInt64());
            Assert.Equal("vectorizer://collections/notes", Assert.Single(await client.ListResourcesAsync()).Uri);
            await ReportSearchLatency(client, "stdio, forwarding to HTTP");
        }

        // The key from the environment; a read-only one cannot write.
        await using (var reader = await McpSupport.ConnectStdioAsync(["--url", server.Url], new Dictionary<string, string?> { ["VECTORIZER_API_KEY"] = Secure.ReadKey }))
        {
            (await reader.Call("search_text", """{"collection": "notes", "query": "snapshots"}""")).Ok("search_text");
            Assert.Equal(403, (await reader.Call("delete_collection", """{"collection": "notes", "confirm": "notes"}""")).Failed("delete_collection").Status);
        }

        // Without a key the server refuses the connection: the process says why on stderr and exits 1.
        var (code, stdout, stderr) = await VectorizerProcess.RunSplitAsync("mcp", "--url", server.Url);
        Assert.Equal((1, ""), (code, stdout));
        Assert.Contains("401", stderr, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task SearchLatencyOverStreamableHttp()
    {
        await using var server = await TestServer.StartAsync();
        await using var client = await McpSupport.ConnectAsync(server.Url);
        (await client.Call("create_collection", $$"""{"collection": "notes", "embedding": {{TextEmbedding}}}""")).Ok("create_collection");
        (await client.Call("add_documents", """{"collection": "notes", "documents": [{"id": 1, "text": "Snapshots are copied nightly."}]}""")).Ok("add_documents");
        await ReportSearchLatency(client, "streamable HTTP");
    }

    /// <summary>The official TypeScript SDK client over streamable HTTP, without and with authentication.</summary>
    [SkippableFact]
    [Trait("Category", "Slow")]
    public async Task TypeScriptSdkScenarioPasses()
    {
        Prerequisites.Require(Need.Node);
        var folder = await EnsureInstalled();
        await using (var server = await TestServer.StartAsync())
        {
            var (code, log) = await Run("node", folder, "scenario.mjs", server.Url);
            output.WriteLine(log);
            Assert.True(code == 0, log);
            Assert.Contains("all steps passed", log, StringComparison.Ordinal);
        }

        await using (var secured = await TestServer.StartAsync(Secure.Configure))
        {
            var (code, log) = await Run("node", folder, "scenario.mjs", secured.Url, Secure.FullKey);
            output.WriteLine(log);
            Assert.True(code == 0, log);
            Assert.Contains("ok   without the key the server answers 401", log, StringComparison.Ordinal);
            Assert.Contains("all steps passed", log, StringComparison.Ordinal);
        }
    }

    /// <summary><c>@modelcontextprotocol/inspector-cli --cli</c> launching <c>vectorizer mcp</c>: tools/list succeeds.</summary>
    [SkippableFact]
    [Trait("Category", "Slow")]
    public async Task InspectorCliListsTheTools()
    {
        Prerequisites.Require(Need.Node);
        var folder = await EnsureInstalled();
        var dataDir = TestServer.NewDataDir();
        // The inspector looks for its package.json relative to the working directory: run it from its build folder.
        var build = Path.Combine(folder, "node_modules", "@modelcontextprotocol", "inspector-cli", "build");
        var (code, log) = await Run("node", build, "cli.js", "--cli", "dotnet", VectorizerProcess.ExecutablePath(), "mcp", "--data-dir", dataDir, "--method", "tools/list");
        Assert.True(code == 0, log);
        var json = log[log.IndexOf('{', StringComparison.Ordinal)..(log.LastIndexOf('}') + 1)];
        using var listed = JsonDocument.Parse(json);
        Assert.Equal(McpSupport.ExpectedTools.Order(), listed.RootElement.GetProperty("tools").EnumerateArray().Select(t => t.GetProperty("name").GetString()).Order());
        TestPaths.TryDelete(dataDir);
    }

    /// <summary>Median and 95th percentile of a <c>search</c> call (the SDK client's call to its answer), printed for the report.</summary>
    private async Task ReportSearchLatency(McpClient client, string transport)
    {
        (await client.Call("create_collection", """{"collection": "latency", "vectors": {"size": 4, "distance": "Cosine"}}""")).Ok("create_collection");
        (await client.Call("upsert_points", """{"collection": "latency", "points": [{"id": 1, "vector": [0.1, 0.2, 0.3, 0.4]}, {"id": 2, "vector": [0.4, 0.3, 0.2, 0.1]}]}""")).Ok("upsert_points");
        const string query = """{"collection": "latency", "vector": [0.2, 0.1, 0.9, 0.7], "limit": 2}""";
        for (var i = 0; i < 20; i++)
        {
            (await client.Call("search", query)).Ok("search");
        }

        var times = new List<double>();
        for (var i = 0; i < 200; i++)
        {
            var started = Stopwatch.GetTimestamp();
            (await client.Call("search", query)).Ok("search");
            times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        times.Sort();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"search over {transport}: median {times[times.Count / 2]:0.00} ms, p95 {times[(int)(times.Count * 0.95)]:0.00} ms ({times.Count} calls)"));
    }

    private static async Task<string> EnsureInstalled()
    {
        var folder = Path.Combine(VectorizerProcess.RepositoryRoot(), "tests", "clients", "mcp");
        await InstallLock.WaitAsync();
        try
        {
            if (!File.Exists(Path.Combine(folder, "node_modules", "@modelcontextprotocol", "sdk", "package.json"))
                || !File.Exists(Path.Combine(folder, "node_modules", "@modelcontextprotocol", "inspector-cli", "package.json")))
            {
                var (code, log) = await Run("npm", folder, "ci", "--no-audit", "--no-fund");
                Assert.True(code == 0, "npm ci failed:\n" + log);
            }
        }
        finally
        {
            InstallLock.Release();
        }

        return folder;
    }

    private static async Task<(int Code, string Output)> Run(string file, string directory, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["TMPDIR"] = TestPaths.Root;
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(5));
        return (process.ExitCode, await stdout + await stderr);
    }
}
