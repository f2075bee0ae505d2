using System.Runtime.CompilerServices;
using Vectorizer.Engine.Filters;
using Vectorizer.Engine.Index;
using Vectorizer.Engine.Sparse;
using Vectorizer.Engine.Vectors;
using Vectorizer.Engine.Vectors.Quantization;

namespace Vectorizer.Engine.Collections.Queries;

/// <summary>
/// Nearest-neighbour search over one vector slot of a <see cref="CollectionState"/>: the plan (payload-index
/// candidates, exact scan or HNSW, quantized codes or originals) and the exact scans. Sparse top-k too
/// (<see cref="SearchSparse"/>). Caller holds the collection's read lock.
/// </summary>
internal static class VectorSearch
{
    private const int SelectivitySample = 256;

    /// <summary>
    /// Nearest neighbours of <paramref name="query"/> (preprocessed) among searchable, filter-passing offsets, except
    /// <paramref name="excluded"/>. See <see cref="Plan{TScorer}"/>; with a quantized copy the graph is searched over the
    /// codes (see <see cref="SearchQuantized{TMetric}"/>).
    /// </summary>
    /// <param name="filterCacheVersion">
    /// The collection's WAL position, when filters no index answers may be remembered between queries at it
    /// (<see cref="FilterResultCache"/>); null: evaluate them afresh.
    /// </param>
    public static List<ScoredNode> Search(CollectionState current, VectorSlot slot, float[] query, Filter? filter, int[]? excluded, int k, int ef, bool exact, QuantizationSearchParams? quantization = null, long? filterCacheVersion = null) =>
        slot.Distance switch
        {
            Distance.Cosine or Distance.Dot => SearchCore<DotMetric>(current, slot, query, filter, excluded, k, ef, exact, quantization, filterCacheVersion),
            Distance.Euclid => SearchCore<EuclidMetric>(current, slot, query, filter, excluded, k, ef, exact, quantization, filterCacheVersion),
            Distance.Manhattan => SearchCore<ManhattanMetric>(current, slot, query, filter, excluded, k, ef, exact, quantization, filterCacheVersion),
            _ => throw new ArgumentOutOfRangeException(nameof(slot)),
        };

    /// <summary>
    /// The best <paramref name="k"/> offsets by any scorer (lower distance first), by the same plan as a vector search
    /// but never over quantized codes: the recommendation, discovery and context queries, whose scores are not a metric.
    /// </summary>
    public static List<ScoredNode> SearchWith<TScorer>(CollectionState current, VectorSlot slot, ref TScorer scorer, Filter? filter, int[]? excluded, int k, int ef, bool exact, long? filterCacheVersion = null)
        where TScorer : struct, IGraphScorer
    {
        var context = SearchContext.Rent();
        try
        {
            return Plan(current, slot, ref scorer, filter, excluded, k, ef, exact, null, context, filterCacheVersion);
        }
        finally
        {
            SearchContext.Return(context);
        }
    }

    private static unsafe List<ScoredNode> SearchCore<TMetric>(CollectionState current, VectorSlot slot, float[] query, Filter? filter, int[]? excluded, int k, int ef, bool exact, QuantizationSearchParams? quantization, long? filterCacheVersion)
        where TMetric : struct, IMetric
    {
        var context = SearchContext.Rent();
        try
        {
            fixed (float* q = query)
            {
                var scorer = new DenseScorer<TMetric>(slot.Store, q);
                quantization ??= QuantizationSearchParams.Default;
                IndexedSearch<DenseScorer<TMetric>>? viaCodes = null;
                if (slot.Quantized is { } quantized && !quantization.Ignore)
                {
                    viaCodes = (HnswGraph graph, ref DenseScorer<TMetric> originals, ref SearchFilter nodeFilter, int indexed, bool twoHop, SearchContext searchContext) =>
                        quantized.Count >= indexed ? SearchQuantized(quantized, graph, ref originals, ref nodeFilter, query, k, ef, indexed, quantization, twoHop, searchContext) : null;
                }

                return Plan(current, slot, ref scorer, filter, excluded, k, ef, exact, viaCodes, context, filterCacheVersion);
            }
        }
        finally
        {
            SearchContext.Return(context);
        }
    }

    /// <summary>A search of the graph's indexed prefix other than the plain one (over quantized codes); null when it does not apply.</summary>
    private delegate List<ScoredNode>? IndexedSearch<TScorer>(HnswGraph graph, ref TScorer scorer, ref SearchFilter filter, int indexed, bool twoHop, SearchContext context)
        where TScorer : struct, IGraphScorer;

