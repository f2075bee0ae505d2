using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Operations;
using Vectorizer.Engine.Payload;

using Vectorizer.Server.Observability;

namespace Vectorizer.Server.Application;

/// <summary>
/// Collections, aliases and payload indexes: the one implementation behind every transport. It is also the one place
/// where a name (or alias) becomes a <see cref="Collection"/> for a call (<see cref="Resolve"/>), so every rule about
/// who may reach which collection, and which collection an alias sends a read to, lives here.
/// </summary>
public sealed class CollectionsService(CollectionManager manager, IAliasRouter? router = null)
{
    public CollectionManager Manager => manager;

    /// <summary>
    /// The collection <paramref name="nameOrAlias"/> names, after checking that the caller may do
    /// <paramref name="level"/> on it. Access is checked before existence, so a collection-scoped caller cannot
    /// probe for collections outside its scope (an alias counts as the collection it points to).
    /// </summary>
    public Collection Resolve(CallContext call, string nameOrAlias, AccessLevel level)
    {
        var collection = manager.TryGet(nameOrAlias);
        call.Access.Demand(level, collection?.Name ?? nameOrAlias);
        collection ??= manager.Get(nameOrAlias); // throws: 404, or 409 for a collection that could not be opened
        return router is null ? collection : router.Route(call, nameOrAlias, collection, level);
    }

    /// <summary>Repeats a write made through <paramref name="nameOrAlias"/> on the other side of a rollout (<c>rollouts.write_mode</c>).</summary>
    public ValueTask MirrorWriteAsync(string nameOrAlias, Collection written, Func<Collection, ValueTask> write) =>
        router is null ? ValueTask.CompletedTask : router.MirrorWriteAsync(nameOrAlias, written, write);

    /// <summary>Collection names the caller may see, sorted.</summary>
    public IReadOnlyList<string> List(CallContext call)
    {
        var names = manager.List();
        return call.Access.IsCollectionScoped ? [.. names.Where(call.Access.CanSee)] : names;
    }

    public CollectionInfo GetInfo(CallContext call, string nameOrAlias)
    {
        using var span = ServerTelemetry.Operation("collections.get", nameOrAlias);
        return Resolve(call, nameOrAlias, AccessLevel.Read).GetInfo();
    }

    public bool Exists(CallContext call, string nameOrAlias)
    {
        var collection = manager.TryGet(nameOrAlias);
        call.Access.Demand(AccessLevel.Read, collection?.Name ?? nameOrAlias);
        return manager.Exists(nameOrAlias); // a collection that could not be opened still holds its name
    }

    public Collection Create(CallContext call, string name, CollectionConfig config)
    {
        using var span = ServerTelemetry.Operation("collections.create", name);
        call.Access.Demand(AccessLevel.Manage, name);
        return manager.Create(name, config);
    }

    public void Update(CallContext call, string nameOrAlias, Func<CollectionConfig, CollectionConfig> change)
    {
        using var span = ServerTelemetry.Operation("collections.update", nameOrAlias);
        Resolve(call, nameOrAlias, AccessLevel.Manage).UpdateConfig(change);
    }

    /// <summary>Deletes a collection (an alias deletes the collection it points to, as Qdrant does); false when none existed.</summary>
    public bool Delete(CallContext call, string nameOrAlias)
    {
        using var span = ServerTelemetry.Operation("collections.delete", nameOrAlias);
        var name = manager.TryGet(nameOrAlias)?.Name ?? nameOrAlias;
        call.Access.Demand(AccessLevel.Manage, name);
        return manager.Delete(name);
    }

    /// <summary>Aliases the caller may see: all of them, or those of one collection.</summary>
    public IReadOnlyList<AliasDescription> ListAliases(CallContext call, string? collection = null)
    {
        IReadOnlyList<AliasDescription> aliases = collection is null
            ? manager.ListAliases()
            : manager.ListAliases(Resolve(call, collection, AccessLevel.Read).Name);
        return call.Access.IsCollectionScoped ? [.. aliases.Where(a => call.Access.CanSee(a.CollectionName))] : aliases;
    }

