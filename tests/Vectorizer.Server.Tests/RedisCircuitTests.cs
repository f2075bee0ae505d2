using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace Vectorizer.Server.Tests;

/// <summary>
/// The query cache's Redis level going down and coming back, with the real executable and a real <c>redis-server</c>
/// stopped and started again on its port: requests keep being answered (from memory and by running the query) without
/// waiting on Redis each time, the console gets one warning and no stack trace, <c>/api/status</c> says the second
/// level is unreachable, and once Redis is back a background probe closes the circuit and answers are stored there again.
/// </summary>
public sealed class RedisCircuitTests(ITestOutputHelper output)
{
    [SkippableFact]
    [Trait("Category", "Slow")]
    public async Task RedisDownIsOneWarningAndNoWaitingThenItIsUsedAgain()
    {
        Prerequisites.Require(Need.Redis);
        var redis = await RedisServer.StartAsync();
        var dataDir = TestServer.NewDataDir();
        var config = dataDir + "-config.yml";
        Directory.CreateDirectory(Path.GetDirectoryName(config)!);
        await File.WriteAllTextAsync(config, $"""
            cache:
              redis: "{redis.Configuration}"
              redis_prefix: "circuit:"
              redis_timeout_ms: 500
              redis_retry_seconds: 1
            """);
        try
        {
            await using var child = await VectorizerProcess.StartAsync(dataDir, "--config", config);
            using var client = new HttpClient { BaseAddress = new Uri(child.Url) };
            (await client.PutAsync("/collections/docs", Json("""{"embedding": {"dense": {"provider": "hash"}, "sparse": {"provider": "bm25"}}}"""))).EnsureSuccessStatusCode();
            (await client.PostAsync("/collections/docs/documents?wait=true", Json("""{"documents": [{"id": 1, "text": "circuit breakers stop calling a failing service"}, {"id": 2, "text": "a memory level keeps answering"}]}"""))).EnsureSuccessStatusCode();

            var n = 0;
            async Task<TimeSpan> Search()
            {
                var clock = Stopwatch.StartNew();
                using var response = await client.PostAsync("/collections/docs/search/text", Json($$"""{"query": "failing service question {{n++}}", "limit": 2}"""));
                response.EnsureSuccessStatusCode();
                var points = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("result").GetProperty("points");
                Assert.Equal(2, points.GetArrayLength());
                return clock.Elapsed;
            }

            async Task<string?> State() => (await client.GetFromJsonAsync<JsonElement>("/api/status")).GetProperty("query_cache").GetProperty("second_level_state").GetString();

            await Search();
            Assert.Equal("connected", await State());
            Assert.NotEmpty(await Keys(redis));

            // Redis stops. Every search still answers; at most the first waits (up to redis_timeout_ms), the rest never do.
            var port = redis.Port;
            await redis.DisposeAsync();
            var latencies = new List<double>();
            for (var i = 0; i < 30; i++)
            {
                latencies.Add((await Search()).TotalMilliseconds);
            }

            latencies.Sort();
            output.WriteLine($"with Redis down: p50 {latencies[15]:F1} ms, max {latencies[^1]:F1} ms");
            Assert.Equal("unreachable", await State());
            Assert.True(latencies[^2] < 400, $"searches waited on Redis: {string.Join(", ", latencies.Select(l => l.ToString("F0", System.Globalization.CultureInfo.InvariantCulture)))} ms");
            var warnings = Lines(child.Output, "is unreachable");
            Assert.True(warnings.Count == 1, child.Output);
            Assert.Contains("serving from the memory level only", warnings[0], StringComparison.Ordinal);
            AssertNoStackTrace(child.Output);

            // Redis comes back on its port: a background probe closes the circuit, answers go to Redis again.
            redis = await RedisServer.StartAsync(port);
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (await State() != "connected")
            {
                Assert.True(DateTime.UtcNow < deadline, "the circuit did not close within 30 s of Redis coming back\n" + child.Output);
                await Search();
                await Task.Delay(200);
            }

            await Search();
            Assert.NotEmpty(await Keys(redis));
            await Search();
            Assert.True(Lines(child.Output, "is reachable again").Count == 1, child.Output);
            Assert.True(Lines(child.Output, "is unreachable").Count == 1, child.Output);
            AssertNoStackTrace(child.Output);
        }
        finally
        {
            await redis.DisposeAsync();
            TestServer.TryDelete(dataDir);
            File.Delete(config);
        }
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private static async Task<List<string>> Keys(RedisServer redis)
    {
        using var connection = await ConnectionMultiplexer.ConnectAsync(redis.Configuration);
        return [.. connection.GetServer(connection.GetEndPoints()[0]).Keys(pattern: "circuit:q:*").Select(k => k.ToString())];
    }

    private static List<string> Lines(string text, string containing) =>
        [.. text.Split('\n').Where(l => l.Contains(containing, StringComparison.Ordinal))];

    private static void AssertNoStackTrace(string text)
    {
        var frames = text.Split('\n').Where(l => l.TrimStart().StartsWith("at ", StringComparison.Ordinal) && l.Contains('(', StringComparison.Ordinal)).ToList();
        Assert.True(frames.Count == 0, "a stack trace on the console:\n" + text);
    }
}
