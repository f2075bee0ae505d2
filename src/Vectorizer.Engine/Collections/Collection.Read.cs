using System.Text.Json;
using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Filters;
using Vectorizer.Engine.Index;
using Vectorizer.Engine.Points;
using Vectorizer.Engine.Vectors;

namespace Vectorizer.Engine.Collections;

public sealed partial class Collection
{
    /// <summary>The points with the given ids, in request order; missing ids are skipped.</summary>
    public IReadOnlyList<PointRecord> Retrieve(IReadOnlyList<PointId> ids, PayloadSelector withPayload, VectorSelector withVector)
    {
        ValidateVectorSelector(withVector);
        rw.EnterReadLock();
        try
        {
            var current = State;
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
        finally
        {
            rw.ExitReadLock();
        }
    }

    /// <summary>Pages through points in id order (or payload order with <see cref="ScrollRequest.OrderBy"/>).</summary>
    public ScrollResult Scroll(ScrollRequest request)
    {
        ValidateVectorSelector(request.WithVector);
        rw.EnterReadLock();
        try
        {
            var current = State;
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
        finally
        {
            rw.ExitReadLock();
        }
    }

    private static List<PointRecord> ScrollOrdered(SegmentState current, ScrollRequest request, OrderBy orderBy)
    {
        var entries = ReadOrdered(current, orderBy, request.Filter, null, request.Limit, distinct: false);
        var points = new List<PointRecord>(entries.Count);
        foreach (var (value, offset) in entries)
        {
            points.Add(ToRecord(current, offset, request.WithPayload, request.WithVector, value));
        }

        return points;
    }

    /// <summary>Exact number of live points passing <paramref name="filter"/>.</summary>
    public long Count(Filter? filter)
    {
        rw.EnterReadLock();
        try
        {
            var current = State;
            if (filter is null || filter.IsEmpty)
            {
                return current.LiveCount;
            }

            long matches = 0;
            var candidates = IndexedCandidates(current, filter);
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
        finally
        {
            rw.ExitReadLock();
        }
    }

    /// <summary>
    /// Universal query: nearest neighbours of a vector or of a stored point, or (without a query) points in id
    /// order with score 1. Scores follow Qdrant: similarity for Cosine/Dot, distance for Euclid/Manhattan.
    /// </summary>
    public IReadOnlyList<ScoredPoint> Query(QueryRequest request)
    {
        using var span = Diagnostics.EngineTelemetry.Source.StartActivity("search");
        span?.SetTag(Diagnostics.EngineTelemetry.CollectionTag, Name);
        ValidateVectorSelector(request.WithVector);
        if (request.Limit < 1)
        {
            throw VectorizerException.Validation($"limit: value {request.Limit} invalid, must be 1 or larger");
        }

        if (request.Offset < 0)
        {
            throw VectorizerException.Validation($"offset: value {request.Offset} invalid, must be 0 or larger");
        }

        if (request.Prefetch.Count > 0 || request.Query is FusionQuery or SparseVectorQuery or OrderByQuery or SampleQuery || State.SparseSlot(request.Using) is not null)
        {
            return QueryWithPrefetch(request);
        }

        if (request.Query is null)
        {
            if (request.ScoreThreshold is not null)
            {
                throw VectorizerException.BadRequest("A query is needed to use the score_threshold. Can't have score_threshold without defining a query.");
            }

            return QueryWithoutVector(request);
        }

        var k = checked(request.Offset + request.Limit);
        rw.EnterReadLock();
        try
        {
            var current = State;
            var (slot, vector, exclude) = ResolveQueryVector(current, request);
            var ef = Math.Max(k, request.HnswEf ?? slot.Hnsw.Ef ?? options.HnswDefaults.EfSearch);
            var nodes = SearchVectors(current, slot, vector, request.Filter, exclude, k, ef, request.Exact, request.Quantization);
            var results = new List<ScoredPoint>(Math.Max(0, nodes.Count - request.Offset));
            for (var i = request.Offset; i < nodes.Count; i++)
            {
                var score = slot.Distance.ToScore(nodes[i].Distance);
                if (request.ScoreThreshold is { } threshold && !PassesThreshold(slot.Distance, score, threshold))
                {
                    break;
                }

                results.Add(ToScored(current, nodes[i].Node, score, request.WithPayload, request.WithVector));
            }

            return results;
        }
        finally
        {
            rw.ExitReadLock();
        }
    }

    private static bool PassesThreshold(Distance distance, float score, float threshold) =>
        distance.HigherIsBetter() ? score > threshold : score < threshold;

    private List<ScoredPoint> QueryWithoutVector(QueryRequest request)
    {
        rw.EnterReadLock();
        try
        {
            var current = State;
            var results = new List<ScoredPoint>(request.Limit);
            var skipped = 0;
            foreach (var id in current.OrderedIds())
            {
                current.TryGetOffset(id, out var offset);
                if (request.Filter is not null && !FilterEvaluator.Matches(request.Filter, current, offset))
                {
                    continue;
                }

                if (skipped++ < request.Offset)
                {
                    continue;
                }

                results.Add(ToScored(current, offset, 1.0f, request.WithPayload, request.WithVector));
                if (results.Count == request.Limit)
                {
                    break;
                }
            }

            return results;
        }
        finally
        {
            rw.ExitReadLock();
        }
    }

    private void ValidateVectorSelector(VectorSelector selector)
    {
        if (selector.Names is { } names)
        {
            foreach (var name in names)
            {
                if (!Config.Vectors.ContainsKey(name) && State.SparseSlot(name) is null)
                {
                    throw VectorizerException.VectorNameNotFound(name);
                }
            }
        }
    }

    private static PointRecord ToRecord(SegmentState current, int offset, PayloadSelector withPayload, VectorSelector withVector, double? orderValue) =>
        new(
            current.IdOf(offset),
            current.VersionOf(offset),
            withPayload.Enabled ? withPayload.Apply(current.PayloadObjectOf(offset)) : null,
            withVector.Enabled ? current.VectorsOf(offset, withVector.Names) : null,
            orderValue,
            withVector.Enabled ? current.SparseVectorsOf(offset, withVector.Names) : null);

    private static ScoredPoint ToScored(SegmentState current, int offset, float score, PayloadSelector withPayload, VectorSelector withVector, double? orderValue = null) =>
        new(
            current.IdOf(offset),
            current.VersionOf(offset),
            score,
            withPayload.Enabled ? withPayload.Apply(current.PayloadObjectOf(offset)) : null,
            withVector.Enabled ? current.VectorsOf(offset, withVector.Names) : null,
            withVector.Enabled ? current.SparseVectorsOf(offset, withVector.Names) : null,
            orderValue);

    /// <summary>Internal: raw nearest-neighbour search for benchmarks and tests (offsets and internal distances).</summary>
    internal List<ScoredNode> SearchRaw(string vectorName, float[] preprocessedQuery, int k, int ef, bool exact)
    {
        rw.EnterReadLock();
        try
        {
            var current = State;
            return SearchVectors(current, SlotOrThrow(current, vectorName), preprocessedQuery, null, -1, k, ef, exact);
        }
        finally
        {
            rw.ExitReadLock();
        }
    }
}
