using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Index;
using Vectorizer.Engine.Operations;
using Vectorizer.Engine.Vectors;
using Vectorizer.Engine.Vectors.Quantization;

namespace Vectorizer.Engine.Tests;

/// <summary>
/// Layer 0 of the graph in node records shared with the vectors (or the quantized codes): the same bytes persisted,
/// the same graph built, the same answers, whichever records the links live in and while they move.
/// </summary>
public class NodeLayoutTests
{
    private static DenseVectorStore Store(int dim, int count, int linkSlots, int seed = 5)
    {
        var random = new Random(seed);
        var store = new DenseVectorStore(dim, linkSlots: linkSlots);
        for (var i = 0; i < count; i++)
        {
            var v = TestData.RandomVector(random, dim);
            MetricDispatch.Preprocess(Distance.Cosine, v);
            store.Append(v);
        }

        return store;
    }

    [Fact]
    public void VectorsInNodeRecordsPersistAsBareVectors()
    {
        const int dim = 37;
        var bare = Store(dim, 3000, 0);
        var fused = Store(dim, 3000, 32);
        Assert.Null(bare.Nodes);
        Assert.NotNull(fused.Nodes);
        Assert.Equal(bare.ChunkCapacity, fused.ChunkCapacity);
        Assert.Equal(dim * sizeof(float) + (33 * sizeof(int)), fused.RecordBytes);
        for (var i = 0; i < bare.Count; i++)
        {
            Assert.True(bare.Get(i).SequenceEqual(fused.Get(i)));
        }

        // The checkpoint form (bare vectors, chunk by chunk) is the same, and loads back into either layout.
        var chunks = (bare.Count + bare.ChunkCapacity - 1) / bare.ChunkCapacity;
        var reloaded = new DenseVectorStore(dim, linkSlots: 32);
        for (var c = 0; c < chunks; c++)
        {
            var n = Math.Min(bare.ChunkCapacity, bare.Count - (c * bare.ChunkCapacity));
            var bytes = fused.GetChunkBytes(c, n).ToArray();
            Assert.True(bare.GetChunkBytes(c, n).SequenceEqual(bytes));
            reloaded.AppendRaw(bytes);
        }

        Assert.Equal(bare.Count, reloaded.Count);
        Assert.True(bare.Get(bare.Count - 1).SequenceEqual(reloaded.Get(bare.Count - 1)));
    }

    private static unsafe void InsertAll(HnswGraph graph, DenseVectorStore store)
    {
        graph.EnsureCapacity(store.Count);
        var context = new SearchContext();
        for (var node = 0; node < store.Count; node++)
        {
            var scorer = new DenseScorer<DotMetric>(store, store.GetPointer(node));
            graph.Insert(ref scorer, node, store.Count, context);
        }
    }

    private static unsafe int[] Search(HnswGraph graph, DenseVectorStore store, float[] query, int k = 10, int ef = 64)
    {
        fixed (float* q = query)
        {
            var scorer = new DenseScorer<DotMetric>(store, q);
            var filter = default(AcceptAllFilter);
            var output = new ScoredNode[k];
            var found = graph.Search(ref scorer, ref filter, k, ef, store.Count, output, new SearchContext());
            return output.Take(found).Select(n => n.Node).ToArray();
        }
    }

    private static int[] Links(HnswGraph graph, int node)
    {
        var links = new int[graph.M0];
        return links[..graph.GetNeighbors(node, 0, links)];
    }

