using System.Runtime.CompilerServices;

namespace Vectorizer.Engine.Vectors;

/// <summary>
/// A distance function for the hot loops, as a static abstract member so generic code over a struct
/// metric is specialised and inlined by the JIT. Lower is closer.
/// </summary>
public unsafe interface IMetric
{
    static abstract float Distance(float* a, float* b, int dim);
}

/// <summary>Negated dot product: used for Dot, and for Cosine on pre-normalised vectors.</summary>
public readonly unsafe struct DotMetric : IMetric
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Distance(float* a, float* b, int dim) => -VectorKernels.Dot(a, b, dim);
}

/// <summary>Squared Euclidean distance (the square root is taken only for the client-visible score).</summary>
public readonly unsafe struct EuclidMetric : IMetric
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Distance(float* a, float* b, int dim) => VectorKernels.SquaredEuclid(a, b, dim);
}

/// <summary>Manhattan (L1) distance.</summary>
public readonly unsafe struct ManhattanMetric : IMetric
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Distance(float* a, float* b, int dim) => VectorKernels.Manhattan(a, b, dim);
}

public static unsafe class MetricDispatch
{
    /// <summary>Internal distance between two vectors for <paramref name="distance"/> (vectors already preprocessed).</summary>
    public static float Distance(Distance distance, ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        fixed (float* pa = a)
        fixed (float* pb = b)
        {
            return distance switch
            {
                Vectors.Distance.Cosine or Vectors.Distance.Dot => DotMetric.Distance(pa, pb, a.Length),
                Vectors.Distance.Euclid => EuclidMetric.Distance(pa, pb, a.Length),
                Vectors.Distance.Manhattan => ManhattanMetric.Distance(pa, pb, a.Length),
                _ => throw new ArgumentOutOfRangeException(nameof(distance)),
            };
        }
    }

    /// <summary>Prepares a vector for storage or querying: Cosine vectors are normalised to unit length.</summary>
    public static void Preprocess(Distance distance, Span<float> vector)
    {
        if (distance == Vectors.Distance.Cosine)
        {
            VectorKernels.Normalize(vector);
        }
    }
}
