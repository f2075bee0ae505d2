using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Filters;
using Vectorizer.Engine.Operations;
using Vectorizer.Engine.Points;
using Vectorizer.Server.Application.Caching;

using Vectorizer.Server.Observability;

namespace Vectorizer.Server.Application;

/// <summary>An answer together with the collection that gave it (a read through an alias may be routed).</summary>
public readonly record struct Served<T>(Collection Collection, T Result);

/// <summary>The points of another collection to attach to each group of a grouped query: the one whose id is the group's key.</summary>
public sealed record GroupLookup(string Collection, PayloadSelector WithPayload, VectorSelector WithVector);

/// <summary>
/// A grouped query's answer: the groups and, with a <see cref="GroupLookup"/>, the looked-up point of each group (null
/// where the key names no point) and the collection they came from.
/// </summary>
public sealed record GroupsAnswer(IReadOnlyList<PointGroup> Groups, IReadOnlyList<PointRecord?>? Lookups = null, Collection? LookupCollection = null);

/// <summary>Point writes and reads: the one implementation behind REST, gRPC and MCP.</summary>
public sealed class PointsService(CollectionsService collections, IssuesService issues, QueryCache cache, IWriteGuard writes)
{
    public async ValueTask<Served<UpdateResult>> UpdateAsync(CallContext call, string collection, UpdateOperation operation, bool wait, CancellationToken cancellationToken)
    {
        using var span = ServerTelemetry.Operation("points.update", null);
        var target = collections.Resolve(call, collection, AccessLevel.Write);
        writes.CheckWritable();
        StrictMode.CheckUpdate(target, operation);
        var result = await target.UpdateAsync(operation, wait, cancellationToken).ConfigureAwait(false);
        await collections.MirrorWriteAsync(collection, target, async mirror =>
        {
            StrictMode.CheckUpdate(mirror, operation);
            await mirror.UpdateAsync(operation, wait, cancellationToken).ConfigureAwait(false);
        }).ConfigureAwait(false);
        if (wait)
        {
            await writes.AfterDurableWriteAsync(cancellationToken).ConfigureAwait(false);
        }

        return new(target, result);
    }

    public async ValueTask<Served<IReadOnlyList<UpdateResult>>> UpdateBatchAsync(CallContext call, string collection, IReadOnlyList<UpdateOperation> operations, bool wait, CancellationToken cancellationToken)
    {
        using var span = ServerTelemetry.Operation("points.update_batch", null);
        var target = collections.Resolve(call, collection, AccessLevel.Write);
        writes.CheckWritable();
        foreach (var operation in operations)
        {
            StrictMode.CheckUpdate(target, operation);
        }

        var results = await target.UpdateBatchAsync(operations, wait, cancellationToken).ConfigureAwait(false);
        await collections.MirrorWriteAsync(collection, target, async mirror =>
        {
            foreach (var operation in operations)
            {
                StrictMode.CheckUpdate(mirror, operation);
            }

            await mirror.UpdateBatchAsync(operations, wait, cancellationToken).ConfigureAwait(false);
        }).ConfigureAwait(false);
        if (wait)
        {
            await writes.AfterDurableWriteAsync(cancellationToken).ConfigureAwait(false);
        }

        return new(target, results);
    }

    public Served<IReadOnlyList<PointRecord>> Retrieve(CallContext call, string collection, IReadOnlyList<PointId> ids, PayloadSelector withPayload, VectorSelector withVector)
    {
        using var span = ServerTelemetry.Operation("points.retrieve", null);
        var target = collections.Resolve(call, collection, AccessLevel.Read);
        return new(target, target.Retrieve(ids, withPayload, withVector));
    }

    public Served<ScrollResult> Scroll(CallContext call, string collection, ScrollRequest request)
    {
        using var span = ServerTelemetry.Operation("points.scroll", null);
        var target = collections.Resolve(call, collection, AccessLevel.Read);
        StrictMode.CheckScroll(target, request);
        issues.ObserveFilter(target, request.Filter);
        return new(target, target.Scroll(request));
    }

    public Served<long> Count(CallContext call, string collection, Filter? filter)
    {
        using var span = ServerTelemetry.Operation("points.count", null);
        var target = collections.Resolve(call, collection, AccessLevel.Read);
        StrictMode.CheckCount(target, filter);
        issues.ObserveFilter(target, filter);
        return new(target, target.Count(filter));
    }

