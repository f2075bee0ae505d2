using System.Runtime.CompilerServices;
using Vectorizer.Engine.Index;

namespace Vectorizer.Engine.Vectors.Quantization;

/// <summary>
/// Product quantization: the vector is cut into sub-vectors of <c>compression / 4</c> dimensions and each is
/// replaced by the index (one byte) of the nearest of 256 centroids learned by k-means on a sample. A query
/// builds one table of partial distances per sub-space; a distance is then a sum of table lookups.
/// </summary>
public sealed unsafe class ProductQuantizer : QuantizedVectors
{
    public const int Centroids = 256;
    private const int Iterations = 8;
    private const int PqSample = 10_000;
    private readonly float[] centroids; // [subspace][centroid][SubDimension]; the last sub-space may use fewer dimensions

    private ProductQuantizer(QuantizationSettings settings, Distance distance, int dimension, int subDimension, float[] centroids, int linkSlots)
        : base(settings, distance, dimension, (dimension + subDimension - 1) / subDimension, linkSlots)
    {
        SubDimension = subDimension;
        Subspaces = (dimension + subDimension - 1) / subDimension;
        this.centroids = centroids;
    }

    public int SubDimension { get; }

    public int Subspaces { get; }

    protected override long TableBytes => (long)centroids.Length * sizeof(float);

    private int Width(int subspace) => Math.Min(SubDimension, Dimension - (subspace * SubDimension));

    internal static ProductQuantizer TrainProduct(QuantizationSettings settings, Distance distance, DenseVectorStore store, int count, int linkSlots)
    {
        var dimension = store.Dimension;
        var subDimension = Math.Max(1, settings.Compression / 4);
        var subspaces = (dimension + subDimension - 1) / subDimension;
        var sample = SampleOffsets(count, PqSample);
        var centroids = new float[subspaces * Centroids * subDimension];
        Parallel.For(0, subspaces, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, s =>
        {
            var width = Math.Min(subDimension, dimension - (s * subDimension));
            var points = new float[sample.Length * width];
            for (var i = 0; i < sample.Length; i++)
            {
                store.Get(sample[i]).Slice(s * subDimension, width).CopyTo(points.AsSpan(i * width, width));
            }

            KMeans(points, width, centroids.AsSpan(s * Centroids * subDimension, Centroids * subDimension), subDimension);
        });
        return new ProductQuantizer(settings, distance, dimension, subDimension, centroids, linkSlots);
    }

    /// <summary>Lloyd's k-means, initialised with evenly spaced sample points; empty clusters keep their centroid.</summary>
    private static void KMeans(float[] points, int width, Span<float> output, int stride)
    {
        var n = points.Length / Math.Max(1, width);
        if (n == 0)
        {
            return;
        }

        var k = Math.Min(Centroids, n);
        for (var c = 0; c < k; c++)
        {
            points.AsSpan((int)((long)c * n / k) * width, width).CopyTo(output.Slice(c * stride, width));
        }

        var sums = new double[k * width];
        var sizes = new int[k];
        for (var iteration = 0; iteration < Iterations; iteration++)
        {
            Array.Clear(sums);
            Array.Clear(sizes);
            for (var i = 0; i < n; i++)
            {
                var point = points.AsSpan(i * width, width);
                var best = Nearest(point, output, k, stride);
                sizes[best]++;
                for (var d = 0; d < width; d++)
                {
                    sums[(best * width) + d] += point[d];
                }
            }

            for (var c = 0; c < k; c++)
            {
                if (sizes[c] > 0)
                {
                    for (var d = 0; d < width; d++)
                    {
                        output[(c * stride) + d] = (float)(sums[(c * width) + d] / sizes[c]);
                    }
                }
            }
        }
    }

    private static int Nearest(ReadOnlySpan<float> point, ReadOnlySpan<float> centroids, int k, int stride)
    {
        var best = 0;
        var bestDistance = float.MaxValue;
        for (var c = 0; c < k; c++)
        {
            var centroid = centroids.Slice(c * stride, point.Length);
            var distance = 0f;
            for (var d = 0; d < point.Length; d++)
            {
                var diff = point[d] - centroid[d];
                distance += diff * diff;
            }

            if (distance < bestDistance)
            {
                (best, bestDistance) = (c, distance);
            }
        }

        return best;
    }

    protected override void Encode(ReadOnlySpan<float> vector, byte* destination)
    {
        var k = Centroids * SubDimension;
        for (var s = 0; s < Subspaces; s++)
        {
            var width = Width(s);
            destination[s] = (byte)Nearest(vector.Slice(s * SubDimension, width), centroids.AsSpan(s * k, k), Centroids, SubDimension);
        }
    }

    /// <summary>Fills <paramref name="table"/> ([subspace × 256]) with each centroid's partial distance to the query.</summary>
    public void PrepareQuery(ReadOnlySpan<float> query, float[] table)
    {
        for (var s = 0; s < Subspaces; s++)
        {
            var width = Width(s);
            var part = query.Slice(s * SubDimension, width);
            for (var c = 0; c < Centroids; c++)
            {
                var centroid = centroids.AsSpan(((s * Centroids) + c) * SubDimension, width);
                var distance = 0f;
                for (var d = 0; d < width; d++)
                {
                    distance += Distance switch
                    {
                        Vectors.Distance.Euclid => (part[d] - centroid[d]) * (part[d] - centroid[d]),
                        Vectors.Distance.Manhattan => MathF.Abs(part[d] - centroid[d]),
                        _ => -part[d] * centroid[d],
                    };
                }

                table[(s * Centroids) + c] = distance;
            }
        }
    }
}

/// <summary>Graph scorer over product codes: a sum of one table lookup per sub-space.</summary>
public unsafe struct ProductScorer : IGraphScorer
{
    private readonly CodeCursor codes;
    private readonly float* table;
    private readonly int subspaces;

    /// <param name="quantizer">The codes.</param>
    /// <param name="table">The query's table from <see cref="ProductQuantizer.PrepareQuery"/>; must stay pinned while this scorer is used.</param>
    public ProductScorer(ProductQuantizer quantizer, float* table)
    {
        codes = new CodeCursor(quantizer);
        subspaces = quantizer.Subspaces;
        this.table = table;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly float Distance(int node)
    {
        var code = codes.Record(node);
        var sum = 0f;
        var row = table;
        for (var s = 0; s < subspaces; s++, row += ProductQuantizer.Centroids)
        {
            sum += row[code[s]];
        }

        return sum;
    }

    public readonly float Between(int a, int b) => throw CodeCursor.BetweenNotSupported();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly void Prefetch(int node) => codes.Prefetch(node);

    public readonly void KeepAlive() => codes.KeepAlive();
}
