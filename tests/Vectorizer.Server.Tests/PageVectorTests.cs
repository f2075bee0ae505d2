using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Filters;
using Vectorizer.Engine.Payload;
using Vectorizer.Ingestion;
using Vectorizer.Ingestion.Chunking;
using Vectorizer.Ingestion.Embeddings;
using Vectorizer.Ingestion.Files;

namespace Vectorizer.Server.Tests;

/// <summary>
/// Page vectors (<see cref="PageVectorConfig"/>): one extra point per indexed prose file, with the file's identity
/// fields, so hash-skip, re-indexing and deletion treat it as they treat the file's chunks; hybrid text search fuses it
/// per document; a collection without page vectors searches exactly as before. Real engine and indexer, dense
/// <c>hash</c> (the model adds nothing to what is tested here).
/// </summary>
public sealed class PageVectorTests : IDisposable
{
    private static readonly EmbeddingConfig WithPages = FileIndexerOptions.LexicalEmbedding with { Page = new PageVectorConfig() };

    private readonly string root = TestPaths.NewDirectory("pages-");
    private readonly string dataDir = TestServer.NewDataDir();
    private readonly CollectionManager manager;
    private readonly IngestionService ingestion;

    public PageVectorTests()
    {
        manager = CollectionManager.Open(new EngineOptions { DataDir = dataDir }, NullLoggerFactory.Instance);
        ingestion = new IngestionService(dataDir, NullLoggerFactory.Instance);
    }

    public void Dispose()
    {
        ingestion.Dispose();
        manager.Dispose();
        TestServer.TryDelete(root);
        TestServer.TryDelete(dataDir);
    }

    private FileIndexer Indexer(string collection, EmbeddingConfig embedding) =>
        new(manager, ingestion, new FileIndexerOptions { Roots = [root], DefaultCollection = collection, NewCollectionEmbedding = embedding }, NullLogger.Instance);