    /// <summary>
    /// The universal query (nearest neighbours, recommend, discover, context, fusion, order_by, sample; the legacy
    /// search, recommend and discover endpoints are forms of it). Stored-point examples with <c>lookup_from</c> are read
    /// from that collection first (with read access to it).
    /// </summary>
    public async ValueTask<Served<IReadOnlyList<ScoredPoint>>> QueryAsync(CallContext call, string collection, QueryRequest request, CancellationToken cancellationToken = default)
    {
        using var span = ServerTelemetry.Operation("points.query", null);
        var target = collections.Resolve(call, collection, AccessLevel.Read);
        StrictMode.CheckQuery(target, request);
        var found = await CachedQueryAsync(target, Prepare(call, target, request), cancellationToken).ConfigureAwait(false);
        call.Route?.Results(found.Count);
        return new(target, found);
    }

    /// <summary>Several queries against one collection (all answered by the same side of a routed alias), each cached on its own.</summary>
    public async ValueTask<Served<IReadOnlyList<IReadOnlyList<ScoredPoint>>>> QueryBatchAsync(CallContext call, string collection, IReadOnlyList<QueryRequest> requests, CancellationToken cancellationToken = default)
    {
        using var span = ServerTelemetry.Operation("points.query_batch", null);
        var target = collections.Resolve(call, collection, AccessLevel.Read);
        StrictMode.CheckQueryBatch(target, requests);
        var prepared = new List<QueryRequest>(requests.Count);
        foreach (var request in requests)
        {
            prepared.Add(Prepare(call, target, request));
        }

        var results = new List<IReadOnlyList<ScoredPoint>>(prepared.Count);
        foreach (var request in prepared)
        {
            results.Add(await CachedQueryAsync(target, request, cancellationToken).ConfigureAwait(false));
            call.Route?.Results(results[^1].Count);
        }

        return new(target, results);
    }

    /// <summary>A query's results grouped by a payload field, each group optionally with the point of <paramref name="lookup"/>'s collection whose id is the group's key.</summary>
    public Served<GroupsAnswer> QueryGroups(CallContext call, string collection, GroupsRequest request, GroupLookup? lookup = null)
    {
        using var span = ServerTelemetry.Operation("points.query_groups", null);
        var target = collections.Resolve(call, collection, AccessLevel.Read);
        StrictMode.CheckQuery(target, request.Query);
        var groups = target.QueryGroups(request with { Query = Prepare(call, target, request.Query) });
        call.Route?.Results(groups.Count);
        if (lookup is null)
        {
            return new(target, new GroupsAnswer(groups));
        }

        var source = collections.Resolve(call, lookup.Collection, AccessLevel.Read);
        var ids = new List<PointId>(groups.Count);
        foreach (var group in groups)
        {
            if (GroupPointId(group.Id) is { } id)
            {
                ids.Add(id);
            }
        }

        var found = source.Retrieve(ids, lookup.WithPayload, lookup.WithVector).ToDictionary(r => r.Id);
        var lookups = new List<PointRecord?>(groups.Count);
        foreach (var group in groups)
        {
            lookups.Add(GroupPointId(group.Id) is { } id && found.TryGetValue(id, out var record) ? record : null);
        }

        return new(target, new GroupsAnswer(groups, lookups, source));
    }

    /// <summary>Counts of points per value of an indexed payload field.</summary>
    public Served<IReadOnlyList<FacetHit>> Facet(CallContext call, string collection, FacetRequest request)
    {
        using var span = ServerTelemetry.Operation("points.facet", null);
        var target = collections.Resolve(call, collection, AccessLevel.Read);
        StrictMode.CheckCount(target, request.Filter);
        issues.ObserveFilter(target, request.Filter);
        var hits = target.Facet(request);
        call.Route?.Results(hits.Count);
        return new(target, hits);
    }

    /// <summary>The distance matrix of a random sample of points.</summary>
    public Served<SearchMatrix> SearchMatrix(CallContext call, string collection, SearchMatrixRequest request)
    {
        using var span = ServerTelemetry.Operation("points.search_matrix", null);
        var target = collections.Resolve(call, collection, AccessLevel.Read);
        StrictMode.CheckCount(target, request.Filter);
        issues.ObserveFilter(target, request.Filter);
        var matrix = target.SearchMatrix(request);
        call.Route?.Results(matrix.Ids.Count);
        return new(target, matrix);
    }

