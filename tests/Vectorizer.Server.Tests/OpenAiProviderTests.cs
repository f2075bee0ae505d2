using System.Diagnostics;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Vectorizer.Ingestion;
using Vectorizer.Ingestion.Embeddings;
using Xunit.Abstractions;

namespace Vectorizer.Server.Tests;

/// <summary>
/// The <c>openai</c> provider against a real, offline model: tests/embeddings-server serves Universal Sentence
/// Encoder lite (npm <c>@energetic-ai/embeddings</c>) as an OpenAI-compatible <c>POST /v1/embeddings</c>.
/// </summary>
public sealed class OpenAiProviderTests(ITestOutputHelper output)
{
    private const string Documents = """
        {"documents": [
          {"id": 1, "text": "The cat is sleeping on the warm windowsill."},
          {"id": 2, "text": "My dog loves chasing the ball in the garden."},
          {"id": 3, "text": "Kittens and puppies need regular visits to the vet."},
          {"id": 4, "text": "The central bank raised interest rates again."},
          {"id": 5, "text": "Stock prices tumbled after the quarterly earnings report."},
          {"id": 6, "text": "Inflation erodes the value of savings accounts."}
        ]}
        """;

    private static async Task<List<int>> Search(TestServer server, string query)
    {
        var points = (await server.Post("/collections/semantic/search/text", $$"""{"query": "{{query}}", "limit": 3}""")).AssertOk().Result.GetProperty("points");
        return points.EnumerateArray().Select(p => p.GetProperty("id").GetInt32()).ToList();
    }

    [SkippableFact]
    [Trait("Category", "Slow")]
    public async Task RelatedSentencesRankFirstAndRepeatsComeFromTheCache()
    {
        Prerequisites.Require(Need.Node);
        await using var embeddings = await EmbeddingsServer.StartAsync(output);
        var dataDir = TestServer.NewDataDir();
        var create = $$$"""
            {"embedding": {"dense": {"provider": "openai", "base_url": "{{{embeddings.Url}}}/v1", "model": "use-lite",
              "dimensions": 512, "batch_size": 4, "max_retries": 3, "timeout_seconds": 60, "cost_per_1k_tokens": 0.5} } }
            """;
        try
        {
            await using (var server = await TestServer.StartAsync(dataDir: dataDir))
            {
                (await server.Put("/collections/semantic", create)).AssertOk();
                var usage = (await server.Post("/collections/semantic/documents?wait=true", Documents)).AssertOk().Result.GetProperty("usage");
                Assert.Equal(6, usage.GetProperty("embedded").GetInt32());
                Assert.Equal(0, usage.GetProperty("cached").GetInt32());
                var tokens = usage.GetProperty("tokens").GetInt64();
                Assert.Equal(48, tokens); // the test server counts words
                Assert.Equal(tokens * 0.5 / 1000, usage.GetProperty("cost").GetDouble(), 9);
                var stats = await embeddings.Stats();
                Assert.Equal(2, stats.GetProperty("embedding_requests").GetInt32()); // batches of 4 and 2
                Assert.Equal(6, stats.GetProperty("inputs").GetInt32());

                // Meaning, not shared words: no query word occurs in the documents it should find.
                Assert.Equal([1, 2, 3], (await Search(server, "pets like felines and hounds")).Order());
                Assert.Equal([4, 5, 6], (await Search(server, "monetary policy and financial markets")).Order());

                // Unchanged text is never embedded twice.
                var inputs = (await embeddings.Stats()).GetProperty("inputs").GetInt32();
                var repeat = (await server.Post("/collections/semantic/documents?wait=true", Documents)).AssertOk().Result.GetProperty("usage");
                Assert.Equal(0, repeat.GetProperty("embedded").GetInt32());
                Assert.Equal(6, repeat.GetProperty("cached").GetInt32());
                Assert.Equal(0, repeat.GetProperty("tokens").GetInt64());
                Assert.Equal(inputs, (await embeddings.Stats()).GetProperty("inputs").GetInt32());
            }

            // The cache is on disk: a restarted server still does not re-embed.
            await using (var server = await TestServer.StartAsync(dataDir: dataDir))
            {
                var before = await embeddings.Stats();
                var repeat = (await server.Post("/collections/semantic/documents?wait=true", Documents)).AssertOk().Result.GetProperty("usage");
                Assert.Equal(6, repeat.GetProperty("cached").GetInt32());
                Assert.Equal(before.GetProperty("embedding_requests").GetInt32(), (await embeddings.Stats()).GetProperty("embedding_requests").GetInt32());

                // (Retries and their delays: RetriesHonourRetryAfterAndBackOffOnTheTimeProvider, on a fake clock.)
                var after = await embeddings.Stats();
                Assert.Equal(6, (await server.Post("/collections/semantic/points/count", "{}")).AssertOk().Result.GetProperty("count").GetInt32());

                // A client error is not retried, and the failure is reported as the provider's.
                await embeddings.Fail(400, count: 1);
                (await server.Post("/collections/semantic/documents", """{"documents": [{"text": "never stored"}]}""")).AssertError(502, "Embedding provider error:");
                Assert.Equal(after.GetProperty("embedding_requests").GetInt32() + 1, (await embeddings.Stats()).GetProperty("embedding_requests").GetInt32());
            }
        }
        finally
        {
            TestServer.TryDelete(dataDir);
        }
    }

