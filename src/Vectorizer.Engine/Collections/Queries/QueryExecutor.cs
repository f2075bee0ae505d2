using System.Text.Json;
using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Filters;
using Vectorizer.Engine.Index;
using Vectorizer.Engine.Points;
using Vectorizer.Engine.Sparse;
using Vectorizer.Engine.Vectors;

namespace Vectorizer.Engine.Collections.Queries;

/// <summary>
/// Runs a collection's reads over one <see cref="CollectionState"/>: retrieve, scroll, count and the universal query.
/// A query with <c>prefetch</c> runs its sub-queries first (recursively, each with its own query, vector name,
/// filter, limit and params, and the parent's filter on top); the main query then fuses their lists
/// (<see cref="Fusion"/>), re-scores their union with its own vector, orders it by a payload value
/// (<see cref="OrderByReader"/>) or samples it (<see cref="RandomSample"/>). Nearest-neighbour search is
/// <see cref="VectorSearch"/>. Everything runs on one consistent state: the caller holds the collection's read lock
/// for the whole call.
/// </summary>
internal sealed class QueryExecutor
{
    private readonly EngineOptions options;
    private readonly Func<long> version;

    /// <param name="options">The engine's options.</param>
    /// <param name="version">The collection's WAL position (every write advances it): searches remember unindexed filters' answers at it.</param>
    public QueryExecutor(EngineOptions options, Func<long> version)
    {
        this.options = options;
        this.version = version;
    }

    /// <summary>A point's offset and its score (and order value, from <c>order_by</c>), in the order of the list that holds it (best first).</summary>
    private readonly record struct Ranked(int Offset, float Score, double? OrderValue = null);

    /// <summary>The points with the given ids, in request order; missing ids are skipped.</summary>
    public List<PointRecord> Retrieve(CollectionState current, IReadOnlyList<PointId> ids, PayloadSelector withPayload, VectorSelector withVector)
    {
        ValidateVectorSelector(current, withVector);
        var seen = new HashSet<PointId>();
        var result = new List<PointRecord>(ids.Count);
        foreach (var id in ids)
        {
            if (seen.Add(id) && current.TryGetOffset(id, out var offset))
            {
                result.Add(ToRecord(current, offset, withPayload, withVector, null));
            }
        }

        return result;
    }

    /// <summary>Pages through points in id order (or payload order with <see cref="ScrollRequest.OrderBy"/>).</summary>
    public ScrollResult Scroll(CollectionState current, ScrollRequest request)
    {
        ValidateVectorSelector(current, request.WithVector);
        if (request.OrderBy is { } orderBy)
        {
            return new ScrollResult(ScrollOrdered(current, request, orderBy), null);
        }

        var points = new List<PointRecord>(Math.Min(request.Limit, 1024));
        var ids = current.OrderedIds(request.Offset);
        foreach (var id in ids)
        {
            current.TryGetOffset(id, out var offset);
            if (request.Filter is not null && !FilterEvaluator.Matches(request.Filter, current, offset))
            {
                continue;
            }

            if (points.Count == request.Limit)
            {
                return new ScrollResult(points, id);
            }

            points.Add(ToRecord(current, offset, request.WithPayload, request.WithVector, null));
        }

        return new ScrollResult(points, null);
    }

    private static List<PointRecord> ScrollOrdered(CollectionState current, ScrollRequest request, OrderBy orderBy)
    {
        var entries = OrderByReader.Read(current, orderBy, request.Filter, null, request.Limit, distinct: false);
        var points = new List<PointRecord>(entries.Count);
        foreach (var (value, offset) in entries)
        {
            points.Add(ToRecord(current, offset, request.WithPayload, request.WithVector, value));
        }

        return points;
    }

    /// <summary>Exact number of live points passing <paramref name="filter"/>.</summary>
    public static long Count(CollectionState current, Filter? filter)
    {
        if (filter is null || filter.IsEmpty)
        {
            return current.LiveCount;
        }

        long matches = 0;
        var candidates = current.IndexedCandidates(filter);
        var count = candidates?.Length ?? current.Count;
        for (var i = 0; i < count; i++)
        {
            var offset = candidates is null ? i : candidates[i];
            if (!current.Deleted.Get(offset) && FilterEvaluator.Matches(filter, current, offset))
            {
                matches++;
            }
        }

        return matches;
    }

