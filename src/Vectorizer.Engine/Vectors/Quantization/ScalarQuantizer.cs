using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;
using Vectorizer.Engine.Index;

namespace Vectorizer.Engine.Vectors.Quantization;

/// <summary>
/// int8 scalar quantization: every component x is stored as a = round((x − c) / α) in [−127, 127], where the
/// range [c − 127α, c + 127α] covers the configured quantile of the training values. Each record is the codes
/// (zero-padded to 16 bytes) followed by one float that folds the vector's share of the distance correction, so
/// a distance costs one integer dot product (<see cref="Int8Kernels.DotU8S8"/>, the query as unsigned a + 128)
/// plus two additions. Manhattan records hold the codes biased by +128 and use <c>vpsadbw</c> instead.
/// </summary>
public sealed unsafe class ScalarQuantizer : QuantizedVectors
{
    private ScalarQuantizer(QuantizationSettings settings, Distance distance, int dimension, float center, float alpha)
        : base(settings, distance, dimension, Pad16(dimension) + sizeof(float))
    {
        Center = center;
        Alpha = alpha;
        PaddedDimension = Pad16(dimension);
    }

    public float Center { get; }

    public float Alpha { get; }

    public int PaddedDimension { get; }

    internal static ScalarQuantizer TrainScalar(QuantizationSettings settings, Distance distance, DenseVectorStore store, int count)
    {
        var dimension = store.Dimension;
        var sample = SampleOffsets(count, Math.Max(1, Math.Min(TrainingSample, 4_000_000 / dimension)));
        var values = new float[sample.Length * dimension];
        for (var i = 0; i < sample.Length; i++)
        {
            store.Get(sample[i]).CopyTo(values.AsSpan(i * dimension, dimension));
        }

        float low, high;
        if (values.Length == 0)
        {
            (low, high) = (-1f, 1f);
        }
        else
        {
            Array.Sort(values);
            var quantile = settings.Quantile ?? 1f;
            var cut = (long)((1.0 - quantile) / 2 * (values.Length - 1));
            low = values[cut];
            high = values[values.Length - 1 - cut];
        }

        var center = (low + high) / 2;
        var alpha = Math.Max((high - low) / 254f, 1e-12f);
        return new ScalarQuantizer(settings, distance, dimension, center, alpha);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private sbyte Quantize(float x) => (sbyte)Math.Clamp(MathF.Round((x - Center) / Alpha), -127f, 127f);

    protected override void Encode(ReadOnlySpan<float> vector, byte* destination)
    {
        long sum = 0, squares = 0;
        for (var i = 0; i < vector.Length; i++)
        {
            var a = Quantize(vector[i]);
            sum += a;
            squares += a * a;
            destination[i] = Distance == Distance.Manhattan ? (byte)(a + 128) : (byte)a;
        }

        var padding = Distance == Distance.Manhattan ? (byte)128 : (byte)0;
        new Span<byte>(destination + vector.Length, PaddedDimension - vector.Length).Fill(padding);
        *(float*)(destination + PaddedDimension) = Distance switch
        {
            Distance.Euclid => Alpha * Alpha * (squares + (256 * sum)),
            Distance.Manhattan => 0f,
            _ => -((Center * Alpha) - (128 * Alpha * Alpha)) * sum,
        };
    }

    /// <summary>
    /// Quantizes a query into <paramref name="codes"/> (unsigned: a + 128, padded) and returns the query's constant
    /// share of every distance.
    /// </summary>
    public float PrepareQuery(ReadOnlySpan<float> query, byte[] codes)
    {
        long sum = 0, squares = 0;
        for (var i = 0; i < query.Length; i++)
        {
            var a = Quantize(query[i]);
            sum += a;
            squares += a * a;
            codes[i] = (byte)(a + 128);
        }

        codes.AsSpan(query.Length, PaddedDimension - query.Length).Fill(128);
        return Distance switch
        {
            Distance.Euclid => Alpha * Alpha * squares,
            Distance.Manhattan => 0f,
            _ => -((Dimension * Center * Center) + (Center * Alpha * sum)),
        };
    }
}

/// <summary>Graph scorer over int8 codes (see <see cref="ScalarQuantizer"/>); distances are on the float metric's scale.</summary>
public unsafe struct ScalarScorer : IGraphScorer
{
    private readonly nint* chunks;
    private readonly nint[] chunkTable;
    private readonly ScalarQuantizer quantizer;
    private readonly byte* query;
    private readonly int shift;
    private readonly int mask;
    private readonly int recordBytes;
    private readonly int padded;
    private readonly float queryConstant;
    private readonly float scale;
    private readonly bool manhattan;

    /// <param name="query">The query codes from <see cref="ScalarQuantizer.PrepareQuery"/>; must stay pinned while this scorer is used.</param>
    public ScalarScorer(ScalarQuantizer quantizer, byte* query, float queryConstant)
    {
        this.quantizer = quantizer;
        chunkTable = quantizer.Codes.ChunkPointers;
        chunks = (nint*)Unsafe.AsPointer(ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(chunkTable));
        shift = quantizer.Codes.ChunkShift;
        mask = quantizer.Codes.ChunkMask;
        recordBytes = quantizer.Codes.RecordBytes;
        padded = quantizer.PaddedDimension;
        this.query = query;
        this.queryConstant = queryConstant;
        manhattan = quantizer.Distance == Vectors.Distance.Manhattan;
        var alpha = quantizer.Alpha;
        scale = quantizer.Distance switch
        {
            Vectors.Distance.Euclid => -2 * alpha * alpha,
            Vectors.Distance.Manhattan => alpha,
            _ => -alpha * alpha,
        };
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly byte* Record(int node) => (byte*)chunks[node >> shift] + ((long)(node & mask) * recordBytes);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly float Distance(int node)
    {
        var record = Record(node);
        var raw = manhattan ? Int8Kernels.SumAbsDiff(query, record, padded) : Int8Kernels.DotU8S8(query, (sbyte*)record, padded);
        return queryConstant + *(float*)(record + padded) + (scale * raw);
    }

    public readonly float Between(int a, int b) => throw new NotSupportedException("Quantized scorers only search; the graph is built from the originals.");

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly void Prefetch(int node)
    {
        if (Sse.IsSupported)
        {
            var p = Record(node);
            Sse.Prefetch0(p);
            Sse.Prefetch0(p + 64);
        }
    }

    public readonly void KeepAlive() => GC.KeepAlive(quantizer);
}