    /// <summary>
    /// The retry delays, on a fake clock: a 429's <c>Retry-After</c> is waited out exactly, 5xx answers back off
    /// exponentially, and nothing is sent again before the clock reaches the delay. No real sleep.
    /// </summary>
    [SkippableFact]
    [Trait("Category", "Slow")]
    public async Task RetriesHonourRetryAfterAndBackOffOnTheTimeProvider()
    {
        Prerequisites.Require(Need.Node);
        await using var embeddings = await EmbeddingsServer.StartAsync(output);
        var time = new ObservedTimeProvider();
        using var http = new HttpClient();
        var config = new DenseEmbedderConfig { Provider = "openai", BaseUrl = embeddings.Url + "/v1", Model = "use-lite", MaxRetries = 3, TimeoutSeconds = 600 };
        using var generator = new OpenAiEmbeddingGenerator(config, http, cache: null, NullLogger.Instance, time);

        await embeddings.Fail(429, count: 1, retryAfter: 7);
        var requests = (await embeddings.Stats()).GetProperty("embedding_requests").GetInt32();
        var embedded = generator.GenerateAsync(["Parrots can learn to imitate human speech."]);
        Assert.Equal(TimeSpan.FromSeconds(7), await time.NextDelay());
        time.Advance(TimeSpan.FromSeconds(7) - TimeSpan.FromTicks(1));
        Assert.Equal(requests + 1, (await embeddings.Stats()).GetProperty("embedding_requests").GetInt32()); // not yet retried
        Assert.False(embedded.IsCompleted);
        time.Advance(TimeSpan.FromTicks(1));
        Assert.Equal(512, Assert.Single(await embedded.WaitAsync(TimeSpan.FromMinutes(1))).Vector.Length);
        Assert.Equal(2, generator.Usage.Requests);

        // Two 503s: two growing backoff delays (jittered around 0.5 s and 1 s), then the answer.
        await embeddings.Fail(503, count: 2);
        embedded = generator.GenerateAsync(["Bond yields climbed as investors sold treasuries."]);
        var first = await time.NextDelay();
        Assert.InRange(first, TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(2));
        time.Advance(first);
        var second = await time.NextDelay();
        Assert.InRange(second, TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(4));
        time.Advance(second);
        Assert.Single(await embedded.WaitAsync(TimeSpan.FromMinutes(1)));
        Assert.Equal(5, generator.Usage.Requests);

        // Retries exhausted: the provider's error names the attempts; a 400 is not retried at all.
        await embeddings.Fail(503, count: 4);
        embedded = generator.GenerateAsync(["never embedded"]);
        for (var retry = 0; retry < 3; retry++)
        {
            time.Advance(await time.NextDelay());
        }

        var error = await Assert.ThrowsAsync<IngestionException>(() => embedded.WaitAsync(TimeSpan.FromMinutes(1)));
        Assert.Equal(IngestionErrorCode.EmbeddingProviderFailed, error.Code);
        Assert.Contains("failed after 4 attempts: 503", error.Message, StringComparison.Ordinal);
        await embeddings.Fail(400, count: 1);
        error = await Assert.ThrowsAsync<IngestionException>(() => generator.GenerateAsync(["bad request"]));
        Assert.Contains("answered 400", error.Message, StringComparison.Ordinal);
        Assert.False(time.HasPendingDelay);
    }

    /// <summary>A <see cref="FakeTimeProvider"/> that reports each delay a retry waits for (not the timeouts').</summary>
    private sealed class ObservedTimeProvider : FakeTimeProvider
    {
        private readonly Channel<TimeSpan> delays = Channel.CreateUnbounded<TimeSpan>();

        public bool HasPendingDelay => delays.Reader.Count > 0;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = base.CreateTimer(callback, state, dueTime, period);
            if (dueTime != Timeout.InfiniteTimeSpan && dueTime < TimeSpan.FromSeconds(600))
            {
                delays.Writer.TryWrite(dueTime);
            }