    /// <summary>
    /// The plan of every search over a dense slot: payload-index candidates (or, for a filter no index answers, its
    /// remembered matches: <see cref="FilterResultCache"/>) scored one by one when few, else an exact scan below
    /// <c>full_scan_threshold</c>, else the graph for the indexed prefix (through <paramref name="indexedSearch"/> when it
    /// applies) and an exact scan of the unindexed tail, merged. Falls back to an exact scan whenever the graph finds
    /// fewer than <paramref name="k"/> results, so a filtered query returns <paramref name="k"/> points whenever that
    /// many match.
    /// </summary>
    private static List<ScoredNode> Plan<TScorer>(CollectionState current, VectorSlot slot, ref TScorer scorer, Filter? filter, int[]? excluded, int k, int ef, bool exact, IndexedSearch<TScorer>? indexedSearch, SearchContext context, long? filterCacheVersion)
        where TScorer : struct, IGraphScorer
    {
        var count = current.Count;
        var graph = slot.Graph;
        var indexed = graph is null ? 0 : Math.Min(slot.IndexedUpTo, count);
        var candidates = current.IndexedMatches(filter);
        if (candidates is not null)
        {
            // The payload indexes answer the filter exactly: its matches are a bitmap check, not a payload evaluation.
            filter = null;
        }
        else
        {
            candidates = current.IndexedCandidates(filter);
        }

        if (candidates is null && filter is not null && filterCacheVersion is { } version && FilterResultCache.Lookup(current, filter, version) is { } matching)
        {
            // A filter no index answers, seen before at this state: its matching points, exactly.
            candidates = matching;
            filter = null;
        }

        var payloadLast = slot.Dimension * sizeof(float) <= PayloadLastMaxVectorBytes;
        var nodeFilter = new SearchFilter(slot.Searchable.Words, filter, current, excluded, null, payloadLast);
        var twoHop = false;
        if (candidates is not null)
        {
            var plan = exact || graph is null || indexed == 0
                ? FilteredPlan.Exact
                : SearchPlanner.Choose(candidates.Length, slot.Searchable.SetCount, slot.Dimension * sizeof(float), graph.M0, Math.Max(ef, k), slot.Hnsw.FullScanThreshold);
            if (plan == FilteredPlan.Exact)
            {
                // Few matches, or fewer bytes to read than a walk would: score just those, exactly.
                return ScoreCandidates(ref scorer, ref nodeFilter, candidates, k, context);
            }

            // Filtered HNSW, where a bitmap of the candidates turns away most nodes before the full filter (if any
            // is left) is evaluated on their payload; with the two-hop walk only accepted nodes are scored.
            nodeFilter = new SearchFilter(slot.Searchable.Words, filter, current, excluded, CandidateBitmap(candidates, count), payloadLast);
            twoHop = plan == FilteredPlan.GraphTwoHop;
        }

        if (exact || graph is null || indexed == 0 || (candidates is null && PreferExact(current, slot, filter)))
        {
            return ExactScan(ref scorer, ref nodeFilter, 0, count, k, context);
        }

        var results = indexedSearch?.Invoke(graph, ref scorer, ref nodeFilter, indexed, twoHop, context);
        if (results is null)
        {
            var buffer = new ScoredNode[k];
            var found = graph.Search(ref scorer, ref nodeFilter, k, ef, count, buffer, context, twoHop);
            results = new List<ScoredNode>(k);
            for (var i = 0; i < found; i++)
            {
                // Nodes inserted past the published prefix are covered by the tail scan below.
                if (buffer[i].Node < indexed)
                {
                    results.Add(buffer[i]);
                }
            }
        }

        if (indexed < count)
        {
            results = Merge(results, ExactScan(ref scorer, ref nodeFilter, indexed, count, k, context), k);
        }

        if (results.Count < k && (filter is not null || candidates is not null || excluded is { Length: > 0 } || current.DeletedCount > 0))
        {
            var exhaustive = ExactScan(ref scorer, ref nodeFilter, 0, count, k, context);
            if (exhaustive.Count > results.Count)
            {
                results = exhaustive;
            }
        }

        scorer.KeepAlive();
        return results;
    }

