using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Collections.Queries;
using Vectorizer.Engine.Index;
using Vectorizer.Engine.Operations;
using Vectorizer.Engine.Payload;
using Vectorizer.Engine.Points;
using Vectorizer.Engine.Vectors;

namespace Vectorizer.Engine.Tests;

/// <summary>
/// The filtered-search planner's cost model (<see cref="SearchPlanner"/>) and the two-hop walk it can choose
/// (<c>HnswGraph.SearchLayer0TwoHop</c>): the walk finds the filtered neighbours as well as the plain filtered walk,
/// and a collection answers filtered queries through it with only matching points.
/// </summary>
public sealed class FilteredPlanTests
{
    [Fact]
    public void BelowFullScanThresholdTheMatchesAreScoredExactly()
    {
        // Qdrant's rule first: 2,000 matches of 100-d (781 KB) under the default 10,000 KB.
        Assert.Equal(FilteredPlan.Exact, SearchPlanner.Choose(2_000, 331_000, 400, 32, 64, 10_000));
    }

    [Fact]
    public void LargeVectorsAtTenPercentWalkTheAcceptedNodesOnly()
    {
        // fashion-mnist: 6,000 of 60,000 match, 784-d: 18.8 MB to scan exactly, about 3.7 MB for the two-hop walk.
        Assert.Equal(FilteredPlan.GraphTwoHop, SearchPlanner.Choose(6_000, 60_000, 3136, 32, 64, 10_000));
    }

    [Fact]
    public void SmallVectorsWithFewMatchesAreCheaperToScanThanToWalk()
    {
        // glove over REST: 3,568 of 35,676 match, 100-d, threshold 0 (so only the cost model decides) at ef 256.
        Assert.Equal(FilteredPlan.Exact, SearchPlanner.Choose(3_568, 35_676, 400, 32, 256, 0));
    }

    [Fact]
    public void BelowOneOverM0TheTwoHopWalkIsNotUsed()
    {
        // 1 % of a million 784-d points: too sparse for two hops to stay connected; scanning 10,000 vectors beats a
        // plain walk that would score ~100 times an unfiltered walk's nodes.
        var plan = SearchPlanner.Choose(10_000, 1_000_000, 3136, 32, 64, 0);
        Assert.NotEqual(FilteredPlan.GraphTwoHop, plan);
        Assert.Equal(FilteredPlan.Exact, plan);
    }

    [Fact]
    public void LargeCollectionsWithBroadFiltersWalkTheGraph()
    {
        // Half of ten million points match: the walk (either kind) reads far less than a scan.
        Assert.NotEqual(FilteredPlan.Exact, SearchPlanner.Choose(5_000_000, 10_000_000, 512, 32, 128, 10_000));
    }

    [Fact]
    public async Task TwoHopWalkFindsTheFilteredNeighboursAsWellAsThePlainWalk()
    {
        const int dim = 16, points = 6000, k = 10, ef = 64;
        using var dir = new TempDirectory();
        using var manager = TestData.Open(dir.Path);
        var collection = manager.Create("walk", TestData.Config(dim, Distance.Euclid, fullScanThreshold: 0, indexingThreshold: 1));
        var random = new Random(5);
        var vectors = new float[points][];
        for (var start = 0; start < points; start += 1000)
        {
            var batch = new List<PointStruct>();
            for (var i = start; i < start + 1000; i++)
            {
                vectors[i] = TestData.RandomVector(random, dim);
                batch.Add(TestData.Point((ulong)i, vectors[i]));
            }

            await collection.UpdateAsync(new UpsertOperation(batch), wait: true);
        }

        await collection.WaitForIndexingAsync(TimeSpan.FromMinutes(2));
        var slot = collection.State.Slots[0];
        var graph = slot.Graph!;
        var context = new SearchContext();
        var buffer = new ScoredNode[k];
        foreach (var modulus in new[] { 10, 20 })
        {
            long plainHits = 0, twoHopHits = 0, expected = 0;
            for (var q = 0; q < 100; q++)
            {
                var query = TestData.RandomVector(random, dim);
                var accepted = new ulong[(points + 63) / 64];
                for (var offset = q % modulus; offset < points; offset += modulus)
                {
                    accepted[offset >> 6] |= 1UL << offset;
                }

                var filter = new BitmapFilter(accepted);
                var truth = Enumerable.Range(0, points).Where(filter.Accept)
                    .OrderBy(o => System.Numerics.Tensors.TensorPrimitives.Distance(query, slot.Store.Get(o))).Take(k).ToHashSet();
                expected += truth.Count;
                var found = Walk(graph, slot.Store, query, filter, k, ef, points, buffer, context, twoHop: false);
                plainHits += buffer.Take(found).Count(r => truth.Contains(r.Node));
                found = Walk(graph, slot.Store, query, filter, k, ef, points, buffer, context, twoHop: true);
                Assert.Equal(k, found);
                Assert.All(buffer.Take(found), r => Assert.True(filter.Accept(r.Node)));
                twoHopHits += buffer.Take(found).Count(r => truth.Contains(r.Node));
            }

            double plain = (double)plainHits / expected, twoHop = (double)twoHopHits / expected;
            Assert.True(twoHop >= 0.95, $"1/{modulus}: two-hop recall {twoHop:F3} (plain {plain:F3})");
            Assert.True(twoHop >= plain - 0.02, $"1/{modulus}: two-hop recall {twoHop:F3} below plain {plain:F3}");
        }
    }

