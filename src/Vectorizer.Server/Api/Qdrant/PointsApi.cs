using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Operations;
using Vectorizer.Engine.Points;
using Vectorizer.Server.Api.Qdrant.Json;
using Vectorizer.Server.Application;
using Vectorizer.Server.Configuration;
using Vectorizer.Server.Http;
using Vectorizer.Server.Security;

namespace Vectorizer.Server.Api.Qdrant;

/// <summary>Point endpoints: updates, retrieval, scroll, count and query (Qdrant 1.19).</summary>
public static class PointsApi
{
    public static IEndpointRouteBuilder MapPointsApi(this IEndpointRouteBuilder app)
    {
        var points = app.MapGroup("/collections/{collection}/points");
        points.MapPut("", (string collection, HttpContext context) =>
            Update(context, collection, (body, limits) => RequestJson.ParseUpsert(body, limits.MaxBatch))).RequireAccess(AccessLevel.Write);
        points.MapPost("/delete", (string collection, HttpContext context) =>
            Update(context, collection, (body, _) => new DeletePointsOperation(PointJson.ParseSelector(body, allowBoth: false)))).RequireAccess(AccessLevel.Write);
        points.MapPost("/payload", (string collection, HttpContext context) =>
            Update(context, collection, (body, _) => RequestJson.ParseSetPayload(body, overwrite: false))).RequireAccess(AccessLevel.Write);
        points.MapPut("/payload", (string collection, HttpContext context) =>
            Update(context, collection, (body, _) => RequestJson.ParseSetPayload(body, overwrite: true))).RequireAccess(AccessLevel.Write);
        points.MapPost("/payload/delete", (string collection, HttpContext context) =>
            Update(context, collection, (body, _) => RequestJson.ParseDeletePayload(body))).RequireAccess(AccessLevel.Write);
        points.MapPost("/payload/clear", (string collection, HttpContext context) =>
            Update(context, collection, (body, _) => new ClearPayloadOperation(PointJson.ParseSelector(body, allowBoth: false)))).RequireAccess(AccessLevel.Write);
        points.MapPut("/vectors", (string collection, HttpContext context) =>
            Update(context, collection, (body, limits) => RequestJson.ParseUpdateVectors(body, limits.MaxBatch))).RequireAccess(AccessLevel.Write);
        points.MapPost("/vectors/delete", (string collection, HttpContext context) =>
            Update(context, collection, (body, _) => RequestJson.ParseDeleteVectors(body))).RequireAccess(AccessLevel.Write);
        points.MapPost("/batch", UpdateBatch).RequireAccess(AccessLevel.Write);
        points.MapGet("/{id}", GetPoint).RequireAccess(AccessLevel.Read);
        points.MapPost("", Retrieve).RequireAccess(AccessLevel.Read);
        points.MapPost("/scroll", Scroll).RequireAccess(AccessLevel.Read);
        points.MapPost("/count", Count).RequireAccess(AccessLevel.Read);
        points.MapPost("/query", Query).RequireAccess(AccessLevel.Read);
        points.MapPost("/query/batch", QueryBatch).RequireAccess(AccessLevel.Read);
        return app;
    }

    private static bool Wait(HttpContext context)
    {
        QueryParameters.Ordering(context.Request.Query["ordering"]);
        _ = QueryParameters.Int(context.Request.Query["timeout"], "timeout");
        return QueryParameters.Bool(context.Request.Query["wait"], "wait", fallback: false);
    }

    private static async Task<IResult> Update(HttpContext context, string name, Func<JsonInput, LimitsSection, UpdateOperation> parse)
    {
        var (points, settings) = Services(context);
        var wait = Wait(context);
        using var body = await JsonBody.ReadAsync(context, settings.MaxRequestBytes()).ConfigureAwait(false);
        var served = await points.UpdateAsync(context.Call(), name, parse(body.Root, settings.Limits), wait, context.RequestAborted).ConfigureAwait(false);
        return QdrantResults.Ok(w => ResponseJson.UpdateResult(w, served.Result));
    }

    private static async Task<IResult> UpdateBatch(string collection, HttpContext context)
    {
        var (points, settings) = Services(context);
        var wait = Wait(context);
        using var body = await JsonBody.ReadAsync(context, settings.MaxRequestBytes()).ConfigureAwait(false);
        var served = await points.UpdateBatchAsync(context.Call(), collection, RequestJson.ParseBatch(body.Root, settings.Limits.MaxBatch), wait, context.RequestAborted).ConfigureAwait(false);
        return QdrantResults.Ok(w =>
        {
            w.WriteStartArray();
            foreach (var result in served.Result)
            {
                ResponseJson.UpdateResult(w, result);
            }

            w.WriteEndArray();
        });
    }

