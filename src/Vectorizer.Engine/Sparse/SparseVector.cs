using Vectorizer.Engine.Errors;

namespace Vectorizer.Engine.Sparse;

/// <summary>
/// A sparse vector: strictly increasing dimension indices and their (finite) values. Immutable once created;
/// <see cref="Create"/> validates and sorts what a client sent.
/// </summary>
public sealed class SparseVector
{
    private SparseVector(uint[] indices, float[] values)
    {
        Indices = indices;
        Values = values;
    }

    public uint[] Indices { get; }

    public float[] Values { get; }

    public int Count => Indices.Length;

    /// <summary>Validates (equal lengths, unique indices, finite values) and sorts by index. Takes ownership of the arrays.</summary>
    public static SparseVector Create(uint[] indices, float[] values, string name = "")
    {
        if (indices.Length != values.Length)
        {
            throw VectorizerException.BadRequest($"Sparse vector `{name}`: indices and values must have the same length ({indices.Length} vs {values.Length})");
        }

        for (var i = 0; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
            {
                throw VectorizerException.BadRequest($"Sparse vector `{name}` contains NaN or infinite values");
            }
        }

        Array.Sort(indices, values);
        for (var i = 1; i < indices.Length; i++)
        {
            if (indices[i] == indices[i - 1])
            {
                throw VectorizerException.BadRequest($"Sparse vector `{name}`: indices must be unique (duplicate {indices[i]})");
            }
        }

        return new SparseVector(indices, values);
    }

    /// <summary>For decoding stored vectors that were validated when written.</summary>
    internal static SparseVector FromSorted(uint[] indices, float[] values) => new(indices, values);

    /// <summary>Dot product of two sparse vectors.</summary>
    public float Dot(SparseVector other) => MergeDot(Indices, Values, other, out _);

    /// <summary>
    /// The one merge of two sorted index lists: the sum of <c>weights[i] × other.Values[j]</c> over the dimensions both
    /// have (<paramref name="weights"/> aligned with <paramref name="indices"/>: a query's values, or its values times
    /// their IDF), and whether there was any. Every sparse score that is not a postings walk comes from here, with the
    /// same float operations in the same order as the walk, so both give identical scores.
    /// </summary>
    internal static float MergeDot(ReadOnlySpan<uint> indices, ReadOnlySpan<float> weights, SparseVector other, out bool shared)
    {
        float sum = 0;
        shared = false;
        var otherIndices = other.Indices;
        var otherValues = other.Values;
        int i = 0, j = 0;
        while (i < indices.Length && j < otherIndices.Length)
        {
            var a = indices[i];
            var b = otherIndices[j];
            if (a == b)
            {
                sum += weights[i] * otherValues[j];
                shared = true;
                i++;
                j++;
            }
            else if (a < b)
            {
                i++;
            }
            else
            {
                j++;
            }
        }

        return sum;
    }
}