    /// <summary>A group key as a point id: a non-negative integer, or a UUID string.</summary>
    private static PointId? GroupPointId(GroupKey key) =>
        key.IsText ? PointId.TryParseUuid(key.Text!, out var uuid) ? uuid : null
        : key.Integer >= 0 ? PointId.FromNumber((ulong)key.Integer) : null;

    /// <summary>Notes unindexed filter fields (for <c>/issues</c>) and resolves <c>lookup_from</c>, in the request and its prefetches.</summary>
    private QueryRequest Prepare(CallContext call, Collection target, QueryRequest request)
    {
        issues.ObserveFilter(target, request.Filter);
        var prefetch = request.Prefetch;
        if (prefetch.Count > 0)
        {
            var prepared = new List<QueryRequest>(prefetch.Count);
            foreach (var item in prefetch)
            {
                prepared.Add(Prepare(call, target, item));
            }

            prefetch = prepared;
        }

        if (request.LookupFrom is not { } location)
        {
            return prefetch == request.Prefetch ? request : request with { Prefetch = prefetch };
        }

        var source = collections.Resolve(call, location.Collection, AccessLevel.Read);
        var vectorName = location.Vector ?? "";
        var isSparse = source.Config.SparseVectors.ContainsKey(vectorName);
        if (!isSparse && !source.Config.Vectors.ContainsKey(vectorName))
        {
            throw VectorizerException.VectorNameNotFound(vectorName);
        }

        QueryInput Lookup(QueryInput input)
        {
            if (input is not PointIdQuery byId)
            {
                return input;
            }

            var records = source.Retrieve([byId.Id], PayloadSelector.None, new VectorSelector(true, [vectorName]));
            if (records.Count == 0)
            {
                throw VectorizerException.PointNotFound(byId.Id.ToString());
            }

            var record = records[0];
            if (isSparse)
            {
                return record.Sparse is { } sparse && sparse.TryGetValue(vectorName, out var sparseVector)
                    ? new SparseVectorQuery(sparseVector)
                    : throw new VectorizerException(ErrorCode.PointNotFound, $"Vector with name `{vectorName}` for point {byId.Id} not found in collection `{source.Name}`");
            }

            return record.Vectors is { } vectors && vectors.TryGetValue(vectorName, out var vector)
                ? new DenseVectorQuery(vector)
                : throw new VectorizerException(ErrorCode.PointNotFound, $"Vector with name `{vectorName}` for point {byId.Id} not found in collection `{source.Name}`");
        }

        ContextPair Pair(ContextPair pair) => new(Lookup(pair.Positive), Lookup(pair.Negative));

        QueryInput? query = request.Query switch
        {
            PointIdQuery byId => Lookup(byId),
            RecommendQuery recommend => recommend with { Positive = [.. recommend.Positive.Select(Lookup)], Negative = [.. recommend.Negative.Select(Lookup)] },
            DiscoverQuery discover => new DiscoverQuery(Lookup(discover.Target), [.. discover.Context.Select(Pair)]),
            ContextQuery context => new ContextQuery([.. context.Pairs.Select(Pair)]),
            var other => other,
        };
        return request with { Prefetch = prefetch, Query = query, LookupFrom = null };
    }

    /// <summary>Synchronous form of <see cref="QueryAsync"/> (transports written before the cache; the memory level answers synchronously).</summary>
    public Served<IReadOnlyList<ScoredPoint>> Query(CallContext call, string collection, QueryRequest request) => Wait(QueryAsync(call, collection, request));

    /// <summary>Synchronous form of <see cref="QueryBatchAsync"/>.</summary>
    public Served<IReadOnlyList<IReadOnlyList<ScoredPoint>>> QueryBatch(CallContext call, string collection, IReadOnlyList<QueryRequest> requests) => Wait(QueryBatchAsync(call, collection, requests));

    private async ValueTask<IReadOnlyList<ScoredPoint>> CachedQueryAsync(Collection target, QueryRequest request, CancellationToken cancellationToken) =>
        (await cache.GetOrRunAsync(target, "query", request, _ => ValueTask.FromResult(new CachedAnswer { Points = target.Query(request) }), cancellationToken).ConfigureAwait(false)).Points;

    private static T Wait<T>(ValueTask<T> task) => task.IsCompletedSuccessfully ? task.Result : task.AsTask().GetAwaiter().GetResult();
}