    /// <summary>
    /// Graph search over the quantized codes for <c>k × oversampling</c> candidates among the indexed prefix,
    /// then (with rescoring, the default) their exact distances from the originals, best <paramref name="k"/> kept.
    /// </summary>
    private static unsafe List<ScoredNode> SearchQuantized<TMetric>(
        QuantizedVectors quantized, HnswGraph graph, ref DenseScorer<TMetric> exact, ref SearchFilter filter, float[] query, int k, int ef, int indexed, QuantizationSearchParams parameters, bool twoHop, SearchContext context)
        where TMetric : struct, IMetric
    {
        var candidates = parameters.Rescore ? Math.Max(k, (int)Math.Ceiling(k * Math.Max(1.0, parameters.Oversampling))) : k;
        var buffer = new ScoredNode[candidates];
        ef = Math.Max(ef, candidates);
        int found;
        switch (quantized)
        {
            case ScalarQuantizer scalar:
                var weights = new float[scalar.PaddedDimension];
                var scales = new float[scalar.PaddedDimension];
                var constant = scalar.PrepareQuery(query, weights, scales);
                fixed (float* w = weights, s = scales)
                {
                    var scorer = new ScalarScorer(scalar, w, s, constant);
                    found = graph.Search(ref scorer, ref filter, candidates, ef, indexed, buffer, context, twoHop);
                }

                break;
            case BinaryQuantizer binary:
                var bits = new ulong[binary.Words];
                fixed (ulong* q = bits)
                {
                    binary.Pack(query, q);
                    var scorer = new BinaryScorer(binary, q);
                    found = graph.Search(ref scorer, ref filter, candidates, ef, indexed, buffer, context, twoHop);
                }

                break;
            case ProductQuantizer product:
                var table = new float[product.Subspaces * ProductQuantizer.Centroids];
                product.PrepareQuery(query, table);
                fixed (float* t = table)
                {
                    var scorer = new ProductScorer(product, t);
                    found = graph.Search(ref scorer, ref filter, candidates, ef, indexed, buffer, context, twoHop);
                }

                break;
            default:
                throw new InvalidOperationException($"Unknown quantizer {quantized.GetType().Name}");
        }

        var results = new List<ScoredNode>(found);
        for (var i = 0; i < found; i++)
        {
            results.Add(parameters.Rescore ? new ScoredNode(exact.Distance(buffer[i].Node), buffer[i].Node) : buffer[i]);
        }

        if (parameters.Rescore)
        {
            results.Sort(static (a, b) => a.Distance.CompareTo(b.Distance));
            if (results.Count > k)
            {
                results.RemoveRange(k, results.Count - k);
            }
        }

        return results;
    }

    /// <summary>
    /// Qdrant's rule: when the candidate vectors weigh less than <c>full_scan_threshold</c> kilobytes, an exact
    /// scan is cheaper than the graph. With a filter, the candidates are estimated from a sample.
    /// </summary>
    private static bool PreferExact(CollectionState current, VectorSlot slot, Filter? filter)
    {
        double candidates = slot.Searchable.SetCount;
        if (filter is not null && candidates > 0)
        {
            // Pseudo-random offsets (a fixed seed keeps plans repeatable): a fixed stride would alias with any
            // periodic pattern in the data (ids assigned round-robin to tenants, say) and misjudge selectivity.
            var count = current.Count;
            var random = new Random(count);
            int sampled = 0, matched = 0;
            for (var i = 0; i < Math.Min(count, SelectivitySample); i++)
            {
                var offset = count <= SelectivitySample ? i : random.Next(count);
                if (!slot.Searchable.Get(offset))
                {
                    continue;
                }

                sampled++;
                if (FilterEvaluator.Matches(filter, current, offset))
                {
                    matched++;
                }
            }

            candidates = sampled == 0 ? 0 : candidates * matched / sampled;
        }

        var kilobytes = candidates * slot.Dimension * sizeof(float) / 1024.0;
        return kilobytes < slot.Hnsw.FullScanThreshold;
    }

    private static List<ScoredNode> ExactScan<TScorer>(ref TScorer scorer, ref SearchFilter filter, int from, int to, int k, SearchContext context)
        where TScorer : struct, IGraphScorer =>
        TopK(ref scorer, ref filter, null, from, to, k, context);

    /// <summary>Scores only <paramref name="candidates"/> (offsets from the payload indexes).</summary>
    private static List<ScoredNode> ScoreCandidates<TScorer>(ref TScorer scorer, ref SearchFilter filter, int[] candidates, int k, SearchContext context)
        where TScorer : struct, IGraphScorer =>
        TopK(ref scorer, ref filter, candidates, 0, candidates.Length, k, context);

    /// <summary>
    /// Vectors up to this size are scored before the payload filter is evaluated (see <see cref="TopK"/>); larger
    /// ones after. A scan is bound by the bytes it reads: a 100-d vector (400 B) costs tens of nanoseconds, a 784-d
    /// one (3 KiB) a few hundred, as much as evaluating a condition against a JSON payload. Score-first on
    /// fashion-mnist (784-d, 60k points) made an unindexed 1 % filter 4× slower than filter-first (every query read
    /// all 188 MB of vectors); on glove (100-d) it is what took unindexed 10 % filters from 0.15× to 0.75× of
    /// unfiltered over REST.
    /// </summary>
    private const int PayloadLastMaxVectorBytes = 1024;