    [Fact]
    public void TheGraphIsTheSameWhereverLayerZeroLives()
    {
        const int dim = 24;
        var bare = Store(dim, 2000, 0);
        var fused = Store(dim, 2000, 32);
        var apart = new HnswGraph(16, 64);
        var inside = new HnswGraph(16, 64, layer0: fused.Nodes);
        Assert.Same(fused.Nodes, inside.Layer0);
        Assert.NotSame(fused.Nodes, apart.Layer0);
        InsertAll(apart, bare);
        InsertAll(inside, fused);
        for (var node = 0; node < bare.Count; node++)
        {
            Assert.Equal(Links(apart, node), Links(inside, node));
        }

        // Persisted alike, and a saved graph loads into the store's records.
        using var a = new MemoryStream();
        using var b = new MemoryStream();
        apart.Save(a, bare.Count);
        inside.Save(b, fused.Count);
        Assert.Equal(a.ToArray(), b.ToArray());
        var reloadedStore = Store(dim, 2000, 32);
        var (loaded, nodes) = HnswGraph.Load(b.ToArray(), reloadedStore.Nodes);
        Assert.Equal(fused.Count, nodes);
        Assert.Same(reloadedStore.Nodes, loaded.Layer0);
        var random = new Random(9);
        for (var q = 0; q < 20; q++)
        {
            var query = TestData.RandomVector(random, dim);
            MetricDispatch.Preprocess(Distance.Cosine, query);
            Assert.Equal(Search(apart, bare, query), Search(loaded, reloadedStore, query));
        }

        // A graph whose M needs more links than the records hold keeps its own.
        Assert.NotSame(fused.Nodes, new HnswGraph(32, 64, layer0: fused.Nodes).Layer0);
    }

    [Fact]
    public async Task LayerZeroMovesBetweenRecordsWhileSearchesRun()
    {
        const int dim = 32;
        var store = Store(dim, 3000, 32);
        var graph = new HnswGraph(16, 64, layer0: store.Nodes);
        InsertAll(graph, store);
        var codes = QuantizedVectors.Train(new QuantizationSettings(QuantizationKind.Scalar), Distance.Cosine, store, store.Count, graph.M0);
        codes.ExtendTo(store, store.Count);
        var random = new Random(4);
        var queries = Enumerable.Range(0, 50).Select(_ =>
        {
            var v = TestData.RandomVector(random, dim);
            MetricDispatch.Preprocess(Distance.Cosine, v);
            return v;
        }).ToArray();
        var expected = queries.Select(q => Search(graph, store, q)).ToArray();

        using var stop = new CancellationTokenSource();
        var searches = 0;
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var searcher = Task.Run(() =>
        {
            // At least one pass, however late a loaded machine schedules this task.
            do
            {
                for (var q = 0; q < queries.Length; q++)
                {
                    Assert.Equal(expected[q], Search(graph, store, queries[q]));
                    searches++;
                    started.TrySetResult();
                }
            }
            while (!stop.IsCancellationRequested);
        });
        await Task.WhenAny(started.Task, searcher); // the moves below run while searches do (a failed search ends the wait too)
        for (var round = 0; round < 20; round++)
        {
            Assert.True(graph.MoveLayer0(codes.Codes, store.Count));
            Assert.Same(codes.Codes, graph.Layer0);
            Assert.True(graph.MoveLayer0(null, store.Count));
            Assert.NotSame(store.Nodes, graph.Layer0);
            Assert.True(graph.MoveLayer0(store.Nodes, store.Count));
            Assert.Same(store.Nodes, graph.Layer0);
        }

        stop.Cancel();
        await searcher;
        Assert.True(searches > 0);

        // Links moved in are exactly the ones moved out; records too small are refused.
        Assert.True(graph.MoveLayer0(codes.Codes, store.Count));
        for (var q = 0; q < queries.Length; q++)
        {
            Assert.Equal(expected[q], Search(graph, store, queries[q]));
        }

        var tooSmall = QuantizedVectors.Train(new QuantizationSettings(QuantizationKind.Scalar), Distance.Cosine, store, store.Count, 8);
        tooSmall.ExtendTo(store, store.Count);
        Assert.False(graph.MoveLayer0(tooSmall.Codes, store.Count));
        Assert.Same(codes.Codes, graph.Layer0);
    }