    [Fact]
    public async Task CollectionAnswersThroughTheTwoHopWalkWithMatchingPointsOnly()
    {
        // 3,000 points of 32-d, m 4 (M0 = 8), a keyword index, 20 % per value, hnsw_ef 16: the model prefers the
        // two-hop walk (about 16 KB) to scoring the 600 matches (77 KB); full_scan_threshold 1 KB keeps Qdrant's rule out.
        const int dim = 32, points = 3000, groups = 5;
        Assert.Equal(FilteredPlan.GraphTwoHop, SearchPlanner.Choose(points / groups, points, dim * sizeof(float), 8, 16, 1));
        using var dir = new TempDirectory();
        using var manager = TestData.Open(dir.Path);
        var config = TestData.Config(dim, Distance.Euclid, fullScanThreshold: 1, indexingThreshold: 1);
        config = config with { Hnsw = config.Hnsw with { M = 4 } };
        var collection = manager.Create("plan", config);
        collection.CreatePayloadIndex("g", new PayloadFieldSchema(PayloadSchemaType.Keyword));
        var random = new Random(9);
        var groupOf = new Dictionary<ulong, string>();
        var batch = new List<PointStruct>();
        for (var i = 0; i < points; i++)
        {
            var group = "g" + (i % groups);
            groupOf[(ulong)i] = group;
            batch.Add(TestData.Point((ulong)i, TestData.RandomVector(random, dim), $$"""{"g": "{{group}}"}"""));
        }

        await collection.UpdateAsync(new UpsertOperation(batch), wait: true);
        await collection.WaitForIndexingAsync(TimeSpan.FromMinutes(5));
        for (var q = 0; q < 20; q++)
        {
            var group = "g" + (q % groups);
            var filter = new Filters.Filter { Must = [new Filters.FieldCondition(JsonPath.Parse("g")) { Match = new Filters.MatchCondition { Kind = Filters.MatchKind.Value, Value = Filters.MatchValue.Of(group) } }] };
            var result = collection.Query(new QueryRequest { Query = new DenseVectorQuery(TestData.RandomVector(random, dim)), Filter = filter, Limit = 10, HnswEf = 16 });
            Assert.Equal(10, result.Count);
            Assert.All(result, p => Assert.Equal(group, groupOf[p.Id.Number]));
        }
    }

    private static unsafe int Walk(HnswGraph graph, DenseVectorStore store, float[] query, BitmapFilter filter, int k, int ef, int nodeLimit, ScoredNode[] buffer, SearchContext context, bool twoHop)
    {
        fixed (float* pinned = query)
        {
            var scorer = new DenseScorer<EuclidMetric>(store, pinned);
            return graph.Search(ref scorer, ref filter, k, ef, nodeLimit, buffer, context, twoHop);
        }
    }

    private readonly struct BitmapFilter(ulong[] words) : INodeFilter
    {
        public bool Accept(int node) => (words[node >> 6] & (1UL << node)) != 0;
    }
}
