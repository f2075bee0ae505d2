namespace Vectorizer.Server.Tests;

/// <summary>The <c>vectorizer</c> executable's verbs, run as child processes.</summary>
public class CliTests
{
    [Fact]
    public async Task ConfigValidateReportsKeyAndLine()
    {
        var path = TestPaths.NewPath("cli-", ".yml");
        try
        {
            await ConfigValidateAndShow(path);
        }
        finally
        {
            TestPaths.TryDelete(path);
        }
    }

    private static async Task ConfigValidateAndShow(string path)
    {
        await File.WriteAllTextAsync(path, "server:\n  port: 15002\n  bogus: 1\n");
        var (code, output) = await VectorizerProcess.RunAsync("config", "validate", "--config", path);
        Assert.Equal(1, code);
        Assert.Contains("line 3, column 3: `server.bogus`: unknown key", output, StringComparison.Ordinal);

        await File.WriteAllTextAsync(path, "server:\n  port: 15003\n");
        (code, output) = await VectorizerProcess.RunAsync("config", "validate", "--config", path);
        Assert.Equal(0, code);
        Assert.Contains("valid", output, StringComparison.Ordinal);

        (code, output) = await VectorizerProcess.RunAsync("config", "show", "--config", path, "--data-dir", "/tmp/flag-dir");
        Assert.Equal(0, code);
        Assert.Contains("port: 15003", output, StringComparison.Ordinal);
        Assert.Contains("data_dir: /tmp/flag-dir", output, StringComparison.Ordinal);

        // No file: the defaults and the environment are what is checked.
        var empty = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "vectorizer-tests", Guid.NewGuid().ToString("N"))).FullName;
        (code, output) = await VectorizerProcess.RunInAsync(empty, [], "config", "validate");
        Assert.True(code == 0, output);
        Assert.Contains("(no config file: defaults and environment): valid", output, StringComparison.Ordinal);
        (code, output) = await VectorizerProcess.RunInAsync(empty, new() { ["VECTORIZER_LOG_LEVEL"] = "loud" }, "config", "validate");
        Assert.Equal(1, code);
        Assert.Contains("`logging.level` (from VECTORIZER_LOG_LEVEL): `loud` is not one of", output, StringComparison.Ordinal);

        // A bad value in the file: its line.
        await File.WriteAllTextAsync(path, "logging:\n  level: verbose\n");
        (code, output) = await VectorizerProcess.RunAsync("config", "validate", "--config", path);
        Assert.Equal(1, code);
        Assert.Contains("line 2, column 10: `logging.level`: `verbose` is not one of trace, debug, info, warn, error", output, StringComparison.Ordinal);
        File.Delete(path);
        Directory.Delete(empty);
    }

    [Fact]
    public async Task APortInUseIsOneLineAndExit2()
    {
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        var port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var dataDir = TestServer.NewDataDir();
        try
        {
            var (code, stdout, stderr) = await VectorizerProcess.RunSplitAsync("serve", "--host", "127.0.0.1", "--port", port, "--grpc-port", "0", "--data-dir", dataDir);
            Assert.True(code == 2, stdout + stderr);
            Assert.Equal(
                $"error: cannot listen on 127.0.0.1:{port}: the address is already in use (another server is listening there?); choose another port with --port, server.port or VECTORIZER_PORT",
                Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
            Assert.DoesNotContain("Exception", stdout + stderr, StringComparison.Ordinal);
        }
        finally
        {
            TestServer.TryDelete(dataDir);
        }
    }

    [Fact]
    public async Task AReplicationPortInUseNamesBindAddress()
    {
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        var port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;
        var dataDir = TestServer.NewDataDir();
        var config = Path.Combine(dataDir + "-config.yml");
        await File.WriteAllTextAsync(config, $"replication:\n  enabled: true\n  role: master\n  bind_address: \"127.0.0.1:{port}\"\n");
        try
        {
            var (code, stdout, stderr) = await VectorizerProcess.RunSplitAsync("serve", "--config", config, "--host", "127.0.0.1", "--port", "0", "--grpc-port", "0", "--data-dir", dataDir);
            Assert.True(code == 2, stdout + stderr);
            Assert.Equal(
                $"error: cannot listen on 127.0.0.1:{port}: the address is already in use (another server is listening there?); choose another port with replication.bind_address (VECTORIZER_REPLICATION__BIND_ADDRESS)",
                Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
        }
        finally
        {
            TestServer.TryDelete(dataDir);
            File.Delete(config);
        }
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task StatusAndCollectionsListTalkToARunningServer()
    {
        var dataDir = TestServer.NewDataDir();
        try
        {
            await using var child = await VectorizerProcess.StartAsync(dataDir);
            using var client = new HttpClient { BaseAddress = new Uri(child.Url) };
            (await client.SendJson(HttpMethod.Put, "/collections/cli", """{"vectors": {"size": 2, "distance": "Dot"}}""")).AssertOk();
            (await client.SendJson(HttpMethod.Put, "/collections/cli/points?wait=true", """{"points": [{"id": 1, "vector": [1, 2]}]}""")).AssertOk();

            var (code, output) = await VectorizerProcess.RunAsync("status", "--url", child.Url);
            Assert.Equal(0, code);
            Assert.Contains("collections: 1", output, StringComparison.Ordinal);
            Assert.Contains("points:      1", output, StringComparison.Ordinal);

            (code, output) = await VectorizerProcess.RunAsync("collections", "list", "--url", child.Url);
            Assert.Equal(0, code);
            Assert.Matches(@"cli\s+1 points", output);

            (code, output) = await VectorizerProcess.RunAsync("status", "--url", "http://127.0.0.1:1");
            Assert.Equal(1, code);
            Assert.Contains("cannot reach the server", output, StringComparison.Ordinal);
        }
        finally
        {
            TestServer.TryDelete(dataDir);
        }
    }
}