    /// <summary>
    /// Universal query: nearest neighbours of a vector or of a stored point, recommendations, discovery and context
    /// searches, fusion and re-scoring of prefetched points, payload order, random samples, or (without a query) points
    /// in id order with score 1. Scores follow Qdrant: similarity for Cosine/Dot, distance for Euclid/Manhattan; the
    /// example queries score by their own formulas (higher is better).
    /// </summary>
    public List<ScoredPoint> Query(CollectionState current, QueryRequest request)
    {
        ValidateVectorSelector(current, request.WithVector);
        ValidateWindow(request);
        var (ranked, _) = RankTop(current, request, Window(current, (long)request.Offset + request.Limit));
        var results = new List<ScoredPoint>(Math.Max(0, ranked.Count - request.Offset));
        for (var i = request.Offset; i < ranked.Count; i++)
        {
            var (offset, score, orderValue) = ranked[i];
            results.Add(ToScored(current, offset, score, request.WithPayload, request.WithVector, orderValue));
        }

        return results;
    }

    /// <summary>
    /// A query's results grouped by a payload field (see <see cref="GroupsRequest"/>). The query runs for
    /// <c>limit × group_size</c> points first and again for twice as many while a group is short and more points
    /// match: the groups are those of the best points, and every group gets its best points.
    /// </summary>
    public List<PointGroup> QueryGroups(CollectionState current, GroupsRequest request)
    {
        var query = request.Query;
        ValidateVectorSelector(current, query.WithVector);
        ValidateWindow(query);
        if (request.GroupSize < 1)
        {
            throw VectorizerException.Validation($"group_size: value {request.GroupSize} invalid, must be 1 or larger");
        }

        if (request.Limit < 1)
        {
            throw VectorizerException.Validation($"limit: value {request.Limit} invalid, must be 1 or larger");
        }

        var wanted = (long)request.Limit * request.GroupSize;
        var fetch = Window(current, wanted);
        var values = new List<JsonElement>();
        while (true)
        {
            var (ranked, _) = RankTop(current, query, fetch);
            var groups = new List<(GroupKey Key, List<Ranked> Hits)>();
            var byKey = new Dictionary<GroupKey, int>();
            var full = 0;
            foreach (var item in ranked)
            {
                values.Clear();
                request.GroupBy.CollectValues(current.PayloadOf(item.Offset), values);
                var keys = GroupKeys(values);
                foreach (var key in keys)
                {
                    if (!byKey.TryGetValue(key, out var index))
                    {
                        if (groups.Count == request.Limit)
                        {
                            continue;
                        }

                        index = groups.Count;
                        byKey[key] = index;
                        groups.Add((key, []));
                    }

                    var hits = groups[index].Hits;
                    if (hits.Count < request.GroupSize)
                    {
                        hits.Add(item);
                        if (hits.Count == request.GroupSize)
                        {
                            full++;
                        }
                    }
                }
            }

            var exhausted = ranked.Count < fetch || fetch >= current.Count;
            if (exhausted || full == request.Limit)
            {
                return groups.ConvertAll(g => new PointGroup(
                    g.Key,
                    g.Hits.ConvertAll(h => ToScored(current, h.Offset, h.Score, query.WithPayload, query.WithVector, h.OrderValue))));
            }

            fetch = Window(current, (long)fetch * 2);
        }
    }

    /// <summary>The group keys of a point: its distinct string and integer values at the group-by path (arrays fan out).</summary>
    private static List<GroupKey> GroupKeys(List<JsonElement> values)
    {
        var keys = new List<GroupKey>(values.Count);
        foreach (var value in values)
        {
            if (value.ValueKind == JsonValueKind.Array)
            {
                foreach (var item in value.EnumerateArray())
                {
                    AddKey(item, keys);
                }
            }
            else
            {
                AddKey(value, keys);
            }
        }

        return keys;

        static void AddKey(JsonElement value, List<GroupKey> keys)
        {
            GroupKey? key = value.ValueKind switch
            {
                JsonValueKind.String => GroupKey.Of(value.GetString()!),
                JsonValueKind.Number when value.TryGetInt64(out var integer) => GroupKey.Of(integer),
                _ => null,
            };
            if (key is { } k && !keys.Contains(k))
            {
                keys.Add(k);
            }
        }
    }

    private static void ValidateWindow(QueryRequest request)
    {
        if (request.Limit < 1)
        {
            throw VectorizerException.Validation($"limit: value {request.Limit} invalid, must be 1 or larger");
        }

        if (request.Offset < 0)
        {
            throw VectorizerException.Validation($"offset: value {request.Offset} invalid, must be 0 or larger");
        }
    }