            return timer;
        }

        /// <summary>The next retry delay, once the generator has started waiting for it (after a real HTTP round trip).</summary>
        public async Task<TimeSpan> NextDelay() => await delays.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromMinutes(1));
    }

    [SkippableFact]
    [Trait("Category", "Slow")]
    public async Task WrongDimensionsFromTheEndpointAre400()
    {
        Prerequisites.Require(Need.Node);
        await using var embeddings = await EmbeddingsServer.StartAsync(output);
        await using var server = await TestServer.StartAsync();
        // The model makes 512 dimensions; the declared vector has 384 and `dimensions` is not set.
        (await server.Put("/collections/narrow", $$$"""
            {"vectors": {"dense": {"size": 384, "distance": "Cosine"}},
             "embedding": {"dense": {"provider": "openai", "base_url": "{{{embeddings.Url}}}/v1", "model": "use-lite"} } }
            """)).AssertOk();
        (await server.Post("/collections/narrow/documents", """{"documents": [{"text": "hello"}]}"""))
            .AssertError(400, "the `openai` provider returned 512-dimensional vectors but vector `dense` has size 384");
    }
}

/// <summary>tests/embeddings-server as a child process (installed with <c>npm ci</c> on first use, like the JS client).</summary>
public sealed class EmbeddingsServer : IAsyncDisposable
{
    private static readonly SemaphoreSlim InstallLock = new(1, 1);
    private readonly Process process;
    private readonly HttpClient client;

    private EmbeddingsServer(Process process, string url)
    {
        this.process = process;
        Url = url;
        client = new HttpClient { BaseAddress = new Uri(url) };
    }

    public string Url { get; }

    /// <summary>Starts the server (callers are [SkippableFact]s: without node and npm the test skips, or fails in CI).</summary>
    public static async Task<EmbeddingsServer> StartAsync(ITestOutputHelper output)
    {
        Prerequisites.Require(Need.Node);
        var folder = Path.Combine(VectorizerProcess.RepositoryRoot(), "tests", "embeddings-server");
        await InstallLock.WaitAsync();
        try
        {
            if (!File.Exists(Path.Combine(folder, "node_modules", "@energetic-ai", "embeddings", "package.json")))
            {
                using var npm = Process.Start(new ProcessStartInfo("npm", "ci --no-audit --no-fund") { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true })!;
                var log = npm.StandardOutput.ReadToEndAsync();
                var errors = npm.StandardError.ReadToEndAsync();
                await npm.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(5));
                Assert.True(npm.ExitCode == 0, "npm ci failed:\n" + await log + await errors);
            }
        }
        finally
        {
            InstallLock.Release();
        }

        // The model's WebAssembly backend sometimes loses a start-up race in the package (`Backend 'wasm' has not yet
        // been initialized`) and node exits before listening: that is the test server's problem, so start it again.
        for (var attempt = 1; ; attempt++)
        {
            var start = new ProcessStartInfo("node", "server.mjs") { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true };
            start.Environment["TMPDIR"] = TestPaths.Root;
            var process = Process.Start(start)!;
            process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is not null)
                {
                    output.WriteLine("embeddings-server: " + e.Data);
                }
            };
            process.BeginErrorReadLine();
            var line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromMinutes(2));
            if (line is not null && line.StartsWith("listening ", StringComparison.Ordinal))
            {
                return new EmbeddingsServer(process, "http://127.0.0.1:" + line["listening ".Length..].Trim());
            }

            process.Kill();
            process.Dispose();
            if (line is not null || attempt == 3)
            {
                throw new InvalidOperationException($"the embeddings server did not start (attempt {attempt}): {line}");
            }
        }
    }

    public async Task<JsonElement> Stats() =>
        JsonDocument.Parse(await client.GetStringAsync("/stats")).RootElement.Clone();

    /// <summary>The next <paramref name="count"/> embedding requests answer <paramref name="status"/>.</summary>
    public async Task Fail(int status, int count, int? retryAfter = null)
    {
        var body = retryAfter is { } seconds
            ? $$"""{"status": {{status}}, "count": {{count}}, "retry_after": {{seconds}}}"""
            : $$"""{"status": {{status}}, "count": {{count}}}""";
        using var response = await client.PostAsync("/fail", new StringContent(body));
        response.EnsureSuccessStatusCode();
    }

    public async ValueTask DisposeAsync()
    {
        client.Dispose();
        if (!process.HasExited)
        {
            process.Kill();
            await process.WaitForExitAsync();
        }

        process.Dispose();
    }
}
