using System.Diagnostics;
using Grpc.Core;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Errors;
using Vectorizer.Server.Application;
using Vectorizer.Server.Configuration;
using P = Vectorizer.Server.Grpc.Protos;

namespace Vectorizer.Server.Grpc;

/// <summary>
/// <c>qdrant.Collections</c>: proto ⇄ engine types, then <see cref="CollectionsService"/> (the same methods REST calls).
/// A single node has one shard per collection and no cluster: cluster info answers that, shard keys are refused.
/// </summary>
public sealed class CollectionsGrpcService(CollectionsService collections, VectorizerSettings settings) : P.Collections.CollectionsBase
{
    public override Task<P.GetCollectionInfoResponse> Get(P.GetCollectionInfoRequest request, ServerCallContext context)
    {
        var start = Stopwatch.GetTimestamp();
        var info = collections.GetInfo(context.Call(), request.CollectionName);
        return Task.FromResult(new P.GetCollectionInfoResponse { Result = ProtoCollectionInfo.Info(info), Time = Seconds(start) });
    }

    public override Task<P.ListCollectionsResponse> List(P.ListCollectionsRequest request, ServerCallContext context)
    {
        var start = Stopwatch.GetTimestamp();
        var response = new P.ListCollectionsResponse();
        foreach (var name in collections.List(context.Call()))
        {
            response.Collections.Add(new P.CollectionDescription { Name = name });
        }

        response.Time = Seconds(start);
        return Task.FromResult(response);
    }

    public override Task<P.CollectionOperationResponse> Create(P.CreateCollection request, ServerCallContext context)
    {
        var start = Stopwatch.GetTimestamp();
        var config = ProtoCollections.Create(request, collections.Manager.Options.HnswDefaults, settings.Limits.MaxVectorSize);
        collections.Create(context.Call(), request.CollectionName, config);
        return Done(true, start);
    }

    public override Task<P.CollectionOperationResponse> Update(P.UpdateCollection request, ServerCallContext context)
    {
        var start = Stopwatch.GetTimestamp();
        collections.Update(context.Call(), request.CollectionName, ProtoCollections.Update(request));
        return Done(true, start);
    }

    public override Task<P.CollectionOperationResponse> Delete(P.DeleteCollection request, ServerCallContext context)
    {
        var start = Stopwatch.GetTimestamp();
        return Done(collections.Delete(context.Call(), request.CollectionName), start);
    }

    public override Task<P.CollectionOperationResponse> UpdateAliases(P.ChangeAliases request, ServerCallContext context)
    {
        var start = Stopwatch.GetTimestamp();
        var operations = new List<AliasOperation>(request.Actions.Count);
        foreach (var action in request.Actions)
        {
            operations.Add(action.ActionCase switch
            {
                P.AliasOperations.ActionOneofCase.CreateAlias => new CreateAlias(action.CreateAlias.CollectionName, action.CreateAlias.AliasName),
                P.AliasOperations.ActionOneofCase.RenameAlias => new RenameAlias(action.RenameAlias.OldAliasName, action.RenameAlias.NewAliasName),
                P.AliasOperations.ActionOneofCase.DeleteAlias => new DeleteAlias(action.DeleteAlias.AliasName),
                _ => throw VectorizerException.BadRequest("each alias action must be one of create_alias, rename_alias, delete_alias"),
            });
        }

        collections.UpdateAliases(context.Call(), operations);
        return Done(true, start);
    }

    public override Task<P.ListAliasesResponse> ListCollectionAliases(P.ListCollectionAliasesRequest request, ServerCallContext context) =>
        Task.FromResult(Aliases(collections.ListAliases(context.Call(), request.CollectionName), Stopwatch.GetTimestamp()));

    public override Task<P.ListAliasesResponse> ListAliases(P.ListAliasesRequest request, ServerCallContext context) =>
        Task.FromResult(Aliases(collections.ListAliases(context.Call()), Stopwatch.GetTimestamp()));

    public override Task<P.CollectionExistsResponse> CollectionExists(P.CollectionExistsRequest request, ServerCallContext context)
    {
        var start = Stopwatch.GetTimestamp();
        var exists = collections.Exists(context.Call(), request.CollectionName);
        return Task.FromResult(new P.CollectionExistsResponse { Result = new P.CollectionExists { Exists = exists }, Time = Seconds(start) });
    }

    /// <summary>One node, one local shard holding every point (as Qdrant answers with cluster mode off).</summary>
    public override Task<P.CollectionClusterInfoResponse> CollectionClusterInfo(P.CollectionClusterInfoRequest request, ServerCallContext context)
    {
        var start = Stopwatch.GetTimestamp();
        var info = collections.ClusterInfo(context.Call(), request.CollectionName);
        var response = new P.CollectionClusterInfoResponse { PeerId = info.PeerId, ShardCount = (ulong)info.ShardCount };
        foreach (var shard in info.LocalShards)
        {
            response.LocalShards.Add(new P.LocalShardInfo { ShardId = (uint)shard.ShardId, PointsCount = (ulong)shard.PointsCount, State = P.ReplicaState.Active });
        }

        response.Time = Seconds(start);
        return Task.FromResult(response);
    }

    public override Task<P.UpdateCollectionClusterSetupResponse> UpdateCollectionClusterSetup(P.UpdateCollectionClusterSetupRequest request, ServerCallContext context)
    {
        collections.Resolve(context.Call(), request.CollectionName, AccessLevel.Manage);
        throw VectorizerException.BadRequest("Distributed mode disabled: this is a single node; there are no shards to move, replicate or create");
    }

    public override Task<P.CreateShardKeyResponse> CreateShardKey(P.CreateShardKeyRequest request, ServerCallContext context)
    {
        collections.Resolve(context.Call(), request.CollectionName, AccessLevel.Manage);
        throw VectorizerException.BadRequest("Shard keys need custom sharding, which a single node does not have");
    }

    public override Task<P.DeleteShardKeyResponse> DeleteShardKey(P.DeleteShardKeyRequest request, ServerCallContext context)
    {
        collections.Resolve(context.Call(), request.CollectionName, AccessLevel.Manage);
        throw VectorizerException.BadRequest("Shard keys need custom sharding, which a single node does not have");
    }

    /// <summary>No shard keys: an empty list (the collection must exist and be readable).</summary>
    public override Task<P.ListShardKeysResponse> ListShardKeys(P.ListShardKeysRequest request, ServerCallContext context)
    {
        var start = Stopwatch.GetTimestamp();
        collections.Resolve(context.Call(), request.CollectionName, AccessLevel.Read);
        return Task.FromResult(new P.ListShardKeysResponse { Time = Seconds(start) });
    }

    private static P.ListAliasesResponse Aliases(IReadOnlyList<AliasDescription> aliases, long start)
    {
        var response = new P.ListAliasesResponse();
        foreach (var alias in aliases)
        {
            response.Aliases.Add(new P.AliasDescription { AliasName = alias.AliasName, CollectionName = alias.CollectionName });
        }

        response.Time = Seconds(start);
        return response;
    }

    private static Task<P.CollectionOperationResponse> Done(bool result, long start) =>
        Task.FromResult(new P.CollectionOperationResponse { Result = result, Time = Seconds(start) });

    internal static double Seconds(long start) => Stopwatch.GetElapsedTime(start).TotalSeconds;
}