    /// <summary>
    /// How many results to compute: what was asked for, but never more than the points there are (a client may ask for
    /// <c>u64::MAX</c>; buffers are sized by this).
    /// </summary>
    private static int Window(CollectionState current, long wanted) => (int)Math.Clamp(Math.Min(wanted, current.Count), 1, int.MaxValue);

    /// <summary>The best <paramref name="k"/> points of a top-level request, past its score threshold, and whether higher scores are better.</summary>
    private (List<Ranked> Ranked, bool HigherIsBetter) RankTop(CollectionState current, QueryRequest request, int k)
    {
        if (request.Prefetch.Count == 0 && request.Query is null)
        {
            if (request.ScoreThreshold is not null)
            {
                throw VectorizerException.BadRequest("A query is needed to use the score_threshold. Can't have score_threshold without defining a query.");
            }

            return (ByIds(current, request.Filter, k), true);
        }

        var (ranked, higherIsBetter) = Rank(current, request, inheritedFilter: null, k);
        ApplyThreshold(request, ranked, higherIsBetter);
        return (ranked, higherIsBetter);
    }

    /// <summary>Cuts the list at the first point that does not pass the request's score threshold (order_by and sample queries have none).</summary>
    private static void ApplyThreshold(QueryRequest request, List<Ranked> ranked, bool higherIsBetter)
    {
        if (request.ScoreThreshold is not { } threshold || request.Query is OrderByQuery or SampleQuery)
        {
            return;
        }

        var keep = ranked.FindIndex(r => higherIsBetter ? r.Score <= threshold : r.Score >= threshold);
        if (keep >= 0)
        {
            ranked.RemoveRange(keep, ranked.Count - keep);
        }
    }

    /// <summary>Points in id order passing the filter, score 1 (a query without a vector, or a prefetch without a query).</summary>
    private static List<Ranked> ByIds(CollectionState current, Filter? filter, int limit)
    {
        var results = new List<Ranked>(Math.Min(limit, 1024));
        foreach (var id in current.OrderedIds())
        {
            current.TryGetOffset(id, out var offset);
            if (filter is not null && !FilterEvaluator.Matches(filter, current, offset))
            {
                continue;
            }

            results.Add(new Ranked(offset, 1.0f));
            if (results.Count == limit)
            {
                break;
            }
        }

        return results;
    }


    private static void ValidateVectorSelector(CollectionState current, VectorSelector selector)
    {
        if (selector.Names is { } names)
        {
            foreach (var name in names)
            {
                if (current.Slot(name) is null && current.SparseSlot(name) is null)
                {
                    throw VectorizerException.VectorNameNotFound(name);
                }
            }
        }
    }

    private static PointRecord ToRecord(CollectionState current, int offset, PayloadSelector withPayload, VectorSelector withVector, double? orderValue) =>
        new(
            current.IdOf(offset),
            current.VersionOf(offset),
            withPayload.Enabled ? withPayload.Apply(current.PayloadObjectOf(offset)) : null,
            withVector.Enabled ? current.VectorsOf(offset, withVector.Names) : null,
            orderValue,
            withVector.Enabled ? current.SparseVectorsOf(offset, withVector.Names) : null);

    private static ScoredPoint ToScored(CollectionState current, int offset, float score, PayloadSelector withPayload, VectorSelector withVector, double? orderValue = null) =>
        new(
            current.IdOf(offset),
            current.VersionOf(offset),
            score,
            withPayload.Enabled ? withPayload.Apply(current.PayloadObjectOf(offset)) : null,
            withVector.Enabled ? current.VectorsOf(offset, withVector.Names) : null,
            withVector.Enabled ? current.SparseVectorsOf(offset, withVector.Names) : null,
            orderValue);

    // ------------------------------------------------------------------ prefetch and fusion

