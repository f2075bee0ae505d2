using System.Diagnostics;
using Grpc.Core;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Operations;
using Vectorizer.Engine.Payload;
using Vectorizer.Server.Application;
using Vectorizer.Server.Configuration;
using P = Vectorizer.Server.Grpc.Protos;

namespace Vectorizer.Server.Grpc;

/// <summary>
/// <c>qdrant.Points</c>: proto ⇄ engine types, then <see cref="PointsService"/> and <see cref="CollectionsService"/>
/// (the same methods REST calls). Options a single node has no use for are accepted when they change nothing
/// (<c>ordering</c>, <c>read_consistency</c>, <c>timeout</c>) and refused when they would (<c>shard_key_selector</c>).
/// </summary>
public sealed class PointsGrpcService(PointsService points, CollectionsService collections, VectorizerSettings settings) : P.Points.PointsBase
{
    private int MaxBatch => settings.Limits.MaxBatch;

    // ------------------------------------------------------------------ writes

    public override Task<P.PointsOperationResponse> Upsert(P.UpsertPoints request, ServerCallContext context)
    {
        ProtoQueries.NoShardKey(request.ShardKeySelector);
        return Update(context, request.CollectionName, request.HasWait && request.Wait, Upsert(request.Points, request.HasUpdateMode, request.UpdateMode, request.UpdateFilter));
    }

    private UpsertOperation Upsert(Google.Protobuf.Collections.RepeatedField<P.PointStruct> list, bool hasMode, P.UpdateMode mode, P.Filter? updateFilter) => new(
        ProtoPoints.Points(list, MaxBatch),
        !hasMode ? UpdateMode.Upsert : mode switch
        {
            P.UpdateMode.InsertOnly => UpdateMode.InsertOnly,
            P.UpdateMode.UpdateOnly => UpdateMode.UpdateOnly,
            _ => UpdateMode.Upsert,
        },
        ProtoFilters.Optional(updateFilter));

    public override Task<P.PointsOperationResponse> Delete(P.DeletePoints request, ServerCallContext context)
    {
        ProtoQueries.NoShardKey(request.ShardKeySelector);
        return Update(context, request.CollectionName, request.HasWait && request.Wait, new DeletePointsOperation(ProtoPoints.Selector(request.Points)));
    }

    public override Task<P.PointsOperationResponse> UpdateVectors(P.UpdatePointVectors request, ServerCallContext context)
    {
        ProtoQueries.NoShardKey(request.ShardKeySelector);
        return Update(context, request.CollectionName, request.HasWait && request.Wait, UpdateVectors(request.Points, request.UpdateFilter));
    }

    private UpdateVectorsOperation UpdateVectors(Google.Protobuf.Collections.RepeatedField<P.PointVectors> list, P.Filter? updateFilter)
    {
        if (list.Count == 0)
        {
            throw VectorizerException.Validation("points: must contain at least 1 item");
        }

        return list.Count > MaxBatch
            ? throw VectorizerException.Validation($"too many points in one request: {list.Count}, the limit is {MaxBatch}")
            : new UpdateVectorsOperation([.. list.Select(ProtoPoints.PointVectors)], ProtoFilters.Optional(updateFilter));
    }

    public override Task<P.PointsOperationResponse> DeleteVectors(P.DeletePointVectors request, ServerCallContext context)
    {
        ProtoQueries.NoShardKey(request.ShardKeySelector);
        return Update(context, request.CollectionName, request.HasWait && request.Wait, DeleteVectors(request.PointsSelector, request.Vectors));
    }

    private static DeleteVectorsOperation DeleteVectors(P.PointsSelector? selector, P.VectorsSelector? vectors) =>
        vectors is { Names.Count: > 0 }
            ? new DeleteVectorsOperation(ProtoPoints.Selector(selector), [.. vectors.Names])
            : throw VectorizerException.Validation("vectors: must contain at least 1 item");

    public override Task<P.PointsOperationResponse> SetPayload(P.SetPayloadPoints request, ServerCallContext context)
    {
        ProtoQueries.NoShardKey(request.ShardKeySelector);
        return Update(context, request.CollectionName, request.HasWait && request.Wait, SetPayload(request.Payload, request.PointsSelector, request.HasKey ? request.Key : null));
    }

