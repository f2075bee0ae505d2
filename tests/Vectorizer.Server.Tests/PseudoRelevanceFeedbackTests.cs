using Microsoft.Extensions.Logging.Abstractions;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Filters;
using Vectorizer.Engine.Payload;
using Vectorizer.Ingestion;
using Vectorizer.Ingestion.Embeddings;
using Vectorizer.Ingestion.Files;

namespace Vectorizer.Server.Tests;

/// <summary>
/// Pseudo-relevance feedback (<see cref="PseudoRelevanceFeedback"/>, on by default): a hybrid search of a collection
/// with page vectors runs a second dense pass with the Rocchio query of its top documents; every other search runs as
/// before. Real engine and indexer, dense <c>hash</c> (the model adds nothing to what is tested here).
/// </summary>
public sealed class PseudoRelevanceFeedbackTests : IDisposable
{
    private readonly string root = TestPaths.NewDirectory("prf-");
    private readonly string dataDir = TestServer.NewDataDir();
    private readonly CollectionManager manager;

    public PseudoRelevanceFeedbackTests()
    {
        manager = CollectionManager.Open(new EngineOptions { DataDir = dataDir }, NullLoggerFactory.Instance);
    }

    public void Dispose()
    {
        manager.Dispose();
        TestServer.TryDelete(root);
        TestServer.TryDelete(dataDir);
    }

    private static string Page(string command, string summary) =>
        $"{command}(1)\n============\n\nNAME\n----\n{command} - {summary}\n\nDESCRIPTION\n-----------\n" +
        string.Join("\n\n", Enumerable.Range(0, 30).Select(i => $"Paragraph {i} of {command} about changes, the index and the working tree, and how {summary.ToLowerInvariant()}."));

    private async Task<Collection> IndexAsync(IngestionService ingestion, string collection, EmbeddingConfig embedding)
    {
        var files = new[]
        {
            ("git-stash.txt", Page("git-stash", "Stash the changes in a dirty working directory away")),
            ("git-commit.txt", Page("git-commit", "Record changes to the repository")),
            ("git-reset.txt", Page("git-reset", "Reset current HEAD to the specified state")),
            ("git-restore.txt", Page("git-restore", "Restore working tree files")),
            ("git-tag.txt", Page("git-tag", "Create, list, delete or verify a tag object")),
        }.Select(f =>
        {
            var path = Path.Combine(root, f.Item1);
            File.WriteAllText(path, f.Item2);
            return path;
        }).ToList();
        var indexer = new FileIndexer(manager, ingestion, new FileIndexerOptions { Roots = [root], DefaultCollection = collection, NewCollectionEmbedding = embedding }, NullLogger.Instance);
        Assert.All((await indexer.IndexFilesAsync(files, CancellationToken.None)).Files, f => Assert.Equal(FileOutcome.Indexed, f.Outcome));
        return manager.Get(collection);
    }

