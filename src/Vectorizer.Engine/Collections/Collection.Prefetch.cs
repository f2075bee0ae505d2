using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Filters;
using Vectorizer.Engine.Index;
using Vectorizer.Engine.Sparse;
using Vectorizer.Engine.Vectors;

namespace Vectorizer.Engine.Collections;

/// <summary>
/// Queries with <c>prefetch</c>: sub-queries run first (recursively, each with its own query, vector name, filter,
/// limit and params, and the parent's filter on top); the main query then fuses their lists (RRF, DBSF) or re-scores
/// their union with its own vector. Everything runs under one read lock, on one consistent state.
/// </summary>
public sealed partial class Collection
{
    /// <summary>A point's offset and its score (and order value, from <c>order_by</c>), in the order of the list that holds it (best first).</summary>
    private readonly record struct Ranked(int Offset, float Score, double? OrderValue = null);

    private List<ScoredPoint> QueryWithPrefetch(QueryRequest request)
    {
        var k = checked(request.Offset + request.Limit);
        rw.EnterReadLock();
        try
        {
            var current = State;
            var (ranked, higherIsBetter) = Rank(current, request, inheritedFilter: null, k);
            var results = new List<ScoredPoint>(Math.Max(0, ranked.Count - request.Offset));

            // As in Qdrant, order_by and sample results all score 1 and ignore score_threshold.
            var threshold = request.Query is OrderByQuery or SampleQuery ? null : request.ScoreThreshold;
            for (var i = request.Offset; i < ranked.Count; i++)
            {
                var (offset, score, orderValue) = ranked[i];
                if (threshold is { } t && (higherIsBetter ? score <= t : score >= t))
                {
                    break;
                }

                results.Add(ToScored(current, offset, score, request.WithPayload, request.WithVector, orderValue));
            }

            return results;
        }
        finally
        {
            rw.ExitReadLock();
        }
    }

    /// <summary>The best <paramref name="limit"/> points of one (sub-)query, best first, and whether higher scores are better.</summary>
    private (List<Ranked> Ranked, bool HigherIsBetter) Rank(SegmentState current, QueryRequest request, Filter? inheritedFilter, int limit)
    {
        var filter = Combine(inheritedFilter, request.Filter);
        if (request.Prefetch.Count == 0)
        {
            return request.Query switch
            {
                null => throw VectorizerException.BadRequest("A prefetch needs a `query`"),
                FusionQuery => throw VectorizerException.BadRequest("A fusion query needs at least one `prefetch`"),
                OrderByQuery orderBy => (Ordered(current, orderBy.OrderBy, filter, null, limit), true),
                SampleQuery => (Sampled(current, filter, null, limit), true),
                _ => Search(current, request, filter, limit),
            };
        }

        var lists = new List<List<Ranked>>(request.Prefetch.Count);
        var directions = new List<bool>(request.Prefetch.Count);
        foreach (var prefetch in request.Prefetch)
        {
            var (list, higherIsBetter) = Rank(current, prefetch, filter, prefetch.Limit);
            if (prefetch.ScoreThreshold is { } threshold && prefetch.Query is not (OrderByQuery or SampleQuery))
            {
                list.RemoveAll(r => higherIsBetter ? r.Score <= threshold : r.Score >= threshold);
            }

            lists.Add(list);
            directions.Add(higherIsBetter);
        }

        switch (request.Query)
        {
            case FusionQuery fusion:
                return (Fuse(lists, directions, fusion, limit), true);
            case null:
                return (Union(lists, limit), directions[0]);
            case OrderByQuery orderBy:
                return (Ordered(current, orderBy.OrderBy, filter, UnionOffsets(lists), limit), true);
            case SampleQuery:
                return (Sampled(current, filter, UnionOffsets(lists), limit), true);
            default:
                return Rescore(current, request, Union(lists, int.MaxValue), filter, limit);
        }
    }