    /// <summary>The best <paramref name="limit"/> points of one (sub-)query, best first, and whether higher scores are better.</summary>
    private (List<Ranked> Ranked, bool HigherIsBetter) Rank(CollectionState current, QueryRequest request, Filter? inheritedFilter, int limit)
    {
        var filter = Combine(inheritedFilter, request.Filter);
        if (request.LookupFrom is not null)
        {
            throw new VectorizerException(ErrorCode.Internal, "`lookup_from` must be resolved before the query reaches the collection");
        }

        if (request.ScoreThreshold is not null && request.Query is OrderByQuery)
        {
            throw VectorizerException.BadRequest("Can't use score_threshold with an order_by query.");
        }

        if (request.Prefetch.Count == 0)
        {
            return request.Query switch
            {
                null => (ByIds(current, filter, limit), true),
                FusionQuery => throw VectorizerException.BadRequest("A fusion query needs at least one `prefetch`"),
                OrderByQuery orderBy => (Ordered(current, orderBy.OrderBy, filter, null, limit), true),
                SampleQuery => (Sampled(current, filter, null, limit), true),
                _ => Search(current, request, filter, limit),
            };
        }

        if (request.Query is null)
        {
            throw VectorizerException.BadRequest("A query is needed to merge the prefetches. Can't have prefetches without defining a query.");
        }

        var lists = new List<List<Ranked>>(request.Prefetch.Count);
        var directions = new List<bool>(request.Prefetch.Count);
        foreach (var prefetch in request.Prefetch)
        {
            ValidateWindow(prefetch);
            var (list, higherIsBetter) = Rank(current, prefetch, filter, Window(current, prefetch.Limit));
            ApplyThreshold(prefetch, list, higherIsBetter);
            lists.Add(list);
            directions.Add(higherIsBetter);
        }

        switch (request.Query)
        {
            case FusionQuery fusion:
                return (Fuse(lists, directions, fusion, limit), true);
            case OrderByQuery orderBy:
                return (Ordered(current, orderBy.OrderBy, filter, UnionOffsets(lists), limit), true);
            case SampleQuery:
                return (Sampled(current, filter, UnionOffsets(lists), limit), true);
            default:
                return Rescore(current, request, Union(lists, int.MaxValue), filter, limit);
        }
    }


    /// <summary>Points in <paramref name="orderBy"/>'s order, each once, scoring 1 (Qdrant) with their order value.</summary>
    private static List<Ranked> Ordered(CollectionState current, OrderBy orderBy, Filter? filter, int[]? within, int limit)
    {
        var entries = OrderByReader.Read(current, orderBy, filter, within, limit, distinct: true);
        var ranked = new List<Ranked>(entries.Count);
        foreach (var (value, offset) in entries)
        {
            ranked.Add(new Ranked(offset, 1f, value));
        }

        return ranked;
    }

    private static List<Ranked> Sampled(CollectionState current, Filter? filter, int[]? within, int limit)
    {
        var offsets = RandomSample.Offsets(current, filter, within, limit, Random.Shared);
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

    /// <summary>
    /// The plain vector a query searches with: the query itself, or the average vector of a recommendation (with the
    /// stored examples to exclude).
    /// </summary>
    private static (QueryInput Query, int[]? Excluded) PlainQuery(CollectionState current, QueryRequest request) =>
        request.Query is RecommendQuery recommend
            ? ExampleScoring.AverageVector(current, request.Using, recommend)
            : (request.Query!, null);

    /// <summary>The query's vector (preprocessed), its slot, and the points to exclude (a query by point id, stored examples).</summary>
    private static (VectorSlot Slot, float[] Vector, int[]? Excluded) ResolveQueryVector(CollectionState current, QueryRequest request)
    {
        var slot = WritePath.SlotOrThrow(current, request.Using);
        var (input, excluded) = PlainQuery(current, request);
        switch (input)
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
                return (slot, vector, excluded);
            case PointIdQuery byId:
                if (!current.TryGetOffset(byId.Id, out var exclude))
                {
                    throw VectorizerException.PointNotFound(byId.Id.ToString());
                }

                if (!slot.Searchable.Get(exclude))
                {
                    throw new VectorizerException(ErrorCode.PointNotFound, $"Vector with name `{request.Using}` for point {byId.Id} not found");
                }

                return (slot, slot.Store.Get(exclude).ToArray(), [exclude]);
            case SparseVectorQuery:
                throw VectorizerException.BadRequest($"`{(request.Using.Length == 0 ? "the default vector" : request.Using)}` is a dense vector; sparse queries need `using` to name a sparse vector");
            default:
                throw VectorizerException.BadRequest($"Query type {input.GetType().Name} cannot be used here");
        }
    }

