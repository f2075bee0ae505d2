using System.Runtime.CompilerServices;
using Vectorizer.Engine.Index;

namespace Vectorizer.Engine.Vectors.Quantization;

/// <summary>
/// Binary quantization: one bit per dimension, set when the component is positive (32× smaller than float32).
/// The distance is the Hamming distance between the query's bits and the vector's, which ranks well only for
/// centred, high-dimensional embeddings: use it with rescoring and oversampling.
/// </summary>
public sealed unsafe class BinaryQuantizer(QuantizationSettings settings, Distance distance, int dimension, int linkSlots = 0)
    : QuantizedVectors(settings, distance, dimension, ((dimension + 63) / 64) * sizeof(ulong), linkSlots)
{
    public int Words { get; } = (dimension + 63) / 64;

    protected override void Encode(ReadOnlySpan<float> vector, byte* destination) => Pack(vector, (ulong*)destination);

    /// <summary>Packs the sign bits of <paramref name="vector"/> into <paramref name="words"/>.</summary>
    public void Pack(ReadOnlySpan<float> vector, ulong* words)
    {
        new Span<ulong>(words, Words).Clear();
        for (var i = 0; i < vector.Length; i++)
        {
            if (vector[i] > 0)
            {
                words[i >> 6] |= 1UL << i;
            }
        }
    }
}

/// <summary>
/// Graph scorer over sign bits. For Cosine and Dot the distance is −cos of the two sign vectors (−1 + 2h/d); for
/// Euclid and Manhattan it is the Hamming distance itself.
/// </summary>
public unsafe struct BinaryScorer : IGraphScorer
{
    private readonly CodeCursor codes;
    private readonly ulong* query;
    private readonly int words;
    private readonly float scale;
    private readonly float bias;

    /// <param name="quantizer">The codes.</param>
    /// <param name="query">The query's bits (<see cref="BinaryQuantizer.Pack"/>); must stay pinned while this scorer is used.</param>
    public BinaryScorer(BinaryQuantizer quantizer, ulong* query)
    {
        codes = new CodeCursor(quantizer);
        words = quantizer.Words;
        this.query = query;
        var dot = quantizer.Distance is Vectors.Distance.Cosine or Vectors.Distance.Dot;
        scale = dot ? 2f / quantizer.Dimension : 1f;
        bias = dot ? -1f : 0f;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly float Distance(int node) => bias + (scale * Int8Kernels.Hamming(query, (ulong*)codes.Record(node), words));

    public readonly float Between(int a, int b) => throw CodeCursor.BetweenNotSupported();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly void Prefetch(int node) => codes.Prefetch(node);

    public readonly void KeepAlive() => codes.KeepAlive();
}