    /// <summary>Points in <paramref name="orderBy"/>'s order, each once, scoring 1 (Qdrant) with their order value.</summary>
    private static List<Ranked> Ordered(SegmentState current, OrderBy orderBy, Filter? filter, int[]? within, int limit)
    {
        var entries = ReadOrdered(current, orderBy, filter, within, limit, distinct: true);
        var ranked = new List<Ranked>(entries.Count);
        foreach (var (value, offset) in entries)
        {
            ranked.Add(new Ranked(offset, 1f, value));
        }

        return ranked;
    }

    private static List<Ranked> Sampled(SegmentState current, Filter? filter, int[]? within, int limit)
    {
        var offsets = SampleOffsets(current, filter, within, limit, Random.Shared);
        var ranked = new List<Ranked>(offsets.Count);
        foreach (var offset in offsets)
        {
            ranked.Add(new Ranked(offset, 1f));
        }

        return ranked;
    }

    /// <summary>The distinct offsets of the lists, sorted.</summary>
    private static int[] UnionOffsets(List<List<Ranked>> lists)
    {
        var offsets = new HashSet<int>();
        foreach (var list in lists)
        {
            foreach (var item in list)
            {
                offsets.Add(item.Offset);
            }
        }

        var sorted = offsets.ToArray();
        Array.Sort(sorted);
        return sorted;
    }

    private static Filter? Combine(Filter? outer, Filter? inner) =>
        outer is null || outer.IsEmpty ? inner
        : inner is null || inner.IsEmpty ? outer
        : new Filter { Must = [new FilterCondition(outer), new FilterCondition(inner)] };

    /// <summary>The query's vector (preprocessed), its slot, and the point to exclude (a query by point id).</summary>
    private (VectorSlot Slot, float[] Vector, int Exclude) ResolveQueryVector(SegmentState current, QueryRequest request)
    {
        var slot = SlotOrThrow(current, request.Using);
        switch (request.Query)
        {
            case DenseVectorQuery dense:
                if (dense.Vector.Length != slot.Dimension)
                {
                    throw VectorizerException.WrongDimension(slot.Dimension, dense.Vector.Length);
                }

                if (!VectorKernels.AllFinite(dense.Vector))
                {
                    throw VectorizerException.BadRequest("Query vector contains NaN or infinite values");
                }

                var vector = (float[])dense.Vector.Clone();
                MetricDispatch.Preprocess(slot.Distance, vector);
                return (slot, vector, -1);
            case PointIdQuery byId:
                if (!current.TryGetOffset(byId.Id, out var exclude))
                {
                    throw VectorizerException.PointNotFound(byId.Id.ToString());
                }

                if (!slot.Searchable.Get(exclude))
                {
                    throw new VectorizerException(ErrorCode.PointNotFound, $"Vector with name `{request.Using}` for point {byId.Id} not found");
                }

                return (slot, slot.Store.Get(exclude).ToArray(), exclude);
            case SparseVectorQuery:
                throw VectorizerException.BadRequest($"`{(request.Using.Length == 0 ? "the default vector" : request.Using)}` is a dense vector; sparse queries need `using` to name a sparse vector");
            default:
                throw VectorizerException.BadRequest($"Query type {request.Query?.GetType().Name} cannot be used here");
        }
    }

    private (List<Ranked>, bool) Search(SegmentState current, QueryRequest request, Filter? filter, int limit)
    {
        if (current.SparseSlot(request.Using) is { } sparseSlot)
        {
            var (query, excluded) = ResolveSparseQuery(current, sparseSlot, request);
            var found = SearchSparse(current, sparseSlot, query, excluded, filter, limit);
            return (found.ConvertAll(n => new Ranked(n.Node, -n.Distance)), true);
        }

        var (slot, vector, exclude) = ResolveQueryVector(current, request);
        var ef = Math.Max(limit, request.HnswEf ?? slot.Hnsw.Ef ?? options.HnswDefaults.EfSearch);
        var nodes = SearchVectors(current, slot, vector, filter, exclude, limit, ef, request.Exact, request.Quantization);
        var ranked = new List<Ranked>(nodes.Count);
        foreach (var node in nodes)
        {
            ranked.Add(new Ranked(node.Node, slot.Distance.ToScore(node.Distance)));
        }

        return (ranked, slot.Distance.HigherIsBetter());
    }