    private static SetPayloadOperation SetPayload(Google.Protobuf.Collections.MapField<string, P.Value> payload, P.PointsSelector? selector, string? key) =>
        new(ProtoValues.Payload(payload), ProtoPoints.Selector(selector), key is null ? null : ProtoValues.Key(key));

    public override Task<P.PointsOperationResponse> OverwritePayload(P.SetPayloadPoints request, ServerCallContext context)
    {
        ProtoQueries.NoShardKey(request.ShardKeySelector);
        return Update(context, request.CollectionName, request.HasWait && request.Wait, Overwrite(request.Payload, request.PointsSelector, request.HasKey));
    }

    private static OverwritePayloadOperation Overwrite(Google.Protobuf.Collections.MapField<string, P.Value> payload, P.PointsSelector? selector, bool hasKey) =>
        hasKey
            ? throw VectorizerException.BadRequest("overwrite_payload with a `key` is not supported; use set_payload with the key")
            : new OverwritePayloadOperation(ProtoValues.Payload(payload), ProtoPoints.Selector(selector));

    public override Task<P.PointsOperationResponse> DeletePayload(P.DeletePayloadPoints request, ServerCallContext context)
    {
        ProtoQueries.NoShardKey(request.ShardKeySelector);
        return Update(context, request.CollectionName, request.HasWait && request.Wait, DeletePayload(request.Keys, request.PointsSelector));
    }

    private static DeletePayloadOperation DeletePayload(IEnumerable<string> keys, P.PointsSelector? selector) =>
        new([.. keys.Select(k => ProtoValues.Key(k, "keys"))], ProtoPoints.Selector(selector));

    public override Task<P.PointsOperationResponse> ClearPayload(P.ClearPayloadPoints request, ServerCallContext context)
    {
        ProtoQueries.NoShardKey(request.ShardKeySelector);
        return Update(context, request.CollectionName, request.HasWait && request.Wait, new ClearPayloadOperation(ProtoPoints.Selector(request.Points)));
    }

    public override Task<P.UpdateBatchResponse> UpdateBatch(P.UpdateBatchPoints request, ServerCallContext context) => UpdateBatchAsync(request, context);

    private async Task<P.UpdateBatchResponse> UpdateBatchAsync(P.UpdateBatchPoints request, ServerCallContext context)
    {
        var start = Stopwatch.GetTimestamp();
        var operations = new List<UpdateOperation>(request.Operations.Count);
        foreach (var item in request.Operations)
        {
#pragma warning disable CS0612 // the deprecated delete/clear forms are still in the contract
            operations.Add(item.OperationCase switch
            {
                P.PointsUpdateOperation.OperationOneofCase.Upsert => Checked(item.Upsert.ShardKeySelector, Upsert(item.Upsert.Points, item.Upsert.HasUpdateMode, item.Upsert.UpdateMode, item.Upsert.UpdateFilter)),
                P.PointsUpdateOperation.OperationOneofCase.DeletePoints => Checked(item.DeletePoints.ShardKeySelector, new DeletePointsOperation(ProtoPoints.Selector(item.DeletePoints.Points))),
                P.PointsUpdateOperation.OperationOneofCase.DeleteDeprecated => new DeletePointsOperation(ProtoPoints.Selector(item.DeleteDeprecated)),
                P.PointsUpdateOperation.OperationOneofCase.SetPayload => Checked(item.SetPayload.ShardKeySelector, SetPayload(item.SetPayload.Payload, item.SetPayload.PointsSelector, item.SetPayload.HasKey ? item.SetPayload.Key : null)),
                P.PointsUpdateOperation.OperationOneofCase.OverwritePayload => Checked(item.OverwritePayload.ShardKeySelector, Overwrite(item.OverwritePayload.Payload, item.OverwritePayload.PointsSelector, item.OverwritePayload.HasKey)),
                P.PointsUpdateOperation.OperationOneofCase.DeletePayload => Checked(item.DeletePayload.ShardKeySelector, DeletePayload(item.DeletePayload.Keys, item.DeletePayload.PointsSelector)),
                P.PointsUpdateOperation.OperationOneofCase.ClearPayload => Checked(item.ClearPayload.ShardKeySelector, new ClearPayloadOperation(ProtoPoints.Selector(item.ClearPayload.Points))),
                P.PointsUpdateOperation.OperationOneofCase.ClearPayloadDeprecated => new ClearPayloadOperation(ProtoPoints.Selector(item.ClearPayloadDeprecated)),
                P.PointsUpdateOperation.OperationOneofCase.UpdateVectors => Checked(item.UpdateVectors.ShardKeySelector, UpdateVectors(item.UpdateVectors.Points, item.UpdateVectors.UpdateFilter)),
                P.PointsUpdateOperation.OperationOneofCase.DeleteVectors => Checked(item.DeleteVectors.ShardKeySelector, DeleteVectors(item.DeleteVectors.PointsSelector, item.DeleteVectors.Vectors)),
                _ => throw VectorizerException.BadRequest("each operation of update_batch must set one operation"),
            });
#pragma warning restore CS0612
        }

        var served = await points.UpdateBatchAsync(context.Call(), request.CollectionName, operations, request.HasWait && request.Wait, context.CancellationToken).ConfigureAwait(false);
        var response = new P.UpdateBatchResponse();
        foreach (var result in served.Result)
        {
            response.Result.Add(ProtoPoints.Update(result));
        }

        response.Time = CollectionsGrpcService.Seconds(start);
        return response;
    }

