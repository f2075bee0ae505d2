using System.Runtime.CompilerServices;
using Vectorizer.Engine.Index;

namespace Vectorizer.Engine.Vectors.Quantization;

/// <summary>
/// int8 scalar quantization with a range per dimension: component i is stored as
/// a = round((x − c[i]) / α[i]) in [−127, 127], where [c[i] − 127α[i], c[i] + 127α[i]] covers the configured
/// quantile of dimension i's training values (real embeddings have dimensions of very different spread: one
/// global range wastes most of the 8 bits on the narrow ones). The query is not quantized: a distance is one
/// float × int8 dot product (<see cref="Int8Kernels.DotF32S8"/>) against weights prepared once per query, plus
/// a per-record correction stored after the codes. Records: codes zero-padded to 16 bytes, then one float.
/// </summary>
public sealed unsafe class ScalarQuantizer : QuantizedVectors
{
    private readonly float[] center;
    private readonly float[] alpha;

    private ScalarQuantizer(QuantizationSettings settings, Distance distance, int dimension, float[] center, float[] alpha, int linkSlots)
        : base(settings, distance, dimension, Pad16(dimension) + sizeof(float), linkSlots)
    {
        PaddedDimension = Pad16(dimension);
        this.center = center;
        this.alpha = alpha;
    }

    public int PaddedDimension { get; }

    protected override long TableBytes => 2L * PaddedDimension * sizeof(float);

    internal static ScalarQuantizer TrainScalar(QuantizationSettings settings, Distance distance, DenseVectorStore store, int count, int linkSlots)
    {
        var dimension = store.Dimension;
        var padded = Pad16(dimension);
        var sample = SampleOffsets(count, Math.Max(1, Math.Min(TrainingSample, 4_000_000 / dimension)));
        var center = new float[padded];
        var alpha = new float[padded];
        var values = new float[sample.Length];
        var quantile = settings.Quantile ?? 1f;
        for (var d = 0; d < dimension; d++)
        {
            float low = -1f, high = 1f;
            if (values.Length > 0)
            {
                for (var i = 0; i < sample.Length; i++)
                {
                    values[i] = store.GetPointer(sample[i])[d];
                }

                Array.Sort(values);
                var cut = (int)((1.0 - quantile) / 2 * (values.Length - 1));
                (low, high) = (values[cut], values[values.Length - 1 - cut]);
            }

            center[d] = (low + high) / 2;
            alpha[d] = Math.Max((high - low) / 254f, 1e-12f);
        }

        GC.KeepAlive(store);
        return new ScalarQuantizer(settings, distance, dimension, center, alpha, linkSlots);
    }

    protected override void Encode(ReadOnlySpan<float> vector, byte* destination)
    {
        var correction = 0f;
        for (var i = 0; i < vector.Length; i++)
        {
            var a = (sbyte)Math.Clamp(MathF.Round((vector[i] - center[i]) / alpha[i]), -127f, 127f);
            destination[i] = (byte)a;
            correction += alpha[i] * alpha[i] * a * a;
        }

        new Span<byte>(destination + vector.Length, PaddedDimension - vector.Length).Clear();
        *(float*)(destination + PaddedDimension) = Distance == Distance.Euclid ? correction : 0f;
    }

    /// <summary>
    /// Fills <paramref name="weights"/> (and, for Manhattan, <paramref name="scales"/>) for a query and returns its
    /// constant share of every distance. Dot/Cosine: x·q = Σ q c + Σ (q α) a. Euclid: |q − x|² = Σ (q − c)² +
    /// Σ α² a² − 2 Σ (q − c) α a. Manhattan: Σ |(q − c) − α a|.
    /// </summary>
    public float PrepareQuery(ReadOnlySpan<float> query, float[] weights, float[] scales)
    {
        Array.Clear(weights);
        Array.Clear(scales);
        var constant = 0f;
        for (var i = 0; i < query.Length; i++)
        {
            var q = query[i];
            switch (Distance)
            {
                case Distance.Euclid:
                    var d = q - center[i];
                    weights[i] = -2 * d * alpha[i];
                    constant += d * d;
                    break;
                case Distance.Manhattan:
                    weights[i] = q - center[i];
                    scales[i] = alpha[i];
                    break;
                default:
                    weights[i] = -q * alpha[i];
                    constant -= q * center[i];
                    break;
            }
        }

        return constant;
    }
}

/// <summary>Graph scorer over int8 codes (see <see cref="ScalarQuantizer"/>); distances are on the float metric's scale.</summary>
public unsafe struct ScalarScorer : IGraphScorer
{
    private readonly CodeCursor codes;
    private readonly float* weights;
    private readonly float* scales;
    private readonly int padded;
    private readonly float queryConstant;
    private readonly bool manhattan;

    /// <param name="quantizer">The codes.</param>
    /// <param name="weights">From <see cref="ScalarQuantizer.PrepareQuery"/>; must stay pinned while this scorer is used.</param>
    /// <param name="scales">From <see cref="ScalarQuantizer.PrepareQuery"/> (Manhattan only); pinned likewise.</param>
    /// <param name="queryConstant">The value <see cref="ScalarQuantizer.PrepareQuery"/> returned.</param>
    public ScalarScorer(ScalarQuantizer quantizer, float* weights, float* scales, float queryConstant)
    {
        codes = new CodeCursor(quantizer);
        padded = quantizer.PaddedDimension;
        this.weights = weights;
        this.scales = scales;
        this.queryConstant = queryConstant;
        manhattan = quantizer.Distance == Vectors.Distance.Manhattan;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly float Distance(int node)
    {
        var record = codes.Record(node);
        return manhattan
            ? Int8Kernels.L1F32S8(weights, scales, (sbyte*)record, padded)
            : queryConstant + *(float*)(record + padded) + Int8Kernels.DotF32S8(weights, (sbyte*)record, padded);
    }

    public readonly float Between(int a, int b) => throw CodeCursor.BetweenNotSupported();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly void Prefetch(int node) => codes.Prefetch(node);

    public readonly void KeepAlive() => codes.KeepAlive();
}
