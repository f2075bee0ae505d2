using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Builder;
using Vectorizer.Server.Application;
using Vectorizer.Server.Security;

namespace Vectorizer.Server.Grpc;

/// <summary>
/// The access each rpc needs, as endpoint metadata (<see cref="AccessRequirement"/>), so the security pipeline checks a
/// gRPC call exactly as it checks the REST route of the same operation: reads need read access, point writes write
/// access, collection structure (create, update, delete, aliases, named vectors, payload indexes, shards, snapshots)
/// manage access. Operations on one collection are per collection (a collection-scoped token may call them; the
/// application service checks the collection). The health check is open, as Qdrant leaves it.
/// </summary>
public static class GrpcAccess
{
    private static readonly Dictionary<string, AccessRequirement> Rpcs = new(StringComparer.Ordinal)
    {
        // qdrant.Collections
        ["qdrant.Collections/Get"] = new(AccessLevel.Read, PerCollection: true),
        ["qdrant.Collections/List"] = new(AccessLevel.Read, PerCollection: true),
        ["qdrant.Collections/CollectionExists"] = new(AccessLevel.Read, PerCollection: true),
        ["qdrant.Collections/ListCollectionAliases"] = new(AccessLevel.Read, PerCollection: true),
        ["qdrant.Collections/ListAliases"] = new(AccessLevel.Read, PerCollection: true),
        ["qdrant.Collections/CollectionClusterInfo"] = new(AccessLevel.Read, PerCollection: true),
        ["qdrant.Collections/ListShardKeys"] = new(AccessLevel.Read, PerCollection: true),
        ["qdrant.Collections/Create"] = new(AccessLevel.Manage),
        ["qdrant.Collections/Update"] = new(AccessLevel.Manage),
        ["qdrant.Collections/Delete"] = new(AccessLevel.Manage),
        ["qdrant.Collections/UpdateAliases"] = new(AccessLevel.Manage),
        ["qdrant.Collections/UpdateCollectionClusterSetup"] = new(AccessLevel.Manage),
        ["qdrant.Collections/CreateShardKey"] = new(AccessLevel.Manage),
        ["qdrant.Collections/DeleteShardKey"] = new(AccessLevel.Manage),

        // qdrant.Points: writes
        ["qdrant.Points/Upsert"] = new(AccessLevel.Write, PerCollection: true),
        ["qdrant.Points/Delete"] = new(AccessLevel.Write, PerCollection: true),
        ["qdrant.Points/UpdateVectors"] = new(AccessLevel.Write, PerCollection: true),
        ["qdrant.Points/DeleteVectors"] = new(AccessLevel.Write, PerCollection: true),
        ["qdrant.Points/SetPayload"] = new(AccessLevel.Write, PerCollection: true),
        ["qdrant.Points/OverwritePayload"] = new(AccessLevel.Write, PerCollection: true),
        ["qdrant.Points/DeletePayload"] = new(AccessLevel.Write, PerCollection: true),
        ["qdrant.Points/ClearPayload"] = new(AccessLevel.Write, PerCollection: true),
        ["qdrant.Points/UpdateBatch"] = new(AccessLevel.Write, PerCollection: true),

        // qdrant.Points: structure
        ["qdrant.Points/CreateFieldIndex"] = new(AccessLevel.Manage, PerCollection: true),
        ["qdrant.Points/DeleteFieldIndex"] = new(AccessLevel.Manage, PerCollection: true),
        ["qdrant.Points/CreateVectorName"] = new(AccessLevel.Manage, PerCollection: true),
        ["qdrant.Points/DeleteVectorName"] = new(AccessLevel.Manage, PerCollection: true),

        // qdrant.Snapshots
        ["qdrant.Snapshots/Create"] = new(AccessLevel.Manage, PerCollection: true),
        ["qdrant.Snapshots/List"] = new(AccessLevel.Manage, PerCollection: true),
        ["qdrant.Snapshots/Delete"] = new(AccessLevel.Manage, PerCollection: true),
        ["qdrant.Snapshots/CreateFull"] = new(AccessLevel.Manage),
        ["qdrant.Snapshots/ListFull"] = new(AccessLevel.Manage),
        ["qdrant.Snapshots/DeleteFull"] = new(AccessLevel.Manage),
    };

    /// <summary>Every other rpc of <c>qdrant.Points</c> reads one collection.</summary>
    private static readonly AccessRequirement PointsRead = new(AccessLevel.Read, PerCollection: true);

    /// <summary>The requirement of <paramref name="service"/>/<paramref name="method"/>; null for the open health check.</summary>
    public static AccessRequirement? Of(string service, string method) =>
        Rpcs.TryGetValue($"{service}/{method}", out var requirement) ? requirement
        : service == "qdrant.Points" ? PointsRead
        : service == "qdrant.Qdrant" && method == "HealthCheck" ? null
        : throw new InvalidOperationException($"gRPC method {service}/{method} has no access requirement in GrpcAccess");

    /// <summary>Adds each rpc's requirement (or, for the health check, the open probe's metadata) to its endpoint.</summary>
    public static TBuilder WithRpcAccess<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder
    {
        builder.Add(endpoint =>
        {
            if (endpoint.Metadata.OfType<GrpcMethodMetadata>().FirstOrDefault() is not { } grpc)
            {
                // The "unimplemented method/service" catch-alls: any valid credential may learn that an rpc does not exist.
                endpoint.Metadata.Add(new AccessRequirement(AccessLevel.Read));
                return;
            }

            if (Of(grpc.Method.ServiceName, grpc.Method.Name) is { } requirement)
            {
                endpoint.Metadata.Add(requirement);
            }
            else
            {
                endpoint.Metadata.Add(new Microsoft.AspNetCore.Authorization.AllowAnonymousAttribute());
                endpoint.Metadata.Add(new Microsoft.AspNetCore.RateLimiting.DisableRateLimitingAttribute());
            }
        });
        return builder;
    }
}