    private static UpdateOperation Checked(P.ShardKeySelector? selector, UpdateOperation operation)
    {
        ProtoQueries.NoShardKey(selector);
        return operation;
    }

    public override Task<P.PointsOperationResponse> CreateFieldIndex(P.CreateFieldIndexCollection request, ServerCallContext context)
    {
        var start = Stopwatch.GetTimestamp();
        if (request.FieldName.Length == 0)
        {
            throw VectorizerException.BadRequest("field_name: field name must not be empty");
        }

        var result = collections.CreatePayloadIndex(context.Call(), request.CollectionName, request.FieldName, ProtoCollections.FieldSchema(request));
        return Task.FromResult(new P.PointsOperationResponse { Result = ProtoPoints.Update(result), Time = CollectionsGrpcService.Seconds(start) });
    }

    public override Task<P.PointsOperationResponse> DeleteFieldIndex(P.DeleteFieldIndexCollection request, ServerCallContext context)
    {
        var start = Stopwatch.GetTimestamp();
        var result = collections.DeletePayloadIndex(context.Call(), request.CollectionName, request.FieldName);
        return Task.FromResult(new P.PointsOperationResponse { Result = ProtoPoints.Update(result), Time = CollectionsGrpcService.Seconds(start) });
    }

    private async Task<P.PointsOperationResponse> Update(ServerCallContext context, string collection, bool wait, UpdateOperation operation)
    {
        var start = Stopwatch.GetTimestamp();
        var served = await points.UpdateAsync(context.Call(), collection, operation, wait, context.CancellationToken).ConfigureAwait(false);
        return new P.PointsOperationResponse { Result = ProtoPoints.Update(served.Result), Time = CollectionsGrpcService.Seconds(start) };
    }

    // ------------------------------------------------------------------ reads

    public override Task<P.GetResponse> Get(P.GetPoints request, ServerCallContext context)
    {
        var start = Stopwatch.GetTimestamp();
        ProtoQueries.NoShardKey(request.ShardKeySelector);
        var (target, records) = points.Retrieve(
            context.Call(),
            request.CollectionName,
            ProtoValues.Ids(request.Ids),
            ProtoPoints.WithPayload(request.WithPayload, fallback: true),
            ProtoPoints.WithVectors(request.WithVectors));
        var response = new P.GetResponse();
        foreach (var record in records)
        {
            response.Result.Add(ProtoPoints.Retrieved(record, target.Config.NamedVectors));
        }

        response.Time = CollectionsGrpcService.Seconds(start);
        return Task.FromResult(response);
    }

