using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Filters;
using Vectorizer.Engine.Operations;
using Vectorizer.Engine.Points;

namespace Vectorizer.Server.Application;

/// <summary>An answer together with the collection that gave it (a read through an alias may be routed).</summary>
public readonly record struct Served<T>(Collection Collection, T Result);

/// <summary>Point writes and reads: the one implementation behind REST, gRPC and MCP.</summary>
public sealed class PointsService(CollectionsService collections)
{
    public async ValueTask<Served<UpdateResult>> UpdateAsync(CallContext call, string collection, UpdateOperation operation, bool wait, CancellationToken cancellationToken)
    {
        var target = collections.Resolve(call, collection, AccessLevel.Write);
        StrictMode.CheckUpdate(target, operation);
        return new(target, await target.UpdateAsync(operation, wait, cancellationToken).ConfigureAwait(false));
    }

    public async ValueTask<Served<IReadOnlyList<UpdateResult>>> UpdateBatchAsync(CallContext call, string collection, IReadOnlyList<UpdateOperation> operations, bool wait, CancellationToken cancellationToken)
    {
        var target = collections.Resolve(call, collection, AccessLevel.Write);
        foreach (var operation in operations)
        {
            StrictMode.CheckUpdate(target, operation);
        }

        return new(target, await target.UpdateBatchAsync(operations, wait, cancellationToken).ConfigureAwait(false));
    }

    public Served<IReadOnlyList<PointRecord>> Retrieve(CallContext call, string collection, IReadOnlyList<PointId> ids, PayloadSelector withPayload, VectorSelector withVector)
    {
        var target = collections.Resolve(call, collection, AccessLevel.Read);
        return new(target, target.Retrieve(ids, withPayload, withVector));
    }

    public Served<ScrollResult> Scroll(CallContext call, string collection, ScrollRequest request)
    {
        var target = collections.Resolve(call, collection, AccessLevel.Read);
        StrictMode.CheckScroll(target, request);
        return new(target, target.Scroll(request));
    }

    public Served<long> Count(CallContext call, string collection, Filter? filter)
    {
        var target = collections.Resolve(call, collection, AccessLevel.Read);
        StrictMode.CheckCount(target, filter);
        return new(target, target.Count(filter));
    }

    public Served<IReadOnlyList<ScoredPoint>> Query(CallContext call, string collection, QueryRequest request)
    {
        var target = collections.Resolve(call, collection, AccessLevel.Read);
        StrictMode.CheckQuery(target, request);
        return new(target, target.Query(request));
    }

    /// <summary>Several queries against one collection (all answered by the same side of a routed alias).</summary>
    public Served<IReadOnlyList<IReadOnlyList<ScoredPoint>>> QueryBatch(CallContext call, string collection, IReadOnlyList<QueryRequest> requests)
    {
        var target = collections.Resolve(call, collection, AccessLevel.Read);
        StrictMode.CheckQueryBatch(target, requests);
        var results = new List<IReadOnlyList<ScoredPoint>>(requests.Count);
        foreach (var request in requests)
        {
            results.Add(target.Query(request));
        }

        return new(target, results);
    }
}
