using System.Globalization;
using System.Text.Json;
using Xunit.Abstractions;

namespace Vectorizer.Server.Tests;

/// <summary>
/// <c>embedding.max_cost</c> against a paid-style provider (tests/embeddings-server, OpenAI-compatible, with a price per
/// 1k tokens): per run of <c>vectorizer index</c> (stops cleanly with a checkpoint that carries the run's tokens and
/// cost, resumes under the same cap) and per day in the server (refused with 429 before anything is written; the day's
/// totals in <c>/api/status</c>, kept across a restart).
/// </summary>
[Trait("Category", "Slow")]
public sealed class EmbeddingBudgetTests(ITestOutputHelper output) : IDisposable
{
    private readonly string work = TestPaths.NewPath("budget-");

    public void Dispose() => TestServer.TryDelete(work);

    /// <summary>A note of about 45 words (a third of them unique to it, so no two notes embed alike).</summary>
    private static string Note(int i) =>
        $"# Note {i}\n\nThis is note number {i} about topic {i * 7919 % 1000} in the archive. It records what was decided on day {i}, " +
        $"who was there and why the team chose option {i % 5} over the others after a long discussion of costs and risks {i * 31}.\n";

    /// <summary>A note of about ten words, cheap to embed on a busy machine.</summary>
    private static string ShortNote(int i) => $"Note {i}: topic {i * 7919 % 1000} was decided on day {i}.\n";

    [SkippableFact]
    public async Task AnIndexRunStopsAtItsCapAndResumesWithItsSpendingCarriedOver()
    {
        await using var embeddings = await EmbeddingsServer.StartAsync(output);
        var corpus = Directory.CreateDirectory(Path.Combine(work, "notes")).FullName;
        for (var i = 0; i < 64; i++)
        {
            File.WriteAllText(Path.Combine(corpus, $"note{i:D2}.txt"), ShortNote(i));
        }

        var dataDir = Path.Combine(work, "data");
        string[] Arguments(double maxCost) =>
        [
            "index", corpus, "--collection", "notes", "--data-dir", dataDir, "--plain", "--checkpoint-every", "1",
            "--provider", "openai", "--base-url", embeddings.Url + "/v1", "--model", "use-lite", "--dimensions", "512", "--cost-per-1k-tokens", "5",
            "--max-cost", maxCost.ToString(CultureInfo.InvariantCulture),
        ];

        // 32 files a batch, about $3.6 of estimated tokens (about 22 a file, the note and its title line as the chunk's
        // context, at $5 per 1k; less really spent, the server counts words): the first batch fits under $5, the
        // second would not.
        var (code, text) = await VectorizerProcess.RunLongAsync(TimeSpan.FromMinutes(5), Arguments(5));
        output.WriteLine(text);
        Assert.True(code == 3, text);
        Assert.Contains("Stopped: the next batch", text, StringComparison.Ordinal);
        Assert.Contains("over the limit of $5.0000", text, StringComparison.Ordinal);
        Assert.Equal(32, IndexCommandTests.Summary(text, "files indexed"));
        var firstTokens = IndexCommandTests.Summary(text, "tokens");
        var firstCost = IndexCommandTests.SummaryValue(text, "cost");
        Assert.True(firstTokens > 0 && firstCost is > 0 and <= 5, text);

        var checkpointPath = Path.Combine(dataDir, "collections", "notes", "ingest", "index-checkpoint.json");
        using (var checkpoint = JsonDocument.Parse(File.ReadAllBytes(checkpointPath)))
        {
            Assert.Equal(firstTokens, checkpoint.RootElement.GetProperty("tokens").GetInt64());
            Assert.Equal(firstCost, checkpoint.RootElement.GetProperty("cost").GetDouble(), 4);
            Assert.Equal(32, checkpoint.RootElement.GetProperty("completed").GetArrayLength());
        }

        var requests = (await embeddings.Stats()).GetProperty("embedding_requests").GetInt32();

        // The same cap again: the run's spending is carried over, so it stops before sending anything.
        (code, text) = await VectorizerProcess.RunLongAsync(TimeSpan.FromMinutes(5), Arguments(5));
        Assert.True(code == 3, text);
        Assert.Equal(32, IndexCommandTests.Summary(text, "files resumed"));
        Assert.Equal(0, IndexCommandTests.Summary(text, "files indexed"));
        Assert.Equal(firstTokens, IndexCommandTests.Summary(text, "tokens"));
        Assert.Equal(requests, (await embeddings.Stats()).GetProperty("embedding_requests").GetInt32());

        // A higher cap: the run finishes the rest; its totals are the whole run's.
        (code, text) = await VectorizerProcess.RunLongAsync(TimeSpan.FromMinutes(5), Arguments(20));
        output.WriteLine(text);
        Assert.True(code == 0, text);
        Assert.Equal(32, IndexCommandTests.Summary(text, "files resumed"));
        Assert.Equal(32, IndexCommandTests.Summary(text, "files indexed"));
        Assert.True(IndexCommandTests.Summary(text, "tokens") > firstTokens, text);
        Assert.True(IndexCommandTests.SummaryValue(text, "cost") <= 20, text);
        Assert.False(File.Exists(checkpointPath));

        await using var server = await TestServer.StartAsync(dataDir: dataDir);
        Assert.Equal(64, (await server.Post("/collections/notes/points/count", "{}")).AssertOk().Result.GetProperty("count").GetInt32());
    }