    public void UpdateAliases(CallContext call, IReadOnlyList<AliasOperation> operations)
    {
        using var span = ServerTelemetry.Operation("aliases.update");
        call.Access.Demand(AccessLevel.Manage, null);
        manager.UpdateAliases(operations);
    }

    public UpdateResult CreatePayloadIndex(CallContext call, string nameOrAlias, string field, PayloadFieldSchema schema)
    {
        var collection = Resolve(call, nameOrAlias, AccessLevel.Manage);
        StrictMode.CheckCreatePayloadIndex(collection, field);
        return collection.CreatePayloadIndex(field, schema);
    }

    public UpdateResult DeletePayloadIndex(CallContext call, string nameOrAlias, string field) =>
        Resolve(call, nameOrAlias, AccessLevel.Manage).DeletePayloadIndex(field);

    /// <summary>Adds a named dense vector to a collection (no point has it yet).</summary>
    public UpdateResult CreateVector(CallContext call, string nameOrAlias, string vectorName, VectorParams parameters)
    {
        using var span = ServerTelemetry.Operation("collections.create_vector", nameOrAlias);
        return Resolve(call, nameOrAlias, AccessLevel.Manage).CreateVector(vectorName, parameters, null);
    }

    /// <summary>Adds a named sparse vector to a collection.</summary>
    public UpdateResult CreateSparseVector(CallContext call, string nameOrAlias, string vectorName, SparseVectorParams parameters)
    {
        using var span = ServerTelemetry.Operation("collections.create_vector", nameOrAlias);
        return Resolve(call, nameOrAlias, AccessLevel.Manage).CreateVector(vectorName, null, parameters);
    }

    /// <summary>The collection's background optimizations: running, recently completed, waiting.</summary>
    public OptimizationsReport Optimizations(CallContext call, string nameOrAlias) =>
        Resolve(call, nameOrAlias, AccessLevel.Read).GetOptimizations();

    /// <summary>
    /// This node's id in cluster answers: without a cluster (this server has none) a stable number derived from the data
    /// directory, so it stays the same across restarts.
    /// </summary>
    public ulong PeerId
    {
        get
        {
            // FNV-1a over the path's UTF-8 bytes, kept below 2^63 for clients that read it as a signed integer.
            var hash = 14695981039346656037UL;
            foreach (var b in System.Text.Encoding.UTF8.GetBytes(manager.DataDirectory))
            {
                hash = (hash ^ b) * 1099511628211UL;
            }

            return hash >> 1;
        }
    }

    /// <summary>How a collection is distributed: on a single node, one local shard holding every point.</summary>
    public CollectionClusterInfo ClusterInfo(CallContext call, string nameOrAlias)
    {
        var collection = Resolve(call, nameOrAlias, AccessLevel.Read);
        return new CollectionClusterInfo(PeerId, 1, [new LocalShardInfo(0, collection.GetInfo().PointsCount, "Active")]);
    }

    /// <summary>Removes a named vector (dense or sparse) with every point's value of it.</summary>
    public UpdateResult DeleteVector(CallContext call, string nameOrAlias, string vectorName)
    {
        using var span = ServerTelemetry.Operation("collections.delete_vector", nameOrAlias);
        return Resolve(call, nameOrAlias, AccessLevel.Manage).DeleteVector(vectorName);
    }
}

/// <summary>One shard held by this node, with its point count and replica state (<c>Active</c> on a single node).</summary>
public sealed record LocalShardInfo(int ShardId, long PointsCount, string State);

/// <summary>A collection's distribution: this node's id, the shard count, and the shards held here (all of them on a single node).</summary>
public sealed record CollectionClusterInfo(ulong PeerId, int ShardCount, IReadOnlyList<LocalShardInfo> LocalShards);
