using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Vectorizer.Server.Hosting;

namespace Vectorizer.Server.Tests;

/// <summary>
/// Request ids and traces: a W3C <c>traceparent</c> is honoured (its trace id becomes the request id when the client
/// sent none), JSON log lines a request causes carry <c>request_id</c> and <c>trace_id</c>, and spans for the request,
/// the operation, WAL append and fsync, and search reach an OTLP endpoint.
/// </summary>
public sealed class TracingTests
{
    private const string TraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    private const string TraceParent = "00-" + TraceId + "-00f067aa0ba902b7-01";

    [Fact]
    public async Task TraceparentBecomesTheRequestIdUnlessTheClientSentOne()
    {
        await using var server = await TestServer.StartAsync();
        using (var request = new HttpRequestMessage(HttpMethod.Get, "/collections"))
        {
            request.Headers.Add("traceparent", TraceParent);
            using var response = await server.Client.SendAsync(request);
            Assert.Equal(TraceId, Assert.Single(response.Headers.GetValues("X-Request-Id")));
        }

        using (var request = new HttpRequestMessage(HttpMethod.Get, "/collections"))
        {
            request.Headers.Add("traceparent", TraceParent);
            request.Headers.Add("X-Request-Id", "mine-42");
            using var response = await server.Client.SendAsync(request);
            Assert.Equal("mine-42", Assert.Single(response.Headers.GetValues("X-Request-Id")));
        }

        using (var response = await server.Client.GetAsync("/collections"))
        {
            Assert.Matches("^[0-9a-f]{32}$", Assert.Single(response.Headers.GetValues("X-Request-Id")));
        }
    }

    /// <summary>A real OTLP/HTTP endpoint (Kestrel) that keeps what the exporter posts to /v1/traces.</summary>
    private sealed class OtlpReceiver : IAsyncDisposable
    {
        private readonly WebApplication app;

        private OtlpReceiver(WebApplication app, string url)
        {
            this.app = app;
            Url = url;
        }

        public string Url { get; }

        public ConcurrentQueue<byte[]> Posts { get; } = new();

        public static async Task<OtlpReceiver> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            var app = builder.Build();
            OtlpReceiver? receiver = null;
            app.MapPost("/v1/traces", async (HttpContext context) =>
            {
                using var body = new MemoryStream();
                await context.Request.Body.CopyToAsync(body);
                receiver!.Posts.Enqueue(body.ToArray());
                return Results.Bytes([], "application/x-protobuf");
            });
            await app.StartAsync();
            receiver = new OtlpReceiver(app, VectorizerHost.ListeningAddress(app));
            return receiver;
        }

        public async ValueTask DisposeAsync()
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    [Fact]
    public async Task SpansOfTheRequestOperationWalAndSearchReachAnOtlpEndpoint()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var server = await TestServer.StartAsync(s =>
        {
            s.Telemetry.OtlpEndpoint = receiver.Url;
            s.Telemetry.OtlpProtocol = "http/protobuf";
            s.Telemetry.ServiceName = "vectorizer-under-test";
        });
        try
        {
            await server.CreateCollection("traced");
            foreach (var (method, path, body) in new[]
            {
                (HttpMethod.Put, "/collections/traced/points?wait=true", """{"points": [{"id": 1, "vector": [0.1, 0.2, 0.3, 0.4]}]}"""),
                (HttpMethod.Post, "/collections/traced/points/query", """{"query": [0.1, 0.2, 0.3, 0.4], "limit": 1}"""),
            })
            {
                using var request = new HttpRequestMessage(method, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
                request.Headers.Add("traceparent", TraceParent);
                using var response = await server.Client.SendAsync(request);
                Assert.Equal(200, (int)response.StatusCode);
            }
        }
        finally
        {
            await server.DisposeAsync(); // shuts the tracer down, which exports what is left
        }

        var exported = receiver.Posts.SelectMany(post => post).ToArray();
        Assert.True(exported.Length > 0, "nothing was exported");
        var traceBytes = Convert.FromHexString(TraceId);
        Assert.True(exported.AsSpan().IndexOf(traceBytes) >= 0, "the caller's trace id is not in the export");
        foreach (var name in new[]
        {
            "vectorizer-under-test", "PUT /collections/{collection}/points/", "POST /collections/{collection}/points/query",
            "points.update", "wal.append", "wal.fsync", "points.query", "search", "collections.create", "db.collection.name", "traced",
        })
        {
            Assert.True(exported.AsSpan().IndexOf(Encoding.UTF8.GetBytes(name)) >= 0, $"`{name}` is not in the exported spans");
        }
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task JsonLogLinesOfARequestCarryItsRequestAndTraceIds()
    {
        var dataDir = TestServer.NewDataDir();
        var config = dataDir + "-config.yml";
        Directory.CreateDirectory(Path.GetDirectoryName(config)!);
        await File.WriteAllTextAsync(config, "logging:\n  format: json\n  log_requests: true\n  log_responses: true\n");
        try
        {
            await using var child = await VectorizerProcess.StartAsync(dataDir, "--config", config);
            using var client = new HttpClient { BaseAddress = new Uri(child.Url) };
            // An embedding provider that refuses connections: the resilience pipeline logs each retry inside the request.
            var closed = TestPorts.Free();
            (await client.SendJson(HttpMethod.Put, "/collections/remote", $$"""
                {"embedding": {"dense": {"provider": "openai", "base_url": "http://127.0.0.1:{{closed}}/v1", "model": "m",
                                         "dimensions": 8, "max_retries": 1, "timeout_seconds": 5} } }
                """)).AssertOk();
            using var request = new HttpRequestMessage(HttpMethod.Post, "/collections/remote/documents")
            {
                Content = new StringContent("""{"documents": [{"text": "hello"}]}""", Encoding.UTF8, "application/json"),
            };
            request.Headers.Add("traceparent", TraceParent);
            using (var response = await client.SendAsync(request))
            {
                Assert.Equal(502, (int)response.StatusCode);
                Assert.Equal(TraceId, Assert.Single(response.Headers.GetValues("X-Request-Id")));
            }

            List<JsonElement> lines = [];
            for (var attempt = 0; attempt < 200; attempt++)
            {
                lines = [.. child.Output.Split('\n').Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l).RootElement)
                    .Where(l => l.TryGetProperty("Scopes", out var scopes) && scopes.EnumerateArray().Any(s => s.TryGetProperty("request_id", out var id) && id.GetString() == TraceId))];
                if (lines.Any(l => l.GetProperty("Category").GetString() == "Vectorizer.Access"))
                {
                    break;
                }

                await Task.Delay(50);
            }

            Assert.True(lines.Count >= 2, child.Output); // the provider's retry warnings and the access line
            Assert.Contains(lines, l => l.GetProperty("Category").GetString() != "Vectorizer.Access");
            foreach (var line in lines)
            {
                var scope = line.GetProperty("Scopes").EnumerateArray().Single(s => s.TryGetProperty("request_id", out _));
                Assert.Equal(TraceId, scope.GetProperty("trace_id").GetString());
            }

            var access = lines.Single(l => l.GetProperty("Category").GetString() == "Vectorizer.Access").GetProperty("State");
            Assert.Equal(502, access.GetProperty("Status").GetInt32());
            Assert.StartsWith("""{"status":{"error":""", access.GetProperty("Response").GetString(), StringComparison.Ordinal);
        }
        finally
        {
            TestServer.TryDelete(dataDir);
            File.Delete(config);
        }
    }
}
