using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Vectorizer.Server.Api.Qdrant;
using Vectorizer.Server.Application;
using Vectorizer.Server.Configuration;
using Vectorizer.Server.Hosting;
using Vectorizer.Server.Http;
using Vectorizer.Server.Observability;
using Vectorizer.Server.Security;

namespace Vectorizer.Server.Api.Ops;

/// <summary>
/// Probes and health: <c>/livez</c> (200 while the process serves), <c>/readyz</c> (200 once collections are loaded, 503
/// before and from the start of shutdown), <c>/health/detailed</c> (the operators' guide: status, version, uptime,
/// requests and error rate, collections, failed collections, disk, checkpoints, watcher). Qdrant's <c>/telemetry</c>
/// is <see cref="TelemetryApi"/>.
/// </summary>
public static class HealthApi
{
    /// <summary>Paths answered while the collections load (everything else gets 503 then).</summary>
    public static readonly IReadOnlySet<string> ServedWhileLoading = new HashSet<string>(StringComparer.Ordinal)
    {
        "/", "/livez", "/readyz", "/healthz", "/health", "/health/detailed", "/metrics",
    };

    /// <summary>Less free disk than this share of the file system makes the server degraded.</summary>
    private const double FreeDiskDegradedRatio = 0.05;

    public static IEndpointRouteBuilder MapHealthApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/livez", () => TypedResults.Text("healthz check passed")).AllowAnonymousProbe();
        app.MapGet("/readyz", (ServerReadiness readiness, CollectionReadings readings) => Ready(readiness, readings)).AllowAnonymousProbe();