    [Fact]
    public async Task HybridSearchWithPagesRunsAFeedbackPassAndNoOtherSearchDoes()
    {
        using var ingestion = new IngestionService(dataDir, NullLoggerFactory.Instance);
        var pages = await IndexAsync(ingestion, "pages", FileIndexerOptions.LexicalEmbedding with { Page = new PageVectorConfig() });

        var hybrid = await ingestion.SearchTextAsync(pages, new TextSearchRequest { Query = "record changes", Limit = 4 }, null, CancellationToken.None);
        Assert.Equal(PseudoRelevanceFeedback.Default.Documents, hybrid.FeedbackDocuments); // 3 of the 5 documents gave their best chunk
        Assert.Equal(4, hybrid.Points.Count);
        Assert.Equal(4, hybrid.Points.Select(p => p.Payload!.Root.GetProperty("file_path").GetString()).Distinct().Count());
        Assert.All(hybrid.Points, p => Assert.Null(p.Vectors)); // the feedback's vectors are not returned
        Assert.Equal(hybrid.Points.Select(p => p.Score).OrderByDescending(s => s), hybrid.Points.Select(p => p.Score));

        // With a filter, feedback reads only what the filter lets through.
        var filtered = await ingestion.SearchTextAsync(pages, new TextSearchRequest
        {
            Query = "record changes",
            Filter = new Filter { Must = [new FieldCondition(JsonPath.Parse("file_path")) { Match = new MatchCondition { Kind = MatchKind.Value, Value = MatchValue.Of("git-reset.txt") } }] },
        }, null, CancellationToken.None);
        Assert.Equal(1, filtered.FeedbackDocuments);
        Assert.Equal(["git-reset.txt"], filtered.Points.Select(p => p.Payload!.Root.GetProperty("file_path").GetString()).Distinct());

        // Dense, sparse, every chunk (max_per_document 0): no feedback pass.
        foreach (var request in new[]
        {
            new TextSearchRequest { Query = "record changes", Mode = TextSearchMode.Dense },
            new TextSearchRequest { Query = "record changes", Mode = TextSearchMode.Sparse },
            new TextSearchRequest { Query = "record changes", MaxPerDocument = 0 },
        })
        {
            var result = await ingestion.SearchTextAsync(pages, request, null, CancellationToken.None);
            Assert.NotEmpty(result.Points);
            Assert.Null(result.FeedbackDocuments);
        }

        // A collection without page vectors (a configured `embedding:` section): hybrid as before, no feedback pass.
        var plain = await IndexAsync(ingestion, "plain", FileIndexerOptions.LexicalEmbedding);
        var before = await ingestion.SearchTextAsync(plain, new TextSearchRequest { Query = "record changes" }, null, CancellationToken.None);
        Assert.NotEmpty(before.Points);
        Assert.Null(before.FeedbackDocuments);
    }

    [Fact]
    public async Task FeedbackOffSearchesWithTheQueryAloneAndBetaZeroRanksAsOff()
    {
        using var off = new IngestionService(dataDir, NullLoggerFactory.Instance, options: new IngestionOptions { Feedback = null });
        using var zero = new IngestionService(dataDir, NullLoggerFactory.Instance, options: new IngestionOptions { Feedback = new PseudoRelevanceFeedback(3, 0f, FeedbackSource.Chunk) });
        var pages = await IndexAsync(off, "pages", FileIndexerOptions.LexicalEmbedding with { Page = new PageVectorConfig() });

        var request = new TextSearchRequest { Query = "undo my changes to the working tree", Limit = 5 };
        var withoutFeedback = await off.SearchTextAsync(pages, request, null, CancellationToken.None);
        var withZeroWeight = await zero.SearchTextAsync(pages, request, null, CancellationToken.None);
        Assert.Null(withoutFeedback.FeedbackDocuments);
        Assert.Equal(3, withZeroWeight.FeedbackDocuments);

        // beta = 0: the second pass searches with the query itself, so the answer is the one without feedback.
        Assert.Equal(withoutFeedback.Points.Select(p => (p.Id, p.Score)), withZeroWeight.Points.Select(p => (p.Id, p.Score)));
    }

    [Fact]
    public void RocchiosQueryIsTheNormalisedSumAndBadSettingsAreRefused()
    {
        var expanded = IngestionService.Rocchio([1f, 0f], [0f, 1f], 0.75f);
        Assert.Equal(1 / MathF.Sqrt(1.5625f), expanded[0], 5);
        Assert.Equal(0.75f / MathF.Sqrt(1.5625f), expanded[1], 5);

        Assert.Throws<ArgumentOutOfRangeException>(() => new PseudoRelevanceFeedback(0, 0.5f, FeedbackSource.Chunk));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PseudoRelevanceFeedback(3, -0.1f, FeedbackSource.Chunk));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PseudoRelevanceFeedback(3, float.NaN, FeedbackSource.Page));
    }
}
