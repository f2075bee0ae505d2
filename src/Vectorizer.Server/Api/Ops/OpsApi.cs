using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Errors;
using Vectorizer.Ingestion.Embeddings;
using Vectorizer.Ingestion.Health;
using Vectorizer.Server.Api.Qdrant;
using Vectorizer.Server.Api.Qdrant.Json;
using Vectorizer.Server.Application;
using Vectorizer.Server.Application.Caching;
using Vectorizer.Server.Hosting;
using Vectorizer.Server.Http;
using Vectorizer.Server.Security;

namespace Vectorizer.Server.Api.Ops;

/// <summary>Our own operations endpoints (the product documents use them for probes and dashboards).</summary>
public static class OpsApi
{
    public static IEndpointRouteBuilder MapOpsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/health", (ServerClock clock) => TypedResults.Json(
            new HealthInfo("healthy", ServiceApi.Version, clock.Uptime.TotalSeconds, DateTimeOffset.UtcNow), ApiJson.Default.HealthInfo)).RequireAccess(AccessLevel.Read);
        app.MapGet("/api/status", (CollectionManager manager, ServerClock clock, QueryCache cache, DailyBudget budget, Backups.BackupScheduler backups) =>
                TypedResults.Json(Status(manager, clock, cache, budget) with { Backups = backups.Status() }, ApiJson.Default.ServerStatus))
            .RequireAccess(AccessLevel.Read);
        app.MapGet("/api/watcher/status", (FileWatcherHost watcher) => TypedResults.Json(WatcherStatus(watcher.Snapshot()), ApiJson.Default.WatcherStatus))
            .RequireAccess(AccessLevel.Read);

        // A collection-scoped token may check one of its collections; `fix` (POST) changes collections: manage.
        app.MapGet("/api/health-check", (HttpContext context, HealthChecks health) => HealthCheck(context, health, post: false))
            .RequireAccess(AccessLevel.Read, perCollection: true);
        app.MapPost("/api/health-check", (HttpContext context, HealthChecks health) => HealthCheck(context, health, post: true))
            .RequireAccess(AccessLevel.Manage);
        return app;
    }

    /// <summary>
    /// <c>?collection=</c> (a name, or <c>all</c>), <c>root=</c> (else each collection's stored source root),
    /// <c>examples=</c> (10), <c>fix=true</c> (POST only: it changes the collections).
    /// </summary>
    private static async Task<IResult> HealthCheck(HttpContext context, HealthChecks health, bool post)
    {
        var query = context.Request.Query;
        var fix = QueryParameters.Bool(query["fix"], "fix", fallback: false);
        if (fix && !post)
        {
            throw VectorizerException.BadRequest("fix=true changes collections: use POST /api/health-check?fix=true");
        }

        var request = new HealthCheckRequest
        {
            Collection = NullIfEmpty(query["collection"]),
            Root = NullIfEmpty(query["root"]),
            Fix = fix,
            MaxExamples = QueryParameters.Int(query["examples"], "examples") ?? 10,
        };
        var report = await health.RunAsync(context.Call(), request, context.RequestAborted).ConfigureAwait(false);
        return QdrantResults.Ok(w => HealthReportJson.Write(w, report));
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    public static WatcherStatus WatcherStatus(WatcherSnapshot snapshot)
    {
        var stats = snapshot.Stats;
        return new WatcherStatus(
            snapshot.Enabled,
            snapshot.Running,
            snapshot.Scanning,
            snapshot.Paths,
            snapshot.QueueDepth,
            stats.FilesIndexed,
            stats.FilesUnchanged,
            stats.FilesSkipped,
            stats.FilesRemoved,
            stats.FilesFailed,
            stats.ChunksIndexed,
            stats.Rescans,
            stats.Overflows,
            stats.Reloads,
            stats.LastEvent is { } last ? new WatcherEvent(last.Path, last.Kind, last.Time) : null,
            [.. stats.RecentSkipped().Select(p => new WatcherProblem(p.Path, p.Reason, p.Time))],
            [.. stats.RecentErrors().Select(p => new WatcherProblem(p.Path, p.Reason, p.Time))]);
    }

    public static ServerStatus Status(CollectionManager manager, ServerClock clock, QueryCache? cache = null, DailyBudget? budget = null)
    {
        var collections = new List<CollectionStatusInfo>();
        long points = 0;
        long indexBytes = 0;
        foreach (var name in manager.List())
        {
            if (manager.TryGet(name) is not { } collection)
            {
                continue;
            }

            var info = collection.GetInfo();
            var memory = collection.MemoryBytes();
            points += info.PointsCount;
            indexBytes += memory;
            collections.Add(new CollectionStatusInfo(name, info.Status.ToString().ToLowerInvariant(), info.PointsCount, info.IndexedVectorsCount, memory, collection.LastLsn, collection.CheckpointLsn));
        }

        // A collection that could not be opened makes the server "degraded": it answers, but not for everything it holds.
        var failed = manager.Failed.Select(f => new FailedCollectionInfo(f.Name, f.Path, f.Reason, f.Since)).ToList();
        using var process = Process.GetCurrentProcess();
        return new ServerStatus(
            failed.Count == 0 ? "ok" : "degraded",
            ServiceApi.Version,
            clock.Uptime.TotalSeconds,
            manager.DataDirectory,
            collections.Count,
            points,
            new MemoryInfo(process.WorkingSet64, GC.GetTotalMemory(false), indexBytes),
            collections,
            failed,
            cache?.Stats is { } c ? new QueryCacheInfo(c.Enabled, c.Hits, c.Misses, Math.Round(c.HitRate, 4), c.Bypassed, c.SecondLevel, c.SecondLevelState) : null,
            budget?.Today is { } d ? new EmbeddingSpendInfo(d.Day, d.Tokens, Math.Round(d.Cost, 6), d.Requests, budget.MaxCostPerDay) : null);
    }
}
