using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Index;

namespace Vectorizer.Engine.Sparse;

/// <summary>
/// One named sparse vector space of a collection: the vectors by offset and an inverted index (dimension →
/// postings of offset and value) that gives exact dot-product top-k. With the IDF modifier each query dimension
/// is weighted by ln(1 + (N − n + 0.5) / (n + 0.5)) over the live documents, as Qdrant does. Postings of replaced
/// or deleted offsets stay behind (filtered by <see cref="Searchable"/>) until vacuum rebuilds the state; the
/// document frequencies are kept exact. Mutated under the collection's write lock, read under its read lock.
/// </summary>
public sealed class SparseSlot
{
    private readonly Dictionary<uint, List<Posting>> postings = [];
    private readonly Dictionary<uint, int> documentFrequency = [];
    private SparseVector?[] vectors = new SparseVector?[1024];

    public SparseSlot(string name, bool idf)
    {
        Name = name;
        Idf = idf;
    }

    /// <summary>Qdrant's default <c>full_scan_threshold</c> for sparse vectors (a number of points, not kilobytes).</summary>
    public const int DefaultFullScanThreshold = 5000;

    public string Name { get; }

    /// <summary>Weights query dimensions by IDF (the <c>idf</c> modifier; document frequencies are always kept, so it may change at any time).</summary>
    public bool Idf { get; set; }

    /// <summary>Filtered queries expected to match fewer points than this score them one by one (<see cref="SearchPoints"/>).</summary>
    public int FullScanThreshold { get; set; } = DefaultFullScanThreshold;

    /// <summary>Offsets that hold a live vector of this name.</summary>
    public Bitmap Searchable { get; } = new();

    /// <summary>Live documents (for IDF).</summary>
    public int Documents { get; private set; }

    private readonly record struct Posting(int Offset, float Value);

    public SparseVector? Get(int offset) => offset < vectors.Length && Searchable.Get(offset) ? vectors[offset] : null;

    /// <summary>Stores <paramref name="vector"/> at a new offset (or records that the offset has none).</summary>
    public void Set(int offset, SparseVector? vector)
    {
        if (offset >= vectors.Length)
        {
            Array.Resize(ref vectors, Math.Max(offset + 1, vectors.Length * 2));
        }

        Searchable.EnsureCapacity(offset + 1);
        Remove(offset);
        if (vector is null)
        {
            return;
        }

        vectors[offset] = vector;
        Searchable.Set(offset);
        Documents++;
        for (var i = 0; i < vector.Count; i++)
        {
            var index = vector.Indices[i];
            if (!postings.TryGetValue(index, out var list))
            {
                postings[index] = list = [];
            }

            list.Add(new Posting(offset, vector.Values[i]));
            documentFrequency[index] = documentFrequency.GetValueOrDefault(index) + 1;
        }
    }

    /// <summary>Drops the vector of <paramref name="offset"/> (delete, replace, delete-vectors).</summary>
    public void Remove(int offset)
    {
        if (!Searchable.Get(offset))
        {
            return;
        }

        var vector = vectors[offset]!;
        Searchable.Clear(offset);
        vectors[offset] = null;
        Documents--;
        foreach (var index in vector.Indices)
        {
            documentFrequency[index]--;
        }
    }

    /// <summary>The IDF weight of one dimension over the live documents.</summary>
    public float InverseDocumentFrequency(uint index)
    {
        var n = documentFrequency.GetValueOrDefault(index);
        return (float)Math.Log(1 + ((Documents - n + 0.5) / (n + 0.5)));
    }

    /// <summary>The query's weight for each dimension: its value, times the IDF when the modifier is on.</summary>
    public float Weight(uint index) => Idf ? InverseDocumentFrequency(index) : 1f;

    /// <summary>The query's weight for each of its dimensions (aligned with its indices): value × <see cref="Weight"/>.</summary>
    public float[] QueryWeights(SparseVector query)
    {
        var weights = new float[query.Count];
        for (var i = 0; i < weights.Length; i++)
        {
            weights[i] = query.Values[i] * Weight(query.Indices[i]);
        }

        return weights;
    }

    /// <summary>Score of a stored vector against <paramref name="query"/> (dot product, IDF-weighted when configured).</summary>
    public float Score(SparseVector query, int offset) => Score(query, QueryWeights(query), offset);

    /// <summary>As <see cref="Score(SparseVector, int)"/> with the query's <see cref="QueryWeights"/> computed once for many points.</summary>
    public float Score(SparseVector query, float[] weights, int offset) =>
        Get(offset) is { } vector ? SparseVector.MergeDot(query.Indices, weights, vector, out _) : 0f;

    /// <summary>
    /// Exact top <paramref name="k"/> by score among offsets <paramref name="accept"/> lets through, walking only the
    /// postings of the query's dimensions. Points sharing no dimension with the query score 0 and are not returned
    /// (as in Qdrant). Results are best first, as (−score, offset).
    /// </summary>
    public List<ScoredNode> Search(SparseVector query, Func<int, bool> accept, int k)
    {
        var scores = new Dictionary<int, float>();
        for (var i = 0; i < query.Count; i++)
        {
            if (!postings.TryGetValue(query.Indices[i], out var list))
            {
                continue;
            }

            var weight = query.Values[i] * Weight(query.Indices[i]);
            foreach (var posting in list)
            {
                // Offsets are append-only, so a posting is stale only when its offset lost the vector.
                if (Searchable.Get(posting.Offset))
                {
                    scores[posting.Offset] = scores.GetValueOrDefault(posting.Offset) + (weight * posting.Value);
                }
            }
        }

        var ranked = new List<ScoredNode>(scores.Count);
        foreach (var (offset, score) in scores)
        {
            if (accept(offset))
            {
                ranked.Add(new ScoredNode(-score, offset));
            }
        }

        return Top(ranked, k);
    }

    /// <summary>
    /// What <see cref="Search"/> returns, computed point by point over <paramref name="offsets"/> (or every offset
    /// below <paramref name="count"/> when null) instead of the postings: for few (filtered) points this is cheaper.
    /// Each score adds the query's dimensions in the same order and with the same float operations as the postings
    /// walk, so both give identical scores and order.
    /// </summary>
    public List<ScoredNode> SearchPoints(SparseVector query, Func<int, bool> accept, int k, int[]? offsets, int count)
    {
        var weights = QueryWeights(query);
        var ranked = new List<ScoredNode>();
        var n = offsets?.Length ?? count;
        for (var p = 0; p < n; p++)
        {
            var offset = offsets is null ? p : offsets[p];
            if (!Searchable.Get(offset) || vectors[offset] is not { } vector || !accept(offset))
            {
                continue;
            }

            // A point sharing no dimension with the query is not a result (as with the postings).
            var score = SparseVector.MergeDot(query.Indices, weights, vector, out var shared);
            if (shared)
            {
                ranked.Add(new ScoredNode(-score, offset));
            }
        }

        return Top(ranked, k);
    }

    private static List<ScoredNode> Top(List<ScoredNode> ranked, int k)
    {
        ranked.Sort((a, b) => a.Distance != b.Distance ? a.Distance.CompareTo(b.Distance) : a.Node.CompareTo(b.Node));
        if (ranked.Count > k)
        {
            ranked.RemoveRange(k, ranked.Count - k);
        }

        return ranked;
    }
}
