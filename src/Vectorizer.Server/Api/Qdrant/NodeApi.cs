using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Vectorizer.Engine.Collections;
using Vectorizer.Server.Api.Qdrant.Json;
using Vectorizer.Server.Application;
using Vectorizer.Server.Configuration;
using Vectorizer.Server.Http;
using Vectorizer.Server.Security;

namespace Vectorizer.Server.Api.Qdrant;

/// <summary>
/// Qdrant's node and collection-structure endpoints: named vectors (<c>PUT|DELETE /collections/{c}/vectors/{name}</c>),
/// background optimizations, the issues report, and the cluster endpoints as Qdrant answers them with distributed mode
/// off (this server is a single node).
/// </summary>
public static class NodeApi
{
    private const string Standalone = "Cluster operations are not available: this server runs in standalone mode (distributed deployment is disabled)";

    public static IEndpointRouteBuilder MapNodeApi(this IEndpointRouteBuilder app)
    {
        app.MapPut("/collections/{collection}/vectors/{vector}", CreateVector).RequireAccess(AccessLevel.Manage);
        app.MapDelete("/collections/{collection}/vectors/{vector}", (string collection, string vector, HttpContext context, CollectionsService collections) =>
        {
            Wait(context);
            var result = collections.DeleteVector(context.Call(), collection, Uri.UnescapeDataString(vector));
            return QdrantResults.Ok(w => ResponseJson.UpdateResult(w, result));
        }).RequireAccess(AccessLevel.Manage);
        app.MapGet("/collections/{collection}/optimizations", Optimizations).RequireAccess(AccessLevel.Read);
        app.MapGet("/collections/{collection}/cluster", (string collection, HttpContext context, CollectionsService collections) =>
        {
            var info = collections.ClusterInfo(context.Call(), collection);
            return QdrantResults.Ok(w => ClusterInfo(w, info));
        }).RequireAccess(AccessLevel.Read);
        app.MapPost("/collections/{collection}/cluster", (string collection, HttpContext context, CollectionsService collections) =>
        {
            collections.Resolve(context.Call(), collection, AccessLevel.Manage);
            throw new ApiException(ApiErrorCode.StandaloneMode, Standalone);
        }).RequireAccess(AccessLevel.Manage);
        app.MapGet("/cluster", () => QdrantResults.Ok(w =>
        {
            w.WriteStartObject();
            w.WriteString("status", "disabled");
            w.WriteEndObject();
        })).RequireAccess(AccessLevel.Read);
        app.MapPost("/cluster/recover", (HttpContext context) => StandaloneOnly(context)).RequireAccess(AccessLevel.Manage);
        app.MapDelete("/cluster/peer/{peer}", (HttpContext context) => StandaloneOnly(context)).RequireAccess(AccessLevel.Manage);
        app.MapGet("/issues", (HttpContext context, IssuesService issues, CollectionsService collections) =>
        {
            var list = issues.List(context.Call(), collections.Manager);
            return QdrantResults.Ok(w => Issues(w, list));
        }).RequireAccess(AccessLevel.Read, perCollection: true);
        app.MapDelete("/issues", (HttpContext context, IssuesService issues) =>
        {
            issues.Clear(context.Call());
            return QdrantResults.Ok(true);
        }).RequireAccess(AccessLevel.Manage);
        return app;
    }

    private static IResult StandaloneOnly(HttpContext context)
    {
        context.Call().Access.Demand(AccessLevel.Manage, null);
        throw new ApiException(ApiErrorCode.StandaloneMode, Standalone);
    }

    private static void Wait(HttpContext context)
    {
        QueryParameters.Ordering(context.Request.Query["ordering"]);
        _ = QueryParameters.Int(context.Request.Query["timeout"], "timeout");
        _ = QueryParameters.Bool(context.Request.Query["wait"], "wait", fallback: false);
    }

    private static async Task<IResult> CreateVector(string collection, string vector, HttpContext context, CollectionsService collections, VectorizerSettings settings)
    {
        Wait(context);
        collections.Resolve(context.Call(), collection, AccessLevel.Manage);
        using var body = await JsonBody.ReadAsync(context, settings.MaxRequestBytes()).ConfigureAwait(false);
        var (dense, sparse) = CollectionJson.ParseVectorName(body.Root, settings.Limits.MaxVectorSize);
        var name = Uri.UnescapeDataString(vector);
        var result = dense is not null
            ? collections.CreateVector(context.Call(), collection, name, dense)
            : collections.CreateSparseVector(context.Call(), collection, name, sparse!);
        return QdrantResults.Ok(w => ResponseJson.UpdateResult(w, result));
    }

    /// <summary><c>?with=queued,completed,idle_segments&amp;completed_limit=16</c>.</summary>
    private static IResult Optimizations(string collection, HttpContext context, CollectionsService collections)
    {
        var with = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in context.Request.Query["with"].ToString().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            with.Add(item is "queued" or "completed" or "idle_segments"
                ? item
                : throw new ApiException(ApiErrorCode.MalformedBody, $"Query deserialize error: unknown variant `{item}` for `with`, expected one of `queued`, `completed`, `idle_segments`"));
        }

