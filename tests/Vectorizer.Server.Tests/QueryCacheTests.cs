using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace Vectorizer.Server.Tests;

/// <summary>
/// The query cache over HTTP: hit, miss and hit-rate counters in <c>/api/status</c>, and the property that matters — an
/// acknowledged write is never hidden by a cached answer, even with readers filling the cache while writes land; the
/// Redis second level with a real <c>redis-server</c>.
/// </summary>
public sealed class QueryCacheTests(ITestOutputHelper output)
{
    private static async Task<JsonElement> CacheStatus(TestServer server) =>
        (await server.Get("/api/status")).Body.GetProperty("query_cache").Clone();

    private static async Task<List<string>> QueryIds(TestServer server, string body) =>
        (await server.Post("/collections/c/points/query", body)).AssertOk().Result.GetProperty("points").EnumerateArray()
            .Select(p => p.GetProperty("id").ToString()).ToList();

    private static async Task<List<string>> TextIds(TestServer server, string body) =>
        (await server.Post("/collections/t/search/text", body)).AssertOk().Result.GetProperty("points").EnumerateArray()
            .Select(p => p.GetProperty("id").ToString()).ToList();

    [Fact]
    public async Task RepeatedReadsAreHitsAndStatusCountsThem()
    {
        await using var server = await TestServer.StartAsync();
        await server.CreateCollection("c", size: 2);
        (await server.Put("/collections/c/points?wait=true", """{"points": [{"id": 1, "vector": [1, 0]}, {"id": 2, "vector": [0, 1]}]}""")).AssertOk();
        var before = await CacheStatus(server);
        Assert.True(before.GetProperty("enabled").GetBoolean());
        Assert.Equal("none", before.GetProperty("second_level").GetString());

        const string query = """{"query": [1, 0.1], "limit": 2}""";
        Assert.Equal(["1", "2"], await QueryIds(server, query));
        Assert.Equal(["1", "2"], await QueryIds(server, query));
        Assert.Equal(["1", "2"], await QueryIds(server, """{"limit": 2, "query": [1, 0.1]}""")); // the same request, keys in another order
        Assert.Equal(["2", "1"], await QueryIds(server, """{"query": [0.1, 1], "limit": 2}"""));

        var after = await CacheStatus(server);
        var hits = after.GetProperty("hits").GetInt64() - before.GetProperty("hits").GetInt64();
        var misses = after.GetProperty("misses").GetInt64() - before.GetProperty("misses").GetInt64();
        Assert.Equal(2, hits);
        Assert.Equal(2, misses);
        var total = after.GetProperty("hits").GetInt64() + after.GetProperty("misses").GetInt64();
        Assert.Equal(Math.Round((double)after.GetProperty("hits").GetInt64() / total, 4), after.GetProperty("hit_rate").GetDouble(), 4);

        // Random samples are never cached.
        (await server.Post("/collections/c/points/query", """{"query": {"sample": "random"}, "limit": 1}""")).AssertOk();
        Assert.True((await CacheStatus(server)).GetProperty("bypassed").GetInt64() > after.GetProperty("bypassed").GetInt64());
    }

    [Fact]
    public async Task AWriteIsNeverHiddenByACachedAnswer()
    {
        await using var server = await TestServer.StartAsync();
        await ProveWritesAreSeen(server);
    }

    [Fact]
    public async Task TheCacheCanBeTurnedOff()
    {
        await using var server = await TestServer.StartAsync(s => s.Cache.Enabled = false);
        await server.CreateCollection("c", size: 2);
        (await server.Put("/collections/c/points?wait=true", """{"points": [{"id": 1, "vector": [1, 0]}]}""")).AssertOk();
        await QueryIds(server, """{"query": [1, 0]}""");
        await QueryIds(server, """{"query": [1, 0]}""");
        var status = await CacheStatus(server);
        Assert.False(status.GetProperty("enabled").GetBoolean());
        Assert.Equal(0, status.GetProperty("hits").GetInt64());
        Assert.Equal(2, status.GetProperty("bypassed").GetInt64());
    }

    [SkippableFact]
    public async Task RedisIsTheSecondLevel()
    {
        Prerequisites.Require(Need.Redis);
        await using var redis = await RedisServer.StartAsync();
        using var connection = await ConnectionMultiplexer.ConnectAsync(redis.Configuration);
        var serverEndpoint = connection.GetServer(connection.GetEndPoints()[0]);

        await using var chat = await ChatServer.StartAsync();
        void Configure(Configuration.VectorizerSettings s)
        {
            s.Cache.Redis = redis.Configuration;
            s.Cache.RedisPrefix = "vz-test:";
            s.Llm.BaseUrl = chat.BaseUrl;
            s.Llm.Model = "test-chat";
        }

        await using (var server = await TestServer.StartAsync(Configure))
        {
            Assert.Equal("redis", (await CacheStatus(server)).GetProperty("second_level").GetString());
            await ProveWritesAreSeen(server);
            var keys = serverEndpoint.Keys(pattern: "vz-test:*").Select(k => k.ToString()).ToList();
            output.WriteLine($"{keys.Count} keys in Redis, e.g. {keys.FirstOrDefault()}");
            Assert.Contains(keys, k => k.StartsWith("vz-test:q:", StringComparison.Ordinal));

            (await server.Put("/collections/h", """{"embedding": {"dense": {"provider": "hash"}}}""")).AssertOk();
            var expansion = (await server.Post("/collections/h/search/text", """{"query": "shared question", "expand": {"hyde": true}}""")).AssertOk().Result.GetProperty("expansion");
            Assert.Equal("applied", expansion.GetProperty("hyde").GetString());
        }

        // Another server (a restart, or a second node) with the same Redis: HyDE's text is there; the LLM is not asked.
        await using (var second = await TestServer.StartAsync(Configure))
        {
            (await second.Put("/collections/h", """{"embedding": {"dense": {"provider": "hash"}}}""")).AssertOk();
            var expansion = (await second.Post("/collections/h/search/text", """{"query": "shared question", "expand": {"hyde": true}}""")).AssertOk().Result.GetProperty("expansion");
            Assert.Equal("cached", expansion.GetProperty("hyde").GetString());
            Assert.Equal(1, chat.Requests);

            // Redis going away costs the second level, never the answer.
            await redis.DisposeAsync();
            var clock = Stopwatch.StartNew();
            (await second.Post("/collections/h/documents?wait=true", """{"documents": [{"id": 1, "text": "written after redis stopped"}]}""")).AssertOk();
            var found = (await second.Post("/collections/h/search/text", """{"query": "written after redis stopped", "limit": 1}""")).AssertOk().Result.GetProperty("points");
            Assert.Equal(1, found[0].GetProperty("id").GetInt32());
            output.WriteLine($"search with Redis down: {clock.Elapsed.TotalMilliseconds:F0} ms");
        }
    }