    public override Task<P.ScrollResponse> Scroll(P.ScrollPoints request, ServerCallContext context)
    {
        var start = Stopwatch.GetTimestamp();
        var (target, result) = points.Scroll(context.Call(), request.CollectionName, ProtoQueries.Scroll(request));
        var response = new P.ScrollResponse();
        foreach (var record in result.Points)
        {
            response.Result.Add(ProtoPoints.Retrieved(record, target.Config.NamedVectors));
        }

        if (result.NextPageOffset is { } next)
        {
            response.NextPageOffset = ProtoValues.Id(next);
        }

        response.Time = CollectionsGrpcService.Seconds(start);
        return Task.FromResult(response);
    }

    public override Task<P.CountResponse> Count(P.CountPoints request, ServerCallContext context)
    {
        var start = Stopwatch.GetTimestamp();
        ProtoQueries.NoShardKey(request.ShardKeySelector);
        var count = points.Count(context.Call(), request.CollectionName, ProtoFilters.Optional(request.Filter)).Result;
        return Task.FromResult(new P.CountResponse { Result = new P.CountResult { Count = (ulong)count }, Time = CollectionsGrpcService.Seconds(start) });
    }

    public override Task<P.SearchResponse> Search(P.SearchPoints request, ServerCallContext context)
    {
        var start = Stopwatch.GetTimestamp();
        var (target, found) = points.Query(context.Call(), request.CollectionName, ProtoQueries.Search(request));
        var response = new P.SearchResponse();
        ProtoPoints.AddScored(response.Result, found, target.Config.NamedVectors);
        response.Time = CollectionsGrpcService.Seconds(start);
        return Task.FromResult(response);
    }

    public override Task<P.SearchBatchResponse> SearchBatch(P.SearchBatchPoints request, ServerCallContext context)
    {
        var start = Stopwatch.GetTimestamp();
        var response = new P.SearchBatchResponse();
        Batch(context, request.CollectionName, [.. request.SearchPoints.Select(ProtoQueries.Search)], response.Result);
        response.Time = CollectionsGrpcService.Seconds(start);
        return Task.FromResult(response);
    }

    public override Task<P.QueryResponse> Query(P.QueryPoints request, ServerCallContext context)
    {
        var start = Stopwatch.GetTimestamp();
        var (target, found) = points.Query(context.Call(), request.CollectionName, ProtoQueries.Query(request));
        var response = new P.QueryResponse();
        ProtoPoints.AddScored(response.Result, found, target.Config.NamedVectors);
        response.Time = CollectionsGrpcService.Seconds(start);
        return Task.FromResult(response);
    }

    public override Task<P.QueryBatchResponse> QueryBatch(P.QueryBatchPoints request, ServerCallContext context)
    {
        var start = Stopwatch.GetTimestamp();
        var response = new P.QueryBatchResponse();
        Batch(context, request.CollectionName, [.. request.QueryPoints.Select(ProtoQueries.Query)], response.Result);
        response.Time = CollectionsGrpcService.Seconds(start);
        return Task.FromResult(response);
    }

    // ------------------------------------------------------------------ recommend, discover, groups, facet, matrix

    public override Task<P.RecommendResponse> Recommend(P.RecommendPoints request, ServerCallContext context)
    {
        var start = Stopwatch.GetTimestamp();
        var (target, found) = points.Query(context.Call(), request.CollectionName, ProtoQueries.Recommend(request));
        var response = new P.RecommendResponse();
        ProtoPoints.AddScored(response.Result, found, target.Config.NamedVectors);
        response.Time = CollectionsGrpcService.Seconds(start);
        return Task.FromResult(response);
    }

    public override Task<P.RecommendBatchResponse> RecommendBatch(P.RecommendBatchPoints request, ServerCallContext context)
    {
        var start = Stopwatch.GetTimestamp();
        var response = new P.RecommendBatchResponse();
        Batch(context, request.CollectionName, [.. request.RecommendPoints.Select(ProtoQueries.Recommend)], response.Result);
        response.Time = CollectionsGrpcService.Seconds(start);
        return Task.FromResult(response);
    }

    public override Task<P.DiscoverResponse> Discover(P.DiscoverPoints request, ServerCallContext context)
    {
        var start = Stopwatch.GetTimestamp();
        var (target, found) = points.Query(context.Call(), request.CollectionName, ProtoQueries.Discover(request));
        var response = new P.DiscoverResponse();
        ProtoPoints.AddScored(response.Result, found, target.Config.NamedVectors);
        response.Time = CollectionsGrpcService.Seconds(start);
        return Task.FromResult(response);
    }

