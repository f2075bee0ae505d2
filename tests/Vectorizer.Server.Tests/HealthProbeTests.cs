using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Operations;
using Vectorizer.Engine.Points;

namespace Vectorizer.Server.Tests;

/// <summary>
/// <c>/livez</c>, <c>/readyz</c> (503 while collections load and once shutdown begins), <c>/health/detailed</c> and
/// Qdrant's <c>/telemetry</c>, over real HTTP.
/// </summary>
public sealed class HealthProbeTests
{
    [Fact]
    public async Task DetailedHealthReportsRequestsCollectionsDiskAndWatcher()
    {
        await using var server = await TestServer.StartAsync();
        await server.CreateCollection("healthy");
        (await server.Put("/collections/healthy/points?wait=true", """{"points": [{"id": 1, "vector": [0.1, 0.2, 0.3, 0.4]}]}""")).AssertOk();
        Assert.Equal(404, (await server.Get("/collections/absent")).Status);

        var response = await server.Get("/health/detailed");
        Assert.Equal(200, response.Status);
        var body = response.Body;
        Assert.Equal("healthy", body.GetProperty("status").GetString());
        Assert.Equal(Api.Qdrant.ServiceApi.Version, body.GetProperty("version").GetString());
        Assert.True(body.GetProperty("uptime_seconds").GetDouble() >= 0);
        var metrics = body.GetProperty("metrics");
        Assert.True(metrics.GetProperty("requests_total").GetInt64() >= 3);
        Assert.Equal(0, metrics.GetProperty("error_rate").GetDouble()); // a 404 is the client's error, not the server's
        var collection = Assert.Single(body.GetProperty("collections").EnumerateArray());
        Assert.Equal("healthy", collection.GetProperty("name").GetString());
        Assert.Equal(1, collection.GetProperty("points").GetInt64());
        Assert.Equal(1, collection.GetProperty("operations_since_checkpoint").GetInt64());
        Assert.True(collection.GetProperty("last_checkpoint_age_seconds").GetDouble() >= 0);
        Assert.True(body.GetProperty("disk").GetProperty("free_bytes").GetInt64() > 0);
        Assert.Equal(Path.GetFullPath(server.DataDir), body.GetProperty("disk").GetProperty("data_dir").GetString());
        Assert.False(body.GetProperty("watcher").GetProperty("enabled").GetBoolean());
        Assert.Equal("disabled", body.GetProperty("services").GetProperty("file_watcher").GetString());
    }

    /// <summary>
    /// A collection that failed to open (a damaged <c>collection.json</c>) leaves the server ready, since the others are
    /// served and a restart would not repair it, and is reported: <c>/readyz</c> counts it (no names: the probe is
    /// anonymous), <c>/health/detailed</c> is degraded and names it with the reason, the metrics count it.
    /// </summary>
    [Fact]
    public async Task AFailedCollectionLeavesTheServerReadyAndIsReported()
    {
        var dataDir = TestServer.NewDataDir();
        try
        {
            await using (var server = await TestServer.StartAsync(dataDir: dataDir))
            {
                await server.CreateCollection("broken");
                await server.CreateCollection("fine");
            }

            await File.WriteAllTextAsync(Path.Combine(dataDir, "collections", "broken", "collection.json"), "{ damaged");
            await using (var server = await TestServer.StartAsync(dataDir: dataDir))
            {
                var ready = await server.Get("/readyz");
                Assert.Equal(200, ready.Status);
                Assert.Equal("ready; 1 collection failed to open and is not served (see /health/detailed)", ready.Text);
                Assert.DoesNotContain("broken", ready.Text, StringComparison.Ordinal);

                var health = await server.Get("/health/detailed");
                Assert.Equal(200, health.Status);
                Assert.Equal("degraded", health.Body.GetProperty("status").GetString());
                Assert.True(health.Body.GetProperty("ready").GetBoolean());
                var failed = Assert.Single(health.Body.GetProperty("failed_collections").EnumerateArray());
                Assert.Equal("broken", failed.GetProperty("name").GetString());
                Assert.Equal("failed", failed.GetProperty("status").GetString());
                Assert.Contains("collection.json is damaged", failed.GetProperty("reason").GetString(), StringComparison.Ordinal);
                Assert.Contains(health.Body.GetProperty("problems").EnumerateArray(), p => p.GetString()!.StartsWith("collection `broken` failed to open", StringComparison.Ordinal));
                Assert.Equal("fine", Assert.Single(health.Body.GetProperty("collections").EnumerateArray()).GetProperty("name").GetString());

                var samples = MetricsTests.Samples(await server.Client.GetStringAsync("/metrics"));
                Assert.Equal(1, samples.Single(s => s.Name == "vectorizer_collections_failed").Value);
                Assert.Equal(1, samples.Single(s => s.Name == "vectorizer_collection_status" && s.Labels["collection"] == "broken").Value);
                Assert.Equal("failed", samples.Single(s => s.Name == "vectorizer_collection_status" && s.Labels["collection"] == "broken").Labels["status"]);
                Assert.Equal(1, samples.Single(s => s.Name == "vectorizer_ready").Value);
            }
        }
        finally
        {
            TestServer.TryDelete(dataDir);
        }
    }