    /// <summary>
    /// Writes of every kind, each followed at once by the same read: the read must see it. Meanwhile a reader runs the
    /// same reads in a loop, so the cache is being filled while the writes land (the race a version-keyed cache must win).
    /// </summary>
    private static async Task ProveWritesAreSeen(TestServer server)
    {
        await server.CreateCollection("c", size: 2);
        (await server.Put("/collections/t", """{"embedding": {"dense": {"provider": "hash"}, "sparse": {"provider": "bm25"}}}""")).AssertOk();
        const string query = """{"query": [1, 1], "limit": 1000, "with_payload": true}""";
        const string text = """{"query": "marker", "mode": "sparse", "limit": 1000}""";
        using var stop = new CancellationTokenSource();
        var reader = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await QueryIds(server, query);
                await TextIds(server, text);
            }
        });

        for (var i = 1; i <= 40; i++)
        {
            (await server.Put("/collections/c/points?wait=true", $$$"""{"points": [{"id": {{{i}}}, "vector": [1, {{{i}}}], "payload": {"n": {{{i}}}}}]}""")).AssertOk();
            Assert.Equal(i, (await QueryIds(server, query)).Count);
            (await server.Post("/collections/t/documents?wait=true", $$"""{"documents": [{"id": {{i}}, "text": "marker document number {{i}}"}]}""")).AssertOk();
            Assert.Equal(i, (await TextIds(server, text)).Count);
        }

        // Deletes, payload changes and collection-level changes are writes too.
        (await server.Post("/collections/c/points/delete?wait=true", """{"points": [1, 2, 3]}""")).AssertOk();
        Assert.DoesNotContain("1", await QueryIds(server, query));
        Assert.Equal(37, (await QueryIds(server, query)).Count);
        (await server.Post("/collections/c/points/payload?wait=true", """{"payload": {"n": -1}, "points": [4]}""")).AssertOk();
        var four = (await server.Post("/collections/c/points/query", query)).AssertOk().Result.GetProperty("points").EnumerateArray()
            .Single(p => p.GetProperty("id").ToString() == "4");
        Assert.Equal(-1, four.GetProperty("payload").GetProperty("n").GetInt32());
        (await server.Post("/collections/t/points/delete?wait=true", """{"points": [40]}""")).AssertOk();
        Assert.Equal(39, (await TextIds(server, text)).Count);

        // A collection deleted and created again never meets the old one's answers.
        (await server.Delete("/collections/c")).AssertOk();
        await server.CreateCollection("c", size: 2);
        Assert.Empty(await QueryIds(server, query));

        await stop.CancelAsync();
        try
        {
            await reader;
        }
        catch (InvalidOperationException)
        {
            // The reader can meet the collection while it is deleted (404): that is not what this test is about.
        }
        catch (Xunit.Sdk.XunitException)
        {
        }
    }
}

/// <summary>A <c>redis-server</c> of the test's own, on a free port, without persistence.</summary>
public sealed class RedisServer : IAsyncDisposable
{
    private readonly Process process;
    private bool disposed;

    private RedisServer(Process process, int port)
    {
        this.process = process;
        Port = port;
        Configuration = $"127.0.0.1:{port},abortConnect=false,connectTimeout=2000,syncTimeout=2000";
    }

    public int Port { get; }

    /// <summary>StackExchange.Redis' connection string for it.</summary>
    public string Configuration { get; }

    /// <summary>Starts one on <paramref name="port"/> (the port of one stopped earlier: Redis coming back), else on a free port.</summary>
    public static async Task<RedisServer> StartAsync(int? port = null)
    {
        if (port is null)
        {
            using var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        var start = new ProcessStartInfo("redis-server")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = TestPaths.Root,
        };
        foreach (var argument in new[] { "--port", port.Value.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no" })
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start)!;
        var server = new RedisServer(process, port.Value);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port.Value);
                return server;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !process.HasExited)
            {
                await Task.Delay(100);
            }
            catch (SocketException)
            {
                await server.DisposeAsync();
                throw new InvalidOperationException("redis-server did not start: " + await process.StandardOutput.ReadToEndAsync());
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        if (!process.HasExited)
        {
            process.Kill();
            await process.WaitForExitAsync();
        }

        process.Dispose();
    }
}