    private static IResult GetPoint(string collection, string id, HttpContext context)
    {
        var (points, _) = Services(context);
        if (!PointId.TryParse(id, out var pointId))
        {
            throw VectorizerException.BadRequest($"Can not recognize \"{id}\" as point id");
        }

        var (target, found) = points.Retrieve(context.Call(), collection, [pointId], PayloadSelector.All, VectorSelector.All);
        if (found.Count == 0)
        {
            throw new VectorizerException(ErrorCode.PointNotFound, $"Point with id {pointId} does not exists!");
        }

        return QdrantResults.Ok(w => ResponseJson.Record(w, found[0], target.Config.NamedVectors));
    }

    private static async Task<IResult> Retrieve(string collection, HttpContext context)
    {
        var (points, settings) = Services(context);
        using var body = await JsonBody.ReadAsync(context, settings.MaxRequestBytes()).ConfigureAwait(false);
        var root = body.Root.ExpectObject();
        var (target, records) = points.Retrieve(
            context.Call(),
            collection,
            PointJson.ParseIds(root.Required("ids")),
            PointJson.ParseWithPayload(root, "with_payload", fallback: true),
            PointJson.ParseWithVector(root, fallback: false));
        return QdrantResults.Ok(w =>
        {
            w.WriteStartArray();
            foreach (var record in records)
            {
                ResponseJson.Record(w, record, target.Config.NamedVectors);
            }

            w.WriteEndArray();
        });
    }

    private static async Task<IResult> Scroll(string collection, HttpContext context)
    {
        var (points, settings) = Services(context);
        using var body = await JsonBody.ReadAsync(context, settings.MaxRequestBytes(), emptyAsObject: true).ConfigureAwait(false);
        var (target, result) = points.Scroll(context.Call(), collection, RequestJson.ParseScroll(body.Root));
        return QdrantResults.Ok(w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("points");
            foreach (var record in result.Points)
            {
                ResponseJson.Record(w, record, target.Config.NamedVectors);
            }

            w.WriteEndArray();
            w.WritePropertyName("next_page_offset");
            if (result.NextPageOffset is { } next)
            {
                ResponseJson.Id(w, next);
            }
            else
            {
                w.WriteNullValue();
            }

            w.WriteEndObject();
        });
    }

    private static async Task<IResult> Count(string collection, HttpContext context)
    {
        var (points, settings) = Services(context);
        using var body = await JsonBody.ReadAsync(context, settings.MaxRequestBytes(), emptyAsObject: true).ConfigureAwait(false);
        var count = points.Count(context.Call(), collection, RequestJson.ParseCount(body.Root, out _)).Result;
        return QdrantResults.Ok(w =>
        {
            w.WriteStartObject();
            w.WriteNumber("count", count);
            w.WriteEndObject();
        });
    }

    private static async Task<IResult> Query(string collection, HttpContext context)
    {
        var (points, settings) = Services(context);
        using var body = await JsonBody.ReadAsync(context, settings.MaxRequestBytes(), emptyAsObject: true).ConfigureAwait(false);
        var (target, found) = await points.QueryAsync(context.Call(), collection, RequestJson.ParseQuery(body.Root), context.RequestAborted).ConfigureAwait(false);
        return QdrantResults.Ok(w => ResponseJson.QueryResponse(w, found, target.Config.NamedVectors));
    }

    private static async Task<IResult> QueryBatch(string collection, HttpContext context)
    {
        var (points, settings) = Services(context);
        using var body = await JsonBody.ReadAsync(context, settings.MaxRequestBytes()).ConfigureAwait(false);
        var (target, results) = await points.QueryBatchAsync(context.Call(), collection, RequestJson.ParseQueryBatch(body.Root), context.RequestAborted).ConfigureAwait(false);
        return QdrantResults.Ok(w =>
        {
            w.WriteStartArray();
            foreach (var found in results)
            {
                ResponseJson.QueryResponse(w, found, target.Config.NamedVectors);
            }

            w.WriteEndArray();
        });
    }

    private static (PointsService Points, VectorizerSettings Settings) Services(HttpContext context)
    {
        var services = context.RequestServices;
        return ((PointsService)services.GetService(typeof(PointsService))!, (VectorizerSettings)services.GetService(typeof(VectorizerSettings))!);
    }
}
