using Vectorizer.Bench;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Operations;
using Vectorizer.Engine.Points;
using Vectorizer.Engine.Vectors;
using Vectorizer.Engine.Vectors.Quantization;
using Xunit.Abstractions;

namespace Vectorizer.Engine.Tests;

/// <summary>Quantized search against exact search: the distance algebra per metric, and recall on real data.</summary>
public class QuantizationTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(Distance.Cosine)]
    [InlineData(Distance.Dot)]
    [InlineData(Distance.Euclid)]
    [InlineData(Distance.Manhattan)]
    public unsafe void ScalarDistancesTrackTheFloatDistances(Distance distance)
    {
        const int dim = 37; // not a multiple of 16: exercises the padding
        var random = new Random(7);
        var store = new DenseVectorStore(dim);
        for (var i = 0; i < 500; i++)
        {
            var v = TestData.RandomVector(random, dim);
            MetricDispatch.Preprocess(distance, v);
            store.Append(v);
        }

        var quantizer = (ScalarQuantizer)QuantizedVectors.Train(new QuantizationSettings(QuantizationKind.Scalar), distance, store, store.Count);
        quantizer.ExtendTo(store, store.Count);
        var query = TestData.RandomVector(random, dim);
        MetricDispatch.Preprocess(distance, query);
        var weights = new float[quantizer.PaddedDimension];
        var scales = new float[quantizer.PaddedDimension];
        var constant = quantizer.PrepareQuery(query, weights, scales);
        double worst = 0, spread = 0;
        fixed (float* w = weights, s = scales)
        {
            var scorer = new ScalarScorer(quantizer, w, s, constant);
            for (var i = 0; i < store.Count; i++)
            {
                var exact = MetricDispatch.Distance(distance, query, store.Get(i));
                worst = Math.Max(worst, Math.Abs(scorer.Distance(i) - exact));
                spread = Math.Max(spread, Math.Abs(exact));
            }
        }

        // 8-bit codes over [-1, 1]: the error stays around a percent of the distances' range.
        output.WriteLine($"{distance}: worst |quantized - exact| = {worst:F4} (largest distance {spread:F3})");
        Assert.True(worst < 0.03 * spread, $"{distance}: error {worst} vs range {spread}");
    }

    [SkippableTheory]
    [Trait("Category", "Slow")]
    [InlineData("glove-100-angular", Distance.Cosine, QuantizationKind.Scalar, 0.99f, 0, 4.0, 0.93)]
    [InlineData("fashion-mnist-784-euclidean", Distance.Euclid, QuantizationKind.Scalar, 0.99f, 0, 2.0, 0.93)]
    [InlineData("glove-100-angular", Distance.Cosine, QuantizationKind.Product, 0f, 8, 4.0, 0.85)]
    [InlineData("glove-100-angular", Distance.Cosine, QuantizationKind.Binary, 0f, 0, 8.0, 0.35)]
    public async Task QuantizedSearchWithRescoringKeepsRecall(string dataset, Distance distance, QuantizationKind kind, float quantile, int compression, double oversampling, double minRecall)
    {
        const int rows = 10_000, queryCount = 100;
        var folder = RecallTests.Dataset(dataset);
        var (data, _, dim) = Texmex.ReadFvecs(Path.Combine(folder, "base.fvecs"), rows);
        var (queries, _, _) = Texmex.ReadFvecs(Path.Combine(folder, "query.fvecs"), queryCount);

        using var dir = new TempDirectory();
        using var manager = TestData.Open(dir.Path);
        var config = TestData.Config(dim, distance, fullScanThreshold: 0, indexingThreshold: 1) with
        {
            Quantization = new QuantizationSettings(kind, quantile == 0 ? null : quantile, Compression: compression),
        };
        var collection = manager.Create("q", config);
        var points = new List<PointStruct>(rows);
        for (var i = 0; i < rows; i++)
        {
            points.Add(TestData.Point((ulong)i, data.AsSpan(i * dim, dim).ToArray()));
        }

        await collection.UpdateAsync(new UpsertOperation(points), wait: false);
        await collection.WaitForIndexingAsync(TimeSpan.FromMinutes(5));
        var storage = collection.GetInfo().Storage!.Vectors[0];
        Assert.NotNull(storage.Quantization);
        Assert.True(storage.QuantizedRamBytes > 0 && storage.QuantizedRamBytes < storage.VectorsRamBytes / 3, $"{storage.QuantizedRamBytes} quantized bytes vs {storage.VectorsRamBytes}");

        long hits = 0, hitsIgnored = 0;
        for (var q = 0; q < queryCount; q++)
        {
            var vector = queries.AsSpan(q * dim, dim).ToArray();
            var exact = collection.Query(new QueryRequest { Query = new DenseVectorQuery(vector), Limit = 10, Exact = true });
            var exactIds = exact.Select(p => p.Id).ToHashSet();
            var quantized = collection.Query(new QueryRequest
            {
                Query = new DenseVectorQuery(vector),
                Limit = 10,
                Quantization = new QuantizationSearchParams(Oversampling: oversampling),
            });
            hits += quantized.Count(p => exactIds.Contains(p.Id));
            var ignored = collection.Query(new QueryRequest { Query = new DenseVectorQuery(vector), Limit = 10, Quantization = new QuantizationSearchParams(Ignore: true) });
            hitsIgnored += ignored.Count(p => exactIds.Contains(p.Id));

            // Rescored results carry exact scores.
            foreach (var point in quantized)
            {
                if (exact.FirstOrDefault(e => e.Id == point.Id) is { } match)
                {
                    Assert.Equal(match.Score, point.Score, 4);
                }
            }
        }

        var recall = hits / (10.0 * queryCount);
        output.WriteLine($"{dataset} {kind} oversampling {oversampling}: recall@10 {recall:F3} (float32 graph {hitsIgnored / (10.0 * queryCount):F3}), codes {storage.QuantizedRamBytes} B vs float32 {storage.VectorsRamBytes} B");
        Assert.True(recall >= minRecall, $"recall@10 {recall:F3} < {minRecall}");
    }
}