        // Server-wide: collection names, paths, failure reasons and request counts need global read access.
        app.MapGet("/health/detailed", (HttpContext context) => Detailed(context)).RequireAccess(AccessLevel.Read);
        return app;
    }

    /// <summary>
    /// 200 once the collections are loaded, 503 before and from the start of shutdown. A collection that failed to open
    /// does not make the server unready: the others are served (the failed one answers 409 <c>CollectionFailed</c>),
    /// and restarting or taking the instance out of rotation would not repair it; it is reported by
    /// <c>/health/detailed</c> (status <c>degraded</c>), <c>vectorizer_collections_failed</c> and an alert. The probe
    /// is anonymous, so it gives the number of failed collections, never their names.
    /// </summary>
    private static IResult Ready(ServerReadiness readiness, CollectionReadings readings)
    {
        if (!readiness.IsReady)
        {
            return Results.Text(readiness.IsStopping ? "shutting down" : "collections are loading", statusCode: StatusCodes.Status503ServiceUnavailable);
        }

        var failed = readings.Failed().Count;
        return Results.Text(failed == 0
            ? "all shards are ready"
            : $"ready; {failed} collection{(failed == 1 ? "" : "s")} failed to open and {(failed == 1 ? "is" : "are")} not served (see /health/detailed)");
    }

    /// <summary>Before the engine has loaded: 503 in Qdrant's envelope for all but the probes.</summary>
    public static Func<HttpContext, RequestDelegate, Task> LoadingGate(EngineLifetime engine) => (context, next) =>
        engine.IsLoaded || ServedWhileLoading.Contains(context.Request.Path.Value ?? "")
            ? next(context)
            : Unavailable(context);

    private static Task Unavailable(HttpContext context)
    {
        context.Response.Headers.RetryAfter = "1";
        return QdrantResults.WriteError(context, StatusCodes.Status503ServiceUnavailable, "Service unavailable: collections are loading; /readyz answers 200 once they are");
    }

    private static IResult Detailed(HttpContext context)
    {
        var services = context.RequestServices;
        var settings = services.GetService<VectorizerSettings>()!;
        var readiness = services.GetService<ServerReadiness>()!;
        var stats = services.GetService<RequestStats>()!;
        var clock = services.GetService<ServerClock>()!;
        var disk = services.GetService<DataDiskProbe>()!;
        var watcher = services.GetService<FileWatcherHost>()!.Snapshot();
        var readings = services.GetService<CollectionReadings>()!.Current();

        var problems = new JsonArray();
        var failedCollections = new JsonArray();
        foreach (var failed in services.GetService<CollectionReadings>()!.Failed())
        {
            problems.Add($"collection `{failed.Name}` failed to open: {failed.Reason}");
            failedCollections.Add(new JsonObject
            {
                ["name"] = failed.Name,
                ["status"] = "failed",
                ["path"] = failed.Path,
                ["reason"] = failed.Reason,
                ["since"] = failed.Since.ToString("O", CultureInfo.InvariantCulture),
            });
        }

        var collections = new JsonArray();
        double oldestCheckpoint = 0;
        foreach (var reading in readings)
        {
            if (reading.Status == "red")
            {
                problems.Add($"collection `{reading.Name}` is red");
            }

            var age = reading.OperationsSinceCheckpoint > 0 ? reading.CheckpointAgeSeconds : 0;
            oldestCheckpoint = Math.Max(oldestCheckpoint, age);
            if (settings.AutoSave.Enabled && age > 2.0 * settings.AutoSave.IntervalSeconds)
            {
                problems.Add($"collection `{reading.Name}`: {reading.OperationsSinceCheckpoint} operations not checkpointed for {age:F0} s (auto_save.interval_seconds: {settings.AutoSave.IntervalSeconds})");
            }

            collections.Add(new JsonObject
            {
                ["name"] = reading.Name,
                ["status"] = reading.Status,
                ["points"] = reading.Points,
                ["indexed_vectors"] = reading.IndexedVectors,
                ["unindexed_vectors"] = reading.UnindexedVectors,
                ["operations_since_checkpoint"] = reading.OperationsSinceCheckpoint,
                ["last_checkpoint_age_seconds"] = Math.Round(reading.CheckpointAgeSeconds, 1),
                ["wal_bytes"] = reading.WalBytes,
                ["ram_bytes"] = reading.RamBytes,
                ["disk_bytes"] = reading.DiskBytes,
            });
        }

        var (free, total) = disk.Read();
        var freeRatio = total == 0 ? 0 : (double)free / total;
        if (total > 0 && freeRatio < FreeDiskDegradedRatio)
        {
            problems.Add($"{free >> 20} MiB free under {disk.Path} ({freeRatio:P1})");
        }

        var (recent, recentErrors) = stats.LastFiveMinutes();
        var errorRate = recent == 0 ? 0 : (double)recentErrors / recent;
        if (recent >= 20 && errorRate > 0.05)
        {
            problems.Add($"{errorRate:P1} of the requests of the last 5 minutes failed with a 5xx status");
        }

        var watcherErrors = watcher.Stats.RecentErrors();
        var status = readiness.Phase switch
        {
            "loading" => "starting",
            "stopping" => "stopping",
            _ => problems.Count > 0 ? "degraded" : "healthy",
        };

        var body = new JsonObject
        {
            ["status"] = status,
            ["version"] = ServiceApi.Version,
            ["uptime_seconds"] = Math.Round(clock.Uptime.TotalSeconds, 1),
            ["started_at"] = clock.StartedAt.ToString("O", CultureInfo.InvariantCulture),
            ["ready"] = readiness.IsReady,
            ["problems"] = problems,
            ["metrics"] = new JsonObject
            {
                ["uptime"] = (long)clock.Uptime.TotalSeconds,
                ["requests_total"] = stats.Total,
                ["errors_total"] = stats.ServerErrors,
                ["requests_last_5m"] = recent,
                ["errors_last_5m"] = recentErrors,
                ["error_rate"] = Math.Round(errorRate, 6),
            },
            ["services"] = new JsonObject
            {
                ["engine"] = readiness.Phase == "loading" ? "loading" : "loaded",
                ["file_watcher"] = !watcher.Enabled ? "disabled" : watcher.Running ? "running" : "stopped",
                ["metrics"] = settings.Metrics.Enabled ? "enabled" : "disabled",
                ["tracing"] = settings.Telemetry.IsEnabled ? "otlp" : "disabled",
            },
            ["collections"] = collections,
            ["failed_collections"] = failedCollections,
            ["checkpoints"] = new JsonObject
            {
                ["oldest_unsaved_age_seconds"] = Math.Round(oldestCheckpoint, 1),
                ["auto_save"] = settings.AutoSave.Enabled,
                ["interval_seconds"] = settings.AutoSave.IntervalSeconds,
            },
            ["disk"] = new JsonObject
            {
                ["data_dir"] = disk.Path,
                ["free_bytes"] = free,
                ["total_bytes"] = total,
                ["free_ratio"] = Math.Round(freeRatio, 4),
            },
            ["watcher"] = new JsonObject
            {
                ["enabled"] = watcher.Enabled,
                ["running"] = watcher.Running,
                ["scanning"] = watcher.Scanning,
                ["queue_depth"] = watcher.QueueDepth,
                ["files_indexed"] = watcher.Stats.FilesIndexed,
                ["files_failed"] = watcher.Stats.FilesFailed,
                ["last_error"] = watcherErrors.Count == 0 ? null : new JsonObject
                {
                    ["path"] = watcherErrors[^1].Path,
                    ["reason"] = watcherErrors[^1].Reason,
                    ["time"] = watcherErrors[^1].Time.ToString("O", CultureInfo.InvariantCulture),
                },
            },
        };
        var code = status is "healthy" or "degraded" ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
        return Results.Text(body.ToJsonString(), "application/json", statusCode: code);
    }
}