    /// <summary>
    /// The <paramref name="k"/> closest accepted offsets among [from, to), or among candidates[from..to] when given.
    /// For small vectors (<see cref="SearchFilter.PayloadLast"/>) the payload filter is evaluated last, only for an
    /// offset close enough to enter the results: scoring such a vector costs a few nanoseconds, evaluating a
    /// condition against a JSON payload a few hundred, and once the results are full few offsets come closer (10 %
    /// selectivity over 35k points: ~600 evaluations instead of 35,000). For large vectors it is evaluated first.
    /// </summary>
    private static List<ScoredNode> TopK<TScorer>(ref TScorer scorer, ref SearchFilter filter, int[]? candidates, int from, int to, int k, SearchContext context)
        where TScorer : struct, IGraphScorer
    {
        context.Reset(0);
        for (var i = from; i < to; i++)
        {
            var offset = candidates is null ? i : candidates[i];
            if (!filter.AcceptWithoutPayload(offset) || (!filter.PayloadLast && !filter.AcceptPayload(offset)))
            {
                continue;
            }

            var d = scorer.Distance(offset);
            if (context.ResultCount >= k && !(d < context.WorstResult))
            {
                continue;
            }

            if (filter.PayloadLast && !filter.AcceptPayload(offset))
            {
                continue;
            }

            if (context.ResultCount < k)
            {
                context.PushResult(d, offset);
            }
            else
            {
                context.PopResult();
                context.PushResult(d, offset);
            }
        }

        var results = new ScoredNode[context.ResultCount];
        for (var i = results.Length - 1; i >= 0; i--)
        {
            results[i] = context.PopResult();
        }

        scorer.KeepAlive();
        return [.. results];
    }

    private static List<ScoredNode> Merge(List<ScoredNode> a, List<ScoredNode> b, int k)
    {
        var merged = new List<ScoredNode>(Math.Min(k, a.Count + b.Count));
        int i = 0, j = 0;
        while (merged.Count < k && (i < a.Count || j < b.Count))
        {
            if (j >= b.Count || (i < a.Count && a[i].Distance <= b[j].Distance))
            {
                merged.Add(a[i++]);
            }
            else
            {
                merged.Add(b[j++]);
            }
        }

        return merged;
    }

    /// <summary>A bitmap of <paramref name="candidates"/> below <paramref name="count"/>.</summary>
    private static ulong[] CandidateBitmap(int[] candidates, int count)
    {
        var words = new ulong[(count + 63) >> 6];
        foreach (var offset in candidates)
        {
            if (offset < count)
            {
                words[offset >> 6] |= 1UL << offset;
            }
        }

        return words;
    }

    /// <summary>
    /// Top <paramref name="limit"/> by sparse score among live points passing the filter. As in Qdrant, a filtered
    /// query whose matches are estimated below the slot's <c>full_scan_threshold</c> scores those points one by one;
    /// otherwise (and always without a filter) it walks the inverted index. The estimate is the payload index's
    /// candidate count, or every live point when no index answers the filter (Qdrant's upper bound). Both ways give
    /// the same answer.
    /// </summary>
    public static List<ScoredNode> SearchSparse(CollectionState current, SparseSlot slot, SparseVector query, int[]? excluded, Filter? filter, int limit)
    {
        bool Accept(int offset) => (excluded is null || Array.IndexOf(excluded, offset) < 0) && current.IsLive(offset) && (filter is null || FilterEvaluator.Matches(filter, current, offset));

        if (filter is not null && !filter.IsEmpty)
        {
            var candidates = current.IndexedCandidates(filter);
            if ((candidates?.Length ?? current.LiveCount) < slot.FullScanThreshold)
            {
                return slot.SearchPoints(query, Accept, limit, candidates, current.Count);
            }
        }

        return slot.Search(query, Accept, limit);
    }

    /// <summary>
    /// Searchable, not excluded, inside <paramref name="allowed"/> (the payload index's candidates, when given) and
    /// matching the filter, checked in that order (cheapest first).
    /// </summary>
    private readonly struct SearchFilter(ulong[] searchable, Filter? filter, CollectionState facts, int[]? excluded, ulong[]? allowed, bool payloadLast) : INodeFilter
    {
        /// <summary>An exact scan scores a point before it evaluates the payload filter (small vectors; see <see cref="PayloadLastMaxVectorBytes"/>).</summary>
        public bool PayloadLast => payloadLast;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool Accept(int node) => AcceptWithoutPayload(node) && AcceptPayload(node);

        /// <summary>The bitmap checks (searchable, not excluded, among the payload index's candidates).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool AcceptWithoutPayload(int node)
        {
            var word = node >> 6;
            if ((uint)word >= (uint)searchable.Length || (searchable[word] & (1UL << node)) == 0 || (excluded is not null && Array.IndexOf(excluded, node) >= 0))
            {
                return false;
            }

            return allowed is null || ((uint)word < (uint)allowed.Length && (allowed[word] & (1UL << node)) != 0);
        }

        /// <summary>The filter itself (evaluated against the point's payload).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool AcceptPayload(int node) => filter is null || FilterEvaluator.Matches(filter, facts, node);
    }
}