    private string Write(string name, string text)
    {
        var path = Path.Combine(root, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static List<PointRecord> Pages(Collection collection) =>
        [.. collection.Scroll(new ScrollRequest
        {
            Limit = 1000,
            WithVector = VectorSelector.All,
            Filter = new Filter { Must = [new FieldCondition(JsonPath.Parse(IngestionService.PointKindKey)) { Match = new MatchCondition { Kind = MatchKind.Value, Value = MatchValue.Of(IngestionService.PagePointKind) } }] },
        }).Points];

    private static string Field(PointRecord point, string name) => Field(point.Payload, name);

    private static string Field(ScoredPoint point, string name) => Field(point.Payload, name);

    private static string Field(PointPayload? payload, string name) => payload!.Root.GetProperty(name).GetString()!;

    private static string Stash(string summary) =>
        $"git-stash(1)\n============\n\nNAME\n----\ngit-stash - {summary}\n\nDESCRIPTION\n-----------\n" + string.Join("\n\n", Enumerable.Range(0, 30).Select(i => $"Paragraph {i} about saving work in progress, the index and the working tree, and restoring it later."));

    [Fact]
    public async Task AFilesPageIsWrittenWithItsChunksReplacedOnReindexAndRemovedWithTheFile()
    {
        var indexer = Indexer("docs", WithPages);
        var path = Write("git-stash.txt", Stash("Stash the changes in a dirty working directory away"));
        Write("main.py", "def main():\n    return 1\n");
        Assert.All((await indexer.IndexFilesAsync([path, Path.Combine(root, "main.py")], CancellationToken.None)).Files, f => Assert.Equal(FileOutcome.Indexed, f.Outcome));

        var collection = manager.Get("docs");
        Assert.True(collection.Config.Vectors.ContainsKey(PageVectorConfig.DefaultVector));
        var page = Assert.Single(Pages(collection)); // code (main.py) has no outline: no page
        Assert.Equal(FileIndexer.PageId(root, "git-stash.txt"), page.Id);
        Assert.Equal("git-stash(1): git-stash - Stash the changes in a dirty working directory away", Field(page, "content"));
        Assert.Equal("git-stash.txt", Field(page, "file_path"));
        Assert.Equal(root, Field(page, FileIndexer.WatchRootKey));
        Assert.Equal([PageVectorConfig.DefaultVector], page.Vectors!.Keys); // no chunk vector, no sparse vector
        Assert.False(page.Payload!.Root.TryGetProperty("chunk_index", out _));
        var chunks = collection.Count(null) - 2; // the page and main.py's one chunk
        Assert.True(chunks >= 2, $"git-stash.txt has {chunks} chunks");

        // Unchanged: hash-skip counts the page with the chunks.
        Assert.Equal(FileOutcome.Unchanged, (await indexer.IndexFileAsync(path, CancellationToken.None)).Outcome);

        // A new version replaces the page in place (same id, new hash and text); nothing of the old version is left.
        var changed = Stash("Put aside the changes of a dirty working directory");
        Write("git-stash.txt", changed);
        Assert.Equal(FileOutcome.Indexed, (await indexer.IndexFileAsync(path, CancellationToken.None)).Outcome);
        page = Assert.Single(Pages(collection));
        Assert.Equal(FileIndexer.PageId(root, "git-stash.txt"), page.Id);
        Assert.Equal("git-stash(1): git-stash - Put aside the changes of a dirty working directory", Field(page, "content"));
        Assert.Equal(Hashes.Sha256Hex(changed), Field(page, "file_hash"));
        Assert.Equal(0, collection.Count(new Filter { MustNot = [new FieldCondition(JsonPath.Parse("file_hash")) { Match = new MatchCondition { Kind = MatchKind.Value, Value = MatchValue.Of(Hashes.Sha256Hex(changed)) } }], Must = [new FieldCondition(JsonPath.Parse("file_path")) { Match = new MatchCondition { Kind = MatchKind.Value, Value = MatchValue.Of("git-stash.txt") } }] }));

        // Deleted: the page goes with the chunks.
        File.Delete(path);
        Assert.Equal(FileOutcome.Removed, (await indexer.IndexFileAsync(path, CancellationToken.None)).Outcome);
        Assert.Empty(Pages(collection));
        Assert.Equal(1, collection.Count(null));
    }

    [Fact]
    public async Task HybridSearchFusesPagesPerDocumentAndNeverReturnsAPagePoint()
    {
        var indexer = Indexer("docs", WithPages);
        var files = new[]
        {
            Write("git-stash.txt", Stash("Stash the changes in a dirty working directory away")),
            Write("git-commit.txt", Stash("Record changes to the repository").Replace("git-stash", "git-commit", StringComparison.Ordinal)),
            Write("git-reset.txt", Stash("Reset current HEAD to the specified state").Replace("git-stash", "git-reset", StringComparison.Ordinal)),
        };
        await indexer.IndexFilesAsync(files, CancellationToken.None);
        var collection = manager.Get("docs");

        foreach (var mode in new[] { TextSearchMode.Hybrid, TextSearchMode.Dense, TextSearchMode.Sparse })
        {
            foreach (var perDocument in new[] { 0, 1, 2 })
            {
                var points = await ingestion.SearchTextAsync(collection, new TextSearchRequest { Query = "changes of the working tree", Mode = mode, Limit = 10, MaxPerDocument = perDocument }, CancellationToken.None);
                Assert.NotEmpty(points);
                Assert.All(points, p => Assert.True(p.Payload!.Root.TryGetProperty("chunk_index", out _), $"{mode}: a point that is no chunk"));
                if (perDocument > 0)
                {
                    Assert.All(points.GroupBy(p => Field(p, "file_path")), g => Assert.True(g.Count() <= perDocument, $"{mode}: {g.Count()} chunks of {g.Key}"));
                }

                Assert.Equal(points.Select(p => p.Score).OrderByDescending(s => s), points.Select(p => p.Score));
            }
        }

        // "record" is only in git-commit's summary line (its page, and the header of each of its chunks).
        var top = await ingestion.SearchTextAsync(collection, new TextSearchRequest { Query = "record changes", Limit = 3 }, CancellationToken.None);
        Assert.Equal("git-commit.txt", Field(top[0], "file_path"));
        Assert.Equal(3, top.Count);

        // A filter keeps its meaning: pages of other files never bring them in.
        var filtered = await ingestion.SearchTextAsync(collection, new TextSearchRequest
        {
            Query = "record changes",
            Filter = new Filter { Must = [new FieldCondition(JsonPath.Parse("file_path")) { Match = new MatchCondition { Kind = MatchKind.Value, Value = MatchValue.Of("git-reset.txt") } }] },
        }, CancellationToken.None);
        Assert.Equal(["git-reset.txt"], filtered.Select(p => Field(p, "file_path")).Distinct());

        // Offset pages through the same ranking.
        var second = await ingestion.SearchTextAsync(collection, new TextSearchRequest { Query = "record changes", Limit = 2, Offset = 1 }, CancellationToken.None);
        Assert.Equal(top.Skip(1).Select(p => p.Id), second.Select(p => p.Id));
    }

    [Fact]
    public async Task TheHealthCheckTakesPagePointsForWhatTheyAreAndRemovesAnOrphanedOne()
    {
        var indexer = Indexer("docs", WithPages);
        var files = new[] { Write("git-stash.txt", Stash("Stash the changes in a dirty working directory away")), Write("notes.md", "# Notes\n\nA short note.\n") };
        await indexer.IndexFilesAsync(files, CancellationToken.None);
        var health = new Vectorizer.Ingestion.Health.HealthCheckService(ingestion);
        var report = await health.RunAsync(manager, new Vectorizer.Ingestion.Health.HealthCheckRequest { Collection = "docs", Root = root }, CancellationToken.None);
        Assert.True(report.Status == Vectorizer.Ingestion.Health.HealthStatus.Pass, string.Join("; ", report.Collections.Select(c => c.Message)));

        // A file deleted while nobody watched: the fix removes its page with its chunks.
        File.Delete(files[1]);
        report = await health.RunAsync(manager, new Vectorizer.Ingestion.Health.HealthCheckRequest { Collection = "docs", Root = root, Fix = true }, CancellationToken.None);
        Assert.True(report.Status == Vectorizer.Ingestion.Health.HealthStatus.Pass, string.Join("; ", report.Collections.Select(c => c.Message)));
        Assert.Equal(["git-stash.txt"], Pages(manager.Get("docs")).Select(p => Field(p, "file_path")));
    }

    [Fact]
    public async Task ACollectionWithoutPageVectorsSearchesAsBefore()
    {
        var indexer = Indexer("plain", FileIndexerOptions.LexicalEmbedding);
        var files = Enumerable.Range(0, 6).Select(i => Write($"page{i}.md", $"# Page {i}\n\nAbout topic {i} and changes.\n\n" + string.Join("\n\n", Enumerable.Range(0, 20).Select(j => $"Section {j} of page {i} on changes, commits and branches number {i * j}.")))).ToList();
        await indexer.IndexFilesAsync(files, CancellationToken.None);
        var collection = manager.Get("plain");
        Assert.False(collection.Config.Vectors.ContainsKey(PageVectorConfig.DefaultVector));
        Assert.Empty(Pages(collection));

        // One chunk per document: the engine's chunk-level hybrid ranking (RRF k = 60), each document at its best chunk.
        var every = await ingestion.SearchTextAsync(collection, new TextSearchRequest { Query = "changes on page 3", Limit = 200, MaxPerDocument = 0 }, CancellationToken.None);
        var grouped = await ingestion.SearchTextAsync(collection, new TextSearchRequest { Query = "changes on page 3", Limit = 5 }, CancellationToken.None);
        var expected = every.GroupBy(p => Field(p, "file_path")).Select(g => g.First()).Take(5).ToList();
        Assert.Equal(expected.Select(p => (p.Id, p.Score)), grouped.Select(p => (p.Id, p.Score)));
    }
}