    private (List<Ranked>, bool) Search(CollectionState current, QueryRequest request, Filter? filter, int limit)
    {
        if (ExampleScoring.IsScoredByExamples(request.Query))
        {
            var scoring = ExampleScoring.Create(current, request.Using, request.Query!);
            var ef = current.Slot(request.Using) is { } denseSlot ? Math.Max(limit, request.HnswEf ?? denseSlot.Hnsw.Ef ?? options.HnswDefaults.EfSearch) : limit;
            return (scoring.Search(current, filter, limit, ef, request.Exact).ConvertAll(r => new Ranked(r.Offset, r.Score)), true);
        }

        if (current.SparseSlot(request.Using) is { } sparseSlot)
        {
            var (query, excluded) = ResolveSparseQuery(current, sparseSlot, request);
            var found = VectorSearch.SearchSparse(current, sparseSlot, query, excluded, filter, limit);
            return (found.ConvertAll(n => new Ranked(n.Node, -n.Distance)), true);
        }

        var (slot, vector, exclude) = ResolveQueryVector(current, request);
        var efSearch = Math.Max(limit, request.HnswEf ?? slot.Hnsw.Ef ?? options.HnswDefaults.EfSearch);
        var nodes = VectorSearch.Search(current, slot, vector, filter, exclude, limit, efSearch, request.Exact, request.Quantization, version());
        var ranked = new List<Ranked>(nodes.Count);
        foreach (var node in nodes)
        {
            ranked.Add(new Ranked(node.Node, slot.Distance.ToScore(node.Distance)));
        }

        return (ranked, slot.Distance.HigherIsBetter());
    }

    /// <summary>The sparse query vector (given, a stored point's, or a recommendation's average) and the points to exclude.</summary>
    private static (SparseVector Query, int[]? Excluded) ResolveSparseQuery(CollectionState current, SparseSlot slot, QueryRequest request)
    {
        var (input, excluded) = PlainQuery(current, request);
        switch (input)
        {
            case SparseVectorQuery sparse:
                return (sparse.Vector, excluded);
            case PointIdQuery byId:
                if (!current.TryGetOffset(byId.Id, out var offset))
                {
                    throw VectorizerException.PointNotFound(byId.Id.ToString());
                }

                return (slot.Get(offset) ?? throw new VectorizerException(ErrorCode.PointNotFound, $"Vector with name `{slot.Name}` for point {byId.Id} not found"), [offset]);
            default:
                throw VectorizerException.BadRequest($"`{slot.Name}` is a sparse vector: query it with {{\"indices\": [...], \"values\": [...]}}");
        }
    }

    /// <summary>The prefetched points scored exactly by this query (its vector, or its examples).</summary>
    private static (List<Ranked>, bool) Rescore(CollectionState current, QueryRequest request, List<Ranked> candidates, Filter? filter, int limit)
    {
        if (ExampleScoring.IsScoredByExamples(request.Query))
        {
            var scoring = ExampleScoring.Create(current, request.Using, request.Query!);
            var byExamples = new List<Ranked>(candidates.Count);
            foreach (var candidate in candidates)
            {
                var offset = candidate.Offset;
                if (Array.IndexOf(scoring.Excluded, offset) < 0 && scoring.HasVector(offset) && (filter is null || FilterEvaluator.Matches(filter, current, offset)))
                {
                    byExamples.Add(new Ranked(offset, scoring.Score(offset)));
                }
            }

            byExamples.Sort((a, b) => a.Score != b.Score ? b.Score.CompareTo(a.Score) : a.Offset.CompareTo(b.Offset));
            return (byExamples.Count > limit ? byExamples[..limit] : byExamples, true);
        }

        if (current.SparseSlot(request.Using) is { } sparseSlot)
        {
            var (query, excluded) = ResolveSparseQuery(current, sparseSlot, request);
            var weights = sparseSlot.QueryWeights(query);
            var rescored = new List<Ranked>(candidates.Count);
            foreach (var candidate in candidates)
            {
                if (!IsExcluded(excluded, candidate.Offset) && sparseSlot.Get(candidate.Offset) is not null && (filter is null || FilterEvaluator.Matches(filter, current, candidate.Offset)))
                {
                    rescored.Add(new Ranked(candidate.Offset, sparseSlot.Score(query, weights, candidate.Offset)));
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
            if (IsExcluded(exclude, offset) || !slot.Searchable.Get(offset) || (filter is not null && !FilterEvaluator.Matches(filter, current, offset)))
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

    private static bool IsExcluded(int[]? excluded, int offset) => excluded is not null && Array.IndexOf(excluded, offset) >= 0;


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

    private static List<Ranked> Fuse(List<List<Ranked>> lists, List<bool> higherIsBetter, FusionQuery fusion, int limit)
    {
        var input = new List<IReadOnlyList<(int, float)>>(lists.Count);
        foreach (var list in lists)
        {
            input.Add(list.ConvertAll(r => (r.Offset, r.Score)));
        }

        return Fusion.Fuse(input, higherIsBetter, fusion, limit).ConvertAll(f => new Ranked(f.Offset, f.Score));
    }
}