    public override Task<P.DiscoverBatchResponse> DiscoverBatch(P.DiscoverBatchPoints request, ServerCallContext context)
    {
        var start = Stopwatch.GetTimestamp();
        var response = new P.DiscoverBatchResponse();
        Batch(context, request.CollectionName, [.. request.DiscoverPoints.Select(ProtoQueries.Discover)], response.Result);
        response.Time = CollectionsGrpcService.Seconds(start);
        return Task.FromResult(response);
    }

    private void Batch(ServerCallContext context, string collection, List<QueryRequest> requests, Google.Protobuf.Collections.RepeatedField<P.BatchResult> target)
    {
        var (served, results) = points.QueryBatch(context.Call(), collection, requests);
        foreach (var found in results)
        {
            var batch = new P.BatchResult();
            ProtoPoints.AddScored(batch.Result, found, served.Config.NamedVectors);
            target.Add(batch);
        }
    }

    public override Task<P.SearchGroupsResponse> SearchGroups(P.SearchPointGroups request, ServerCallContext context)
    {
        var start = Stopwatch.GetTimestamp();
        var search = ProtoQueries.Search(new P.SearchPoints
        {
            CollectionName = request.CollectionName,
            Vector = { request.Vector },
            Filter = request.Filter,
            Limit = request.Limit,
            WithPayload = request.WithPayload,
            Params = request.Params,
            ScoreThreshold = request.HasScoreThreshold ? request.ScoreThreshold : 0,
            VectorName = request.HasVectorName ? request.VectorName : "",
            WithVectors = request.WithVectors,
            SparseIndices = request.SparseIndices,
            ShardKeySelector = request.ShardKeySelector,
        }) with
        {
            ScoreThreshold = request.HasScoreThreshold ? request.ScoreThreshold : null,
        };
        var (groups, lookup) = ProtoQueries.Groups(search, request.GroupBy, ProtoPoints.Int(request.GroupSize, "group_size", min: 1), ProtoPoints.Int(request.Limit, "limit", min: 1), request.WithLookup);
        return Task.FromResult(new P.SearchGroupsResponse { Result = Groups(context, request.CollectionName, groups, lookup), Time = CollectionsGrpcService.Seconds(start) });
    }

    public override Task<P.RecommendGroupsResponse> RecommendGroups(P.RecommendPointGroups request, ServerCallContext context)
    {
        var start = Stopwatch.GetTimestamp();
        var (groups, lookup) = ProtoQueries.RecommendGroups(request);
        return Task.FromResult(new P.RecommendGroupsResponse { Result = Groups(context, request.CollectionName, groups, lookup), Time = CollectionsGrpcService.Seconds(start) });
    }

    public override Task<P.QueryGroupsResponse> QueryGroups(P.QueryPointGroups request, ServerCallContext context)
    {
        var start = Stopwatch.GetTimestamp();
        var (groups, lookup) = ProtoQueries.QueryGroups(request);
        return Task.FromResult(new P.QueryGroupsResponse { Result = Groups(context, request.CollectionName, groups, lookup), Time = CollectionsGrpcService.Seconds(start) });
    }

    private P.GroupsResult Groups(ServerCallContext context, string collection, GroupsRequest request, GroupLookup? lookup)
    {
        var (target, answer) = points.QueryGroups(context.Call(), collection, request, lookup);
        var result = new P.GroupsResult();
        for (var i = 0; i < answer.Groups.Count; i++)
        {
            var group = answer.Groups[i];
            var proto = new P.PointGroup
            {
                Id = group.Id.IsText ? new P.GroupId { StringValue = group.Id.Text }
                    : group.Id.Integer >= 0 ? new P.GroupId { UnsignedValue = (ulong)group.Id.Integer }
                    : new P.GroupId { IntegerValue = group.Id.Integer },
            };
            ProtoPoints.AddScored(proto.Hits, group.Hits, target.Config.NamedVectors);
            if (answer.Lookups?[i] is { } record)
            {
                proto.Lookup = ProtoPoints.Retrieved(record, answer.LookupCollection!.Config.NamedVectors);
            }

            result.Groups.Add(proto);
        }

        return result;
    }