    [Fact]
    public async Task TelemetryHasQdrantsShape()
    {
        await using var server = await TestServer.StartAsync();
        await server.CreateCollection("told");
        for (var i = 0; i < 3; i++)
        {
            (await server.Post("/collections/told/points/query", """{"query": [0.1, 0.2, 0.3, 0.4], "limit": 1}""")).AssertOk();
        }

        var result = (await server.Get("/telemetry?details_level=1")).AssertOk().Result;
        Assert.False(string.IsNullOrEmpty(result.GetProperty("id").GetString()));
        Assert.Equal("vectorizer", result.GetProperty("app").GetProperty("name").GetString());
        Assert.True(result.GetProperty("app").GetProperty("system").GetProperty("cores").GetInt32() > 0);
        Assert.Equal(1, result.GetProperty("collections").GetProperty("number_of_collections").GetInt32());
        Assert.Equal("told", result.GetProperty("collections").GetProperty("collections")[0].GetProperty("id").GetString());
        var query = result.GetProperty("requests").GetProperty("rest").GetProperty("responses").GetProperty("POST /collections/{collection}/points/query").GetProperty("200");
        Assert.Equal(3, query.GetProperty("count").GetInt64());
        Assert.True(query.GetProperty("max_duration_micros").GetDouble() >= query.GetProperty("min_duration_micros").GetDouble());
        Assert.Equal(JsonValueKind.Object, result.GetProperty("requests").GetProperty("grpc").GetProperty("responses").ValueKind);

        var level0 = (await server.Get("/telemetry?anonymize=true")).AssertOk().Result;
        Assert.False(level0.GetProperty("collections").TryGetProperty("collections", out _));
        (await server.Get("/telemetry?details_level=x")).AssertError(400, "details_level");
    }

    [Fact]
    public async Task ReadyzAnswers503OnceShutdownBeginsWhileLivezStays200()
    {
        var server = await TestServer.StartAsync(s => s.Server.ShutdownDelaySeconds = 3);
        Assert.Equal(200, (await server.Get("/readyz")).Status);
        var client = new HttpClient { BaseAddress = new Uri(server.Url) }; // TestServer's own is disposed by StopAsync
        var stopping = server.StopAsync();
        var readyz = 200;
        for (var attempt = 0; attempt < 100 && readyz == 200; attempt++)
        {
            readyz = (int)(await client.GetAsync("/readyz")).StatusCode;
        }

        Assert.Equal(503, readyz);
        Assert.Equal(200, (int)(await client.GetAsync("/livez")).StatusCode);
        using (var health = await client.GetAsync("/health/detailed"))
        {
            Assert.Equal(503, (int)health.StatusCode);
            Assert.Equal("stopping", JsonDocument.Parse(await health.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetString());
        }

        await stopping;
        client.Dispose();
        TestServer.TryDelete(server.DataDir);
    }

    /// <summary>
    /// A data directory whose collection must replay a large WAL (written in-process, closed without a checkpoint):
    /// the real server listens at once, answers /livez 200, /readyz and API calls 503 until the replay ends, then 200.
    /// </summary>
    [Fact]
    [Trait("Category", "Slow")]
    public async Task ReadyzAnswers503UntilCollectionsAreLoaded()
    {
        var dataDir = TestServer.NewDataDir();
        try
        {
            using (var manager = CollectionManager.Open(new EngineOptions { DataDir = dataDir }, NullLoggerFactory.Instance))
            {
                var collection = manager.Create("big", new CollectionConfig
                {
                    Vectors = new Dictionary<string, VectorParams> { [""] = new() { Size = 32, Distance = Engine.Vectors.Distance.Cosine } },
                    Optimizers = new OptimizersConfig { IndexingThreshold = 0 },
                });
                var random = new Random(7);
                for (var batch = 0; batch < 300; batch++)
                {
                    var points = new List<PointStruct>(1000);
                    for (var i = 0; i < 1000; i++)
                    {
                        var vector = new float[32];
                        for (var d = 0; d < vector.Length; d++)
                        {
                            vector[d] = (float)random.NextDouble() + 0.01f;
                        }

                        points.Add(new PointStruct(PointId.FromNumber((ulong)((batch * 1000) + i + 1)), VectorMap.Single("", vector), null, null));
                    }

                    await collection.UpdateAsync(new UpsertOperation(points), wait: false);
                }

                collection.Close(checkpoint: false); // a restart replays 300,000 points from the WAL
            }

            var port = TestPorts.Free();
            await using var child = VectorizerProcess.Launch("serve", "--host", "127.0.0.1", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--data-dir", dataDir);
            using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10) };
            var seen = new List<string>();
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < TimeSpan.FromSeconds(120))
            {
                HttpResponseMessage readyz;
                try
                {
                    readyz = await client.GetAsync("/readyz");
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    // Not listening yet, or (on a machine under heavy load) no answer within the client's timeout.
                    Assert.False(child.Process.HasExited, child.Output);
                    await Task.Delay(20);
                    continue;
                }

                using (readyz)
                {
                    if (readyz.StatusCode == System.Net.HttpStatusCode.OK)
                    {
                        seen.Add("ready");
                        break;
                    }

                    Assert.Equal(503, (int)readyz.StatusCode);
                    if (!seen.Contains("loading"))
                    {
                        seen.Add("loading");
                        Assert.Equal(200, (int)(await client.GetAsync("/livez")).StatusCode);
                        var api = await client.SendJson(HttpMethod.Get, "/collections/big", null);
                        if (api.Status == 503) // still loading after two more round trips
                        {
                            api.AssertError(503, "collections are loading");
                            seen.Add("api 503");
                        }
                    }
                }
            }

            Assert.Equal(["loading", "api 503", "ready"], seen);
            var info = (await client.SendJson(HttpMethod.Get, "/collections/big", null)).AssertOk().Result;
            Assert.Equal(300_000, info.GetProperty("points_count").GetInt64());
        }
        finally
        {
            TestServer.TryDelete(dataDir);
        }
    }
}