    [SkippableFact]
    public async Task TheServerKeepsDailyTotalsAndRefusesPastItsDailyCap()
    {
        await using var embeddings = await EmbeddingsServer.StartAsync(output);
        var dataDir = Path.Combine(work, "server-data");
        void Configure(Configuration.VectorizerSettings s) => s.Embedding.MaxCost = 0.05;
        var collection = JsonSerializer.Serialize(new
        {
            embedding = new { dense = new { provider = "openai", base_url = embeddings.Url + "/v1", model = "use-lite", dimensions = 512, cost_per_1k_tokens = 1 } },
        });
        double spent;
        await using (var server = await TestServer.StartAsync(Configure, dataDir))
        {
            (await server.Put("/collections/docs", collection)).AssertOk();
            (await server.Post("/collections/docs/documents?wait=true", """{"documents": [{"id": 1, "text": "The cat sleeps on the warm windowsill all afternoon."}]}""")).AssertOk();
            var today = (await server.Get("/api/status")).Body.GetProperty("embedding");
            Assert.Equal(DateTime.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), today.GetProperty("day").GetString());
            Assert.True(today.GetProperty("tokens").GetInt64() > 0);
            spent = today.GetProperty("cost").GetDouble();
            Assert.True(spent > 0);
            Assert.Equal(0.05, today.GetProperty("max_cost_per_day").GetDouble());

            // A batch that would pass the day's cap: 429, nothing sent, nothing written.
            var big = JsonSerializer.Serialize(new { documents = Enumerable.Range(10, 20).Select(i => new { id = i, text = Note(i) }) });
            var before = (await embeddings.Stats()).GetProperty("embedding_requests").GetInt32();
            (await server.Post("/collections/docs/documents?wait=true", big)).AssertError(429, "over the daily limit of $0.0500");
            Assert.Equal(before, (await embeddings.Stats()).GetProperty("embedding_requests").GetInt32());
            Assert.Equal(1, (await server.Post("/collections/docs/points/count", "{}")).AssertOk().Result.GetProperty("count").GetInt32());

            // Searches are never refused by the cap (they are counted).
            (await server.Post("/collections/docs/search/text", """{"query": "where does the cat sleep"}""")).AssertOk();
        }

        // A restart keeps the day's totals.
        await using (var again = await TestServer.StartAsync(Configure, dataDir))
        {
            var today = (await again.Get("/api/status")).Body.GetProperty("embedding");
            Assert.True(today.GetProperty("cost").GetDouble() >= spent);
        }
    }
}