    public override Task<P.FacetResponse> Facet(P.FacetCounts request, ServerCallContext context)
    {
        var start = Stopwatch.GetTimestamp();
        var hits = points.Facet(context.Call(), request.CollectionName, ProtoQueries.Facet(request)).Result;
        var response = new P.FacetResponse();
        foreach (var hit in hits)
        {
            response.Hits.Add(new P.FacetHit
            {
                Value = hit.Value.Kind switch
                {
                    FacetValueKind.Keyword => new P.FacetValue { StringValue = hit.Value.Keyword },
                    FacetValueKind.Integer => new P.FacetValue { IntegerValue = hit.Value.Integer },
                    _ => new P.FacetValue { BoolValue = hit.Value.Boolean },
                },
                Count = (ulong)hit.Count,
            });
        }

        response.Time = CollectionsGrpcService.Seconds(start);
        return Task.FromResult(response);
    }

    public override Task<P.SearchMatrixPairsResponse> SearchMatrixPairs(P.SearchMatrixPoints request, ServerCallContext context)
    {
        var start = Stopwatch.GetTimestamp();
        var matrix = points.SearchMatrix(context.Call(), request.CollectionName, ProtoQueries.SearchMatrix(request)).Result;
        var pairs = new P.SearchMatrixPairs();
        foreach (var entry in matrix.Entries)
        {
            pairs.Pairs.Add(new P.SearchMatrixPair { A = ProtoValues.Id(matrix.Ids[entry.Row]), B = ProtoValues.Id(matrix.Ids[entry.Column]), Score = entry.Score });
        }

        return Task.FromResult(new P.SearchMatrixPairsResponse { Result = pairs, Time = CollectionsGrpcService.Seconds(start) });
    }

    public override Task<P.SearchMatrixOffsetsResponse> SearchMatrixOffsets(P.SearchMatrixPoints request, ServerCallContext context)
    {
        var start = Stopwatch.GetTimestamp();
        var matrix = points.SearchMatrix(context.Call(), request.CollectionName, ProtoQueries.SearchMatrix(request)).Result;
        var offsets = new P.SearchMatrixOffsets();
        foreach (var entry in matrix.Entries)
        {
            offsets.OffsetsRow.Add((ulong)entry.Row);
            offsets.OffsetsCol.Add((ulong)entry.Column);
            offsets.Scores.Add(entry.Score);
        }

        offsets.Ids.AddRange(matrix.Ids.Select(ProtoValues.Id));
        return Task.FromResult(new P.SearchMatrixOffsetsResponse { Result = offsets, Time = CollectionsGrpcService.Seconds(start) });
    }

    // ------------------------------------------------------------------ named vectors

    public override Task<P.PointsOperationResponse> CreateVectorName(P.CreateVectorNameRequest request, ServerCallContext context)
    {
        var start = Stopwatch.GetTimestamp();
        var result = request.VectorConfigCase switch
        {
            P.CreateVectorNameRequest.VectorConfigOneofCase.DenseConfig =>
                collections.CreateVector(context.Call(), request.CollectionName, request.VectorName, ProtoCollections.DenseVector(request.DenseConfig, settings.Limits.MaxVectorSize)),
            P.CreateVectorNameRequest.VectorConfigOneofCase.SparseConfig =>
                collections.CreateSparseVector(context.Call(), request.CollectionName, request.VectorName, ProtoCollections.SparseVector(request.SparseConfig)),
            _ => throw VectorizerException.BadRequest("vector_config: dense_config or sparse_config is required"),
        };
        return Task.FromResult(new P.PointsOperationResponse { Result = ProtoPoints.Update(result), Time = CollectionsGrpcService.Seconds(start) });
    }

    public override Task<P.PointsOperationResponse> DeleteVectorName(P.DeleteVectorNameRequest request, ServerCallContext context)
    {
        var start = Stopwatch.GetTimestamp();
        var result = collections.DeleteVector(context.Call(), request.CollectionName, request.VectorName);
        return Task.FromResult(new P.PointsOperationResponse { Result = ProtoPoints.Update(result), Time = CollectionsGrpcService.Seconds(start) });
    }
}
