using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Filters;
using Vectorizer.Engine.Operations;
using Vectorizer.Engine.Points;
using Vectorizer.Server.Application.Caching;

using Vectorizer.Server.Observability;

namespace Vectorizer.Server.Application;

/// <summary>An answer together with the collection that gave it (a read through an alias may be routed).</summary>
public readonly record struct Served<T>(Collection Collection, T Result);

/// <summary>Point writes and reads: the one implementation behind REST, gRPC and MCP.</summary>
public sealed class PointsService(CollectionsService collections, QueryCache cache)
{
    public async ValueTask<Served<UpdateResult>> UpdateAsync(CallContext call, string collection, UpdateOperation operation, bool wait, CancellationToken cancellationToken)
    {
        using var span = ServerTelemetry.Operation("points.update", null);
        var target = collections.Resolve(call, collection, AccessLevel.Write);
        StrictMode.CheckUpdate(target, operation);
        var result = await target.UpdateAsync(operation, wait, cancellationToken).ConfigureAwait(false);
        await collections.MirrorWriteAsync(collection, target, async mirror =>
        {
            StrictMode.CheckUpdate(mirror, operation);
            await mirror.UpdateAsync(operation, wait, cancellationToken).ConfigureAwait(false);
        }).ConfigureAwait(false);
        return new(target, result);
    }

    public async ValueTask<Served<IReadOnlyList<UpdateResult>>> UpdateBatchAsync(CallContext call, string collection, IReadOnlyList<UpdateOperation> operations, bool wait, CancellationToken cancellationToken)
    {
        using var span = ServerTelemetry.Operation("points.update_batch", null);
        var target = collections.Resolve(call, collection, AccessLevel.Write);
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
        return new(target, target.Scroll(request));
    }

    public Served<long> Count(CallContext call, string collection, Filter? filter)
    {
        using var span = ServerTelemetry.Operation("points.count", null);
        var target = collections.Resolve(call, collection, AccessLevel.Read);
        StrictMode.CheckCount(target, filter);
        return new(target, target.Count(filter));
    }

    /// <summary>A query, answered from the query cache when the collection has not changed since the same query.</summary>
    public async ValueTask<Served<IReadOnlyList<ScoredPoint>>> QueryAsync(CallContext call, string collection, QueryRequest request, CancellationToken cancellationToken = default)
    {
        using var span = ServerTelemetry.Operation("points.query", null);
        var target = collections.Resolve(call, collection, AccessLevel.Read);
        StrictMode.CheckQuery(target, request);
        var found = await CachedQueryAsync(target, request, cancellationToken).ConfigureAwait(false);
        call.Route?.Results(found.Count);
        return new(target, found);
    }

    /// <summary>Several queries against one collection (all answered by the same side of a routed alias), each cached on its own.</summary>
    public async ValueTask<Served<IReadOnlyList<IReadOnlyList<ScoredPoint>>>> QueryBatchAsync(CallContext call, string collection, IReadOnlyList<QueryRequest> requests, CancellationToken cancellationToken = default)
    {
        using var span = ServerTelemetry.Operation("points.query_batch", null);
        var target = collections.Resolve(call, collection, AccessLevel.Read);
        StrictMode.CheckQueryBatch(target, requests);
        var results = new List<IReadOnlyList<ScoredPoint>>(requests.Count);
        foreach (var request in requests)
        {
            results.Add(await CachedQueryAsync(target, request, cancellationToken).ConfigureAwait(false));
            call.Route?.Results(results[^1].Count);
        }

        return new(target, results);
    }

    /// <summary>Synchronous form of <see cref="QueryAsync"/> (transports written before the cache; the memory level answers synchronously).</summary>
    public Served<IReadOnlyList<ScoredPoint>> Query(CallContext call, string collection, QueryRequest request) => Wait(QueryAsync(call, collection, request));

    /// <summary>Synchronous form of <see cref="QueryBatchAsync"/>.</summary>
    public Served<IReadOnlyList<IReadOnlyList<ScoredPoint>>> QueryBatch(CallContext call, string collection, IReadOnlyList<QueryRequest> requests) => Wait(QueryBatchAsync(call, collection, requests));

    private async ValueTask<IReadOnlyList<ScoredPoint>> CachedQueryAsync(Collection target, QueryRequest request, CancellationToken cancellationToken) =>
        (await cache.GetOrRunAsync(target, "query", request, _ => ValueTask.FromResult(new CachedAnswer { Points = target.Query(request) }), cancellationToken).ConfigureAwait(false)).Points;

    private static T Wait<T>(ValueTask<T> task) => task.IsCompletedSuccessfully ? task.Result : task.AsTask().GetAwaiter().GetResult();
}