        var completedLimit = QueryParameters.Int(context.Request.Query["completed_limit"], "completed_limit") ?? 16;
        var report = collections.Optimizations(context.Call(), collection);
        return QdrantResults.Ok(w => WriteOptimizations(w, report, with, completedLimit));
    }

    private static void WriteOptimizations(Utf8JsonWriter w, OptimizationsReport report, HashSet<string> with, int completedLimit)
    {
        var queued = new List<string>();
        if (report.QueuedPoints > 0)
        {
            queued.Add("indexing");
        }

        if (report.VacuumDue)
        {
            queued.Add("vacuum");
        }

        var idle = report.Running.Count == 0 && queued.Count == 0;
        w.WriteStartObject();
        w.WriteStartObject("summary");
        w.WriteNumber("queued_optimizations", queued.Count);
        w.WriteNumber("queued_segments", queued.Count > 0 ? 1 : 0);
        w.WriteNumber("queued_points", report.QueuedPoints + (report.VacuumDue ? report.Points : 0));
        w.WriteNumber("idle_segments", idle ? 1 : 0);
        w.WriteEndObject();
        w.WriteStartArray("running");
        foreach (var optimization in report.Running)
        {
            Optimization(w, optimization, report);
        }

        w.WriteEndArray();
        if (with.Contains("queued"))
        {
            w.WriteStartArray("queued");
            foreach (var optimizer in queued)
            {
                w.WriteStartObject();
                w.WriteString("optimizer", optimizer);
                Segments(w, report);
                w.WriteEndObject();
            }

            w.WriteEndArray();
        }

        if (with.Contains("completed"))
        {
            w.WriteStartArray("completed");
            foreach (var optimization in report.Completed.Take(completedLimit))
            {
                Optimization(w, optimization, report);
            }

            w.WriteEndArray();
        }

        if (with.Contains("idle_segments"))
        {
            w.WriteStartArray("idle_segments");
            if (idle)
            {
                Segment(w, report);
            }

            w.WriteEndArray();
        }

        w.WriteEndObject();
    }

    private static void Optimization(Utf8JsonWriter w, OptimizationRecord optimization, OptimizationsReport report)
    {
        w.WriteStartObject();
        w.WriteString("uuid", optimization.Id);
        w.WriteString("optimizer", optimization.Optimizer);
        w.WritePropertyName("status");
        switch (optimization.Status)
        {
            case OptimizationStatus.Optimizing:
                w.WriteStringValue("optimizing");
                break;
            case OptimizationStatus.Done:
                w.WriteStringValue("done");
                break;
            default:
                w.WriteStartObject();
                w.WriteString("error", optimization.Error);
                w.WriteEndObject();
                break;
        }

        Segments(w, report);
        w.WriteStartObject("progress");
        w.WriteString("name", optimization.Optimizer);
        w.WriteString("started_at", optimization.StartedAt);
        if (optimization.FinishedAt is { } finished)
        {
            w.WriteString("finished_at", finished);
            w.WriteNumber("duration_sec", (finished - optimization.StartedAt).TotalSeconds);
        }

        w.WriteNumber("done", optimization.Done);
        w.WriteNumber("total", optimization.Total);
        w.WriteStartArray("children");
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void Segments(Utf8JsonWriter w, OptimizationsReport report)
    {
        w.WriteStartArray("segments");
        Segment(w, report);
        w.WriteEndArray();
    }

    private static void Segment(Utf8JsonWriter w, OptimizationsReport report)
    {
        w.WriteStartObject();
        w.WriteString("uuid", report.Segment);
        w.WriteNumber("points_count", report.Points);
        w.WriteEndObject();
    }

    private static void ClusterInfo(Utf8JsonWriter w, CollectionClusterInfo info)
    {
        w.WriteStartObject();
        w.WriteNumber("peer_id", info.PeerId);
        w.WriteNumber("shard_count", info.ShardCount);
        w.WriteStartArray("local_shards");
        foreach (var shard in info.LocalShards)
        {
            w.WriteStartObject();
            w.WriteNumber("shard_id", shard.ShardId);
            w.WriteNumber("points_count", shard.PointsCount);
            w.WriteString("state", shard.State);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteStartArray("remote_shards");
        w.WriteEndArray();
        w.WriteStartArray("shard_transfers");
        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary><c>{"issues": [{"code", "description", "solution": {"immediate": {"message", "action"}}, "timestamp"}]}</c>.</summary>
    private static void Issues(Utf8JsonWriter w, IReadOnlyList<Issue> issues)
    {
        w.WriteStartObject();
        w.WriteStartArray("issues");
        foreach (var issue in issues)
        {
            w.WriteStartObject();
            w.WriteString("code", issue.Code);
            w.WriteString("description", issue.Description);
            w.WriteStartObject("solution");
            w.WriteStartObject("immediate");
            w.WriteString("message", issue.Solution);
            w.WriteStartObject("action");
            w.WriteString("method", "PUT");
            w.WriteString("uri", $"/collections/{Uri.EscapeDataString(issue.Collection)}/index");
            w.WriteStartObject("body");
            w.WriteString("field_name", issue.Field);
            w.WriteString("field_schema", issue.FieldType);
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteString("timestamp", issue.Since.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture));
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }
}