    [Fact]
    public async Task QuantizedCodesHostTheLinksAndTheVectorsDoAgainWhenQuantizationGoes()
    {
        using var dir = new TempDirectory();
        const int dim = 24;
        var random = new Random(11);
        var vectors = Enumerable.Range(0, 3000).Select(_ => TestData.RandomVector(random, dim)).ToArray();
        var queries = Enumerable.Range(0, 30).Select(_ => TestData.RandomVector(random, dim)).ToArray();
        int[][] before;
        using (var manager = TestData.Open(dir.Path))
        {
            var collection = manager.Create("layout", TestData.Config(dim, fullScanThreshold: 0, indexingThreshold: 1));
            await collection.UpdateAsync(new UpsertOperation(vectors.Select((v, i) => TestData.Point((ulong)i, v)).ToList()), wait: true);
            await collection.WaitForIndexingAsync(TimeSpan.FromSeconds(60));
            var slot = collection.State.Slots[0];
            Assert.Same(slot.Store.Nodes, slot.Graph!.Layer0);
            before = Answers(collection, queries, null);
            var exact = Answers(collection, queries, null, exact: true);
            Assert.True(Overlap(before, exact) > 0.95, "float32 graph answers");

            collection.UpdateConfig(c => c with { Quantization = new QuantizationSettings(QuantizationKind.Scalar, 0.99f) });
            await collection.WaitForIndexingAsync(TimeSpan.FromSeconds(60));
            Assert.NotNull(slot.Quantized);
            Assert.Same(slot.Quantized!.Codes, slot.Graph.Layer0);
            Assert.True(Overlap(Answers(collection, queries, new QuantizationSearchParams(Oversampling: 4)), exact) > 0.9, "int8 answers with the links inline");

            // More points while quantized: the graph and the codes grow together in the code records.
            var more = Enumerable.Range(0, 1000).Select(_ => TestData.RandomVector(random, dim)).ToArray();
            await collection.UpdateAsync(new UpsertOperation(more.Select((v, i) => TestData.Point((ulong)(3000 + i), v)).ToList()), wait: true);
            await collection.WaitForIndexingAsync(TimeSpan.FromSeconds(60));
            Assert.Same(slot.Quantized!.Codes, slot.Graph.Layer0);
            Assert.Equal(4000, slot.Quantized.Count);

            collection.UpdateConfig(c => c with { Quantization = null });
            await collection.WaitForIndexingAsync(TimeSpan.FromSeconds(60));
            await WaitUntil(() => ReferenceEquals(slot.Store.Nodes, slot.Graph.Layer0));
            Assert.True(Overlap(Answers(collection, queries, null), Answers(collection, queries, null, exact: true)) > 0.95, "float32 answers after the links moved back");
        }

        // Reopened: the checkpointed graph loads into the vector records and answers as before.
        using (var manager = TestData.Open(dir.Path))
        {
            var collection = manager.Get("layout");
            await collection.WaitForIndexingAsync(TimeSpan.FromSeconds(60));
            var slot = collection.State.Slots[0];
            Assert.Same(slot.Store.Nodes, slot.Graph!.Layer0);
            Assert.True(Overlap(Answers(collection, queries, null), Answers(collection, queries, null, exact: true)) > 0.95);
        }
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not reached within 30 s");
            await Task.Delay(20);
        }
    }

    private static int[][] Answers(Collection collection, float[][] queries, QuantizationSearchParams? quantization, bool exact = false) =>
        queries.Select(q => collection.Query(new QueryRequest { Query = new DenseVectorQuery(q), Limit = 10, HnswEf = 64, Exact = exact, Quantization = quantization })
            .Select(p => (int)p.Id.Number).ToArray()).ToArray();

    private static double Overlap(int[][] a, int[][] b) =>
        a.Zip(b).Sum(p => p.First.Intersect(p.Second).Count()) / (double)b.Sum(x => x.Length);
}