    /// <summary>
    /// Top <paramref name="limit"/> by sparse score among live points passing the filter. As in Qdrant, a filtered
    /// query whose matches are estimated below the slot's <c>full_scan_threshold</c> scores those points one by one;
    /// otherwise (and always without a filter) it walks the inverted index. The estimate is the payload index's
    /// candidate count, or every live point when no index answers the filter (Qdrant's upper bound). Both ways give
    /// the same answer.
    /// </summary>
    internal static List<ScoredNode> SearchSparse(SegmentState current, SparseSlot slot, SparseVector query, int excluded, Filter? filter, int limit)
    {
        bool Accept(int offset) => offset != excluded && current.IsLive(offset) && (filter is null || FilterEvaluator.Matches(filter, current, offset));

        if (filter is not null && !filter.IsEmpty)
        {
            var candidates = IndexedCandidates(current, filter);
            if ((candidates?.Length ?? current.LiveCount) < slot.FullScanThreshold)
            {
                return slot.SearchPoints(query, Accept, limit, candidates, current.Count);
            }
        }

        return slot.Search(query, Accept, limit);
    }

    /// <summary>The prefetched points scored exactly by this query's vector.</summary>
    private (SparseVector Query, int Exclude) ResolveSparseQuery(SegmentState current, SparseSlot slot, QueryRequest request)
    {
        switch (request.Query)
        {
            case SparseVectorQuery sparse:
                return (sparse.Vector, -1);
            case PointIdQuery byId:
                if (!current.TryGetOffset(byId.Id, out var offset))
                {
                    throw VectorizerException.PointNotFound(byId.Id.ToString());
                }

                return (slot.Get(offset) ?? throw new VectorizerException(ErrorCode.PointNotFound, $"Vector with name `{slot.Name}` for point {byId.Id} not found"), offset);
            default:
                throw VectorizerException.BadRequest($"`{slot.Name}` is a sparse vector: query it with {{\"indices\": [...], \"values\": [...]}}");
        }
    }

    private (List<Ranked>, bool) Rescore(SegmentState current, QueryRequest request, List<Ranked> candidates, Filter? filter, int limit)
    {
        if (current.SparseSlot(request.Using) is { } sparseSlot)
        {
            var (query, excluded) = ResolveSparseQuery(current, sparseSlot, request);
            var rescored = new List<Ranked>(candidates.Count);
            foreach (var candidate in candidates)
            {
                if (candidate.Offset != excluded && sparseSlot.Get(candidate.Offset) is not null && (filter is null || FilterEvaluator.Matches(filter, current, candidate.Offset)))
                {
                    rescored.Add(new Ranked(candidate.Offset, sparseSlot.Score(query, candidate.Offset)));
                }
            }

            rescored.Sort((a, b) => a.Score != b.Score ? b.Score.CompareTo(a.Score) : a.Offset.CompareTo(b.Offset));
            return (rescored.Count > limit ? rescored[..limit] : rescored, true);
        }

        var (slot, vector, exclude) = ResolveQueryVector(current, request);
        var scored = new List<(float Distance, int Offset)>(candidates.Count);
        foreach (var candidate in candidates)
        {
            var offset = candidate.Offset;
            if (offset == exclude || !slot.Searchable.Get(offset) || (filter is not null && !FilterEvaluator.Matches(filter, current, offset)))
            {
                continue;
            }

            scored.Add((MetricDispatch.Distance(slot.Distance, vector, slot.Store.Get(offset)), offset));
        }

        scored.Sort((a, b) => a.Distance != b.Distance ? a.Distance.CompareTo(b.Distance) : a.Offset.CompareTo(b.Offset));
        var ranked = new List<Ranked>(Math.Min(limit, scored.Count));
        for (var i = 0; i < scored.Count && i < limit; i++)
        {
            ranked.Add(new Ranked(scored[i].Offset, slot.Distance.ToScore(scored[i].Distance)));
        }

        return (ranked, slot.Distance.HigherIsBetter());
    }

