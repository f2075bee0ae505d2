using System.Diagnostics;
using Vectorizer.Bench;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Operations;
using Vectorizer.Engine.Points;
using Vectorizer.Engine.Vectors;
using Xunit.Abstractions;

namespace Vectorizer.Engine.Tests;

/// <summary>
/// HNSW recall against exact search on real data (subsets of the benchmark datasets), at the default settings:
/// m=16, ef_construct=100, hnsw_ef = max(limit, ef_search default).
/// </summary>
public class RecallTests(ITestOutputHelper output)
{
    private const int BaseVectors = 20_000;
    private const int Queries = 200;

    /// <summary>The dataset folder (prepared by <c>scripts/datasets/prepare.sh</c>; the test skips, or fails in CI, without it).</summary>
    public static string Dataset(string name)
    {
        Prerequisites.Require(Need.Datasets);
        return Path.Combine(Texmex.CacheDirectory(), name);
    }

    [SkippableTheory]
    [Trait("Category", "Slow")]
    [InlineData("glove-100-angular", Distance.Cosine)]
    [InlineData("fashion-mnist-784-euclidean", Distance.Euclid)]
    public async Task HnswRecallAt10IsAtLeast095OnRealData(string dataset, Distance distance)
    {
        var folder = Dataset(dataset);
        var (data, rows, dim) = Texmex.ReadFvecs(Path.Combine(folder, "base.fvecs"), BaseVectors);
        var (queries, queryCount, _) = Texmex.ReadFvecs(Path.Combine(folder, "query.fvecs"), Queries);

        using var dir = new TempDirectory();
        using var manager = TestData.Open(dir.Path);
        var collection = manager.Create("recall", TestData.Config(dim, distance, fullScanThreshold: 0, indexingThreshold: 1));
        var stopwatch = Stopwatch.StartNew();
        for (var start = 0; start < rows; start += 1000)
        {
            var points = new List<PointStruct>(1000);
            for (var i = start; i < Math.Min(rows, start + 1000); i++)
            {
                points.Add(new PointStruct(PointId.FromNumber((ulong)i), new Dictionary<string, float[]> { [""] = data.AsSpan(i * dim, dim).ToArray() }, null));
            }

            await collection.UpdateAsync(new UpsertOperation(points), wait: false);
        }

        await collection.WaitForIndexingAsync(TimeSpan.FromMinutes(5));
        var buildSeconds = stopwatch.Elapsed.TotalSeconds;

        long hits = 0;
        var searchTime = TimeSpan.Zero;
        for (var q = 0; q < queryCount; q++)
        {
            var vector = queries.AsSpan(q * dim, dim).ToArray();
            var exact = collection.Query(new QueryRequest { Query = new DenseVectorQuery(vector), Limit = 10, Exact = true }).Select(p => p.Id).ToHashSet();
            stopwatch.Restart();
            var approximate = collection.Query(new QueryRequest { Query = new DenseVectorQuery(vector), Limit = 10 });
            searchTime += stopwatch.Elapsed;
            hits += approximate.Count(p => exact.Contains(p.Id));
        }

        var recall = hits / (10.0 * queryCount);
        output.WriteLine($"{dataset}: {rows} x {dim}, build {buildSeconds:F1}s, recall@10 {recall:F4}, {queryCount / searchTime.TotalSeconds:F0} QPS (through Collection.Query, 1 thread, Debug build)");
        Assert.Equal(rows, collection.GetInfo().IndexedVectorsCount);
        Assert.True(recall >= 0.95, $"recall@10 {recall:F4} < 0.95");
    }
}