    /// <summary>Every point of the lists once, in first-seen order (list by list).</summary>
    private static List<Ranked> Union(List<List<Ranked>> lists, int limit)
    {
        var seen = new HashSet<int>();
        var union = new List<Ranked>();
        foreach (var list in lists)
        {
            foreach (var item in list)
            {
                if (union.Count < limit && seen.Add(item.Offset))
                {
                    union.Add(item);
                }
            }
        }

        return union;
    }

    /// <summary>
    /// RRF: a point at 0-based position p of a list with weight w scores 1 / ((p + 1) / w + k − 1), summed over
    /// the lists (Qdrant's formula; k = 2 by default). DBSF: each list's scores are mapped from
    /// [mean − 3σ, mean + 3σ] to [0, 1] (clamped; reversed when lower is better), then summed.
    /// Ties go to the lower offset so the order is deterministic.
    /// </summary>
    internal static List<(int Offset, float Score)> FuseLists(
        IReadOnlyList<IReadOnlyList<(int Offset, float Score)>> lists, IReadOnlyList<bool> higherIsBetter, FusionQuery fusion, int limit)
    {
        if (fusion.Weights is { } weights && weights.Count != lists.Count)
        {
            throw VectorizerException.BadRequest($"Number of weights in RRF should match number of pre-fetches: got {weights.Count}, expected {lists.Count}");
        }

        if (fusion.K < 1)
        {
            throw VectorizerException.Validation($"rrf.k: value {fusion.K} invalid, must be 1 or larger");
        }

        var totals = new Dictionary<int, float>();
        for (var l = 0; l < lists.Count; l++)
        {
            var list = lists[l];
            if (fusion.Method == FusionMethod.Rrf)
            {
                var weight = fusion.Weights?[l] ?? 1f;
                for (var position = 0; position < list.Count; position++)
                {
                    var contribution = weight <= 0 ? 0f : 1f / (((position + 1) / weight) + fusion.K - 1);
                    totals[list[position].Offset] = totals.GetValueOrDefault(list[position].Offset) + contribution;
                }

                continue;
            }

            if (list.Count == 0)
            {
                continue;
            }

            double sum = 0, squares = 0;
            foreach (var (_, score) in list)
            {
                sum += score;
                squares += (double)score * score;
            }

            var mean = sum / list.Count;
            var std = Math.Sqrt(Math.Max(0, (squares / list.Count) - (mean * mean)));
            foreach (var (offset, score) in list)
            {
                var normalized = std == 0 ? 0.5 : Math.Clamp((score - (mean - (3 * std))) / (6 * std), 0, 1);
                if (!higherIsBetter[l])
                {
                    normalized = 1 - normalized;
                }

                totals[offset] = totals.GetValueOrDefault(offset) + (float)normalized;
            }
        }

        var fused = new List<(int Offset, float Score)>(totals.Count);
        foreach (var (offset, score) in totals)
        {
            fused.Add((offset, score));
        }

        fused.Sort((a, b) => a.Score != b.Score ? b.Score.CompareTo(a.Score) : a.Offset.CompareTo(b.Offset));
        if (fused.Count > limit)
        {
            fused.RemoveRange(limit, fused.Count - limit);
        }

        return fused;
    }

    private static List<Ranked> Fuse(List<List<Ranked>> lists, List<bool> higherIsBetter, FusionQuery fusion, int limit)
    {
        var input = new List<IReadOnlyList<(int, float)>>(lists.Count);
        foreach (var list in lists)
        {
            input.Add(list.ConvertAll(r => (r.Offset, r.Score)));
        }

        return FuseLists(input, higherIsBetter, fusion, limit).ConvertAll(f => new Ranked(f.Offset, f.Score));
    }
}
