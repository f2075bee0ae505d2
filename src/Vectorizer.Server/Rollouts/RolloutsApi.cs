using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Vectorizer.Engine.Collections;
using Vectorizer.Server.Api.Qdrant.Json;
using Vectorizer.Server.Application;
using Vectorizer.Server.Configuration;
using Vectorizer.Server.Hosting;
using Vectorizer.Server.Http;
using Vectorizer.Server.Security;

namespace Vectorizer.Server.Rollouts;

/// <summary>
/// <c>/api/deployments</c> (canary rollouts) and <c>/api/experiments</c> (A/B tests), the middleware that reports the
/// outcome of routed reads and names the collection that answered (<c>X-Vectorizer-Collection</c>), and registration.
/// </summary>
public static class RolloutsApi
{
    public const string CollectionHeader = "X-Vectorizer-Collection";

    public static IServiceCollection AddRollouts(this IServiceCollection services, VectorizerSettings settings)
    {
        services.AddSingleton(provider => new RolloutService(
            provider.GetRequiredService<CollectionManager>(),
            settings.Rollouts,
            provider.GetRequiredService<ILoggerFactory>(),
            provider.GetService<TimeProvider>()));
        services.AddSingleton<IAliasRouter>(provider => provider.GetRequiredService<RolloutService>());
        services.AddHostedServiceAfterEngine<RolloutService>();
        return services;
    }

    /// <summary>After authentication: completes each routed call with its outcome and sets <see cref="CollectionHeader"/>.</summary>
    public static IApplicationBuilder UseRollouts(this IApplicationBuilder app)
    {
        // Resolved at the first request: resolving it here would open the engine while the pipeline is being built.
        RolloutService? service = null;
        EngineLifetime? engine = null;
        return app.Use((context, next) =>
        {
            // While the engine loads nothing is routed (and resolving the service would wait for the engine).
            engine ??= context.RequestServices.GetRequiredService<EngineLifetime>();
            if (service is null && !engine.IsLoaded)
            {
                return next(context);
            }

            service ??= context.RequestServices.GetRequiredService<RolloutService>();
            return service.HasRoutes ? Track(context, next) : next(context);
        });
    }

    private static async Task Track(HttpContext context, RequestDelegate next)
    {
        context.Response.OnStarting(SetHeader, context);
        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            var status = e is OperationCanceledException ? StatusCodes.Status408RequestTimeout : ErrorMapper.Map(e)?.Status ?? StatusCodes.Status500InternalServerError;
            context.Call().Route?.Complete(IsFailure(status));
            throw;
        }

        context.Call().Route?.Complete(IsFailure(context.Response.StatusCode));
    }

    /// <summary>
    /// What counts against the side that answered: server errors, timeouts, and the collection's own refusals of a
    /// request the client sent to the alias (400 such as a missing vector name, 409 a failed collection, 422). Not
    /// 401/403 (the caller), 404 (a point that is not there is an answer) or 413/429 (limits).
    /// </summary>
    public static bool IsFailure(int status) => status >= 500 || status is 400 or 408 or 409 or 422;

    private static Task SetHeader(object state)
    {
        var context = (HttpContext)state;
        if (context.Call().Route is { } route)
        {
            context.Response.Headers[CollectionHeader] = route.Collection;
        }

        return Task.CompletedTask;
    }

    public static IEndpointRouteBuilder MapRolloutsApi(this IEndpointRouteBuilder app)
    {
        var deployments = app.MapGroup("/api/deployments");
        deployments.MapGet("", (RolloutService service) => QdrantResults.Ok(w =>
        {
            var now = DateTimeOffset.UtcNow;
            w.WriteStartArray();
            foreach (var deployment in service.ListDeployments())
            {
                RolloutsJsonWriter.Deployment(w, deployment, service, now);
            }

            w.WriteEndArray();
        })).RequireAccess(AccessLevel.Read);
        deployments.MapPost("", StartDeployment).RequireAccess(AccessLevel.Manage);
        deployments.MapGet("/{id}", (string id, RolloutService service) => Show(service, service.GetDeployment(id))).RequireAccess(AccessLevel.Read);
        deployments.MapPost("/{id}/pause", (string id, RolloutService service) => Show(service, service.Pause(id))).RequireAccess(AccessLevel.Manage);
        deployments.MapPost("/{id}/resume", (string id, RolloutService service) => Show(service, service.Resume(id))).RequireAccess(AccessLevel.Manage);
        deployments.MapPost("/{id}/rollback", (string id, RolloutService service) => Show(service, service.Rollback(id))).RequireAccess(AccessLevel.Manage);
        deployments.MapPost("/{id}/promote", (string id, RolloutService service) => Show(service, service.Promote(id))).RequireAccess(AccessLevel.Manage);

        var experiments = app.MapGroup("/api/experiments");
        experiments.MapGet("", (RolloutService service) => QdrantResults.Ok(w =>
        {
            w.WriteStartArray();
            foreach (var experiment in service.ListExperiments())
            {
                RolloutsJsonWriter.Experiment(w, experiment, service);
            }

            w.WriteEndArray();
        })).RequireAccess(AccessLevel.Read);
        experiments.MapPost("", StartExperiment).RequireAccess(AccessLevel.Manage);
        experiments.MapGet("/{id}", (string id, RolloutService service) => Show(service, service.GetExperiment(id))).RequireAccess(AccessLevel.Read);
        experiments.MapPost("/{id}/events", RecordEvent).RequireAccess(AccessLevel.Write);
        experiments.MapPost("/{id}/stop", (string id, RolloutService service) => Show(service, service.Stop(id))).RequireAccess(AccessLevel.Manage);
        experiments.MapPost("/{id}/promote", PromoteArm).RequireAccess(AccessLevel.Manage);
        return app;
    }

    private static IResult Show(RolloutService service, Deployment deployment) =>
        QdrantResults.Ok(w => RolloutsJsonWriter.Deployment(w, deployment, service, DateTimeOffset.UtcNow));

    private static IResult Show(RolloutService service, Experiment experiment) =>
        QdrantResults.Ok(w => RolloutsJsonWriter.Experiment(w, experiment, service));

    private static async Task<IResult> StartDeployment(HttpContext context, RolloutService service, VectorizerSettings settings)
    {
        using var body = await JsonBody.ReadAsync(context, settings.MaxRequestBytes()).ConfigureAwait(false);
        var root = body.Root.ExpectObject();
        root.DenyUnknown("alias", "new_collection", "stages", "auto_rollback", "routing_key");
        var stages = new List<StageSpec>();
        foreach (var item in root.Required("stages").Items())
        {
            var stage = item.ExpectObject();
            stage.DenyUnknown("percentage", "duration_minutes", "error_threshold", "max_p99_ms", "min_requests");
            stages.Add(new StageSpec(
                stage.Required("percentage").AsInt(),
                stage.Required("duration_minutes").AsDouble(),
                stage.TryGet("error_threshold", out var threshold) ? threshold.AsDouble() : 0.05,
                stage.TryGet("max_p99_ms", out var p99) ? p99.AsDouble() : null,
                stage.TryGet("min_requests", out var min) ? min.AsLong() : 10));
        }

        var spec = new DeploymentSpec(
            root.Required("alias").AsString(),
            root.Required("new_collection").AsString(),
            stages,
            !root.TryGet("auto_rollback", out var auto) || auto.AsBool(),
            root.TryGet("routing_key", out var key) ? key.AsString() : "request");
        var deployment = service.StartDeployment(spec);
        return Show(service, deployment);
    }

    private static async Task<IResult> StartExperiment(HttpContext context, RolloutService service, VectorizerSettings settings)
    {
        using var body = await JsonBody.ReadAsync(context, settings.MaxRequestBytes()).ConfigureAwait(false);
        var root = body.Root.ExpectObject();
        root.DenyUnknown("name", "alias", "control", "variants", "traffic_splits", "routing_key", "metrics");
        var variants = root.Required("variants").AsStringList();
        var splits = root.TryGet("traffic_splits", out var given)
            ? [.. given.Items().Select(s => s.AsDouble())]
            : Enumerable.Repeat(1.0 / (variants.Count + 1), variants.Count + 1).ToList();
        var spec = new ExperimentSpec(
            root.Required("name").AsString(),
            root.Required("alias").AsString(),
            root.Required("control").AsString(),
            variants,
            splits,
            root.TryGet("routing_key", out var key) ? key.AsString() : "request",
            root.TryGet("metrics", out var metrics) ? metrics.AsStringList() : ["latency", "results_count"]);
        return Show(service, service.StartExperiment(spec));
    }

    private static async Task<IResult> RecordEvent(string id, HttpContext context, RolloutService service, VectorizerSettings settings)
    {
        using var body = await JsonBody.ReadAsync(context, settings.MaxRequestBytes()).ConfigureAwait(false);
        var root = body.Root.ExpectObject();
        root.DenyUnknown("routing_key", "event", "value");
        var experiment = service.GetExperiment(id);
        var arm = service.RecordEvent(
            id,
            root.Required("routing_key").AsString(),
            root.Required("event").AsString(),
            root.TryGet("value", out var value) ? value.AsDouble() : null);
        return QdrantResults.Ok(w =>
        {
            w.WriteStartObject();
            w.WriteString("arm", experiment.Arms[arm]);
            w.WriteEndObject();
        });
    }

    private static async Task<IResult> PromoteArm(string id, HttpContext context, RolloutService service, VectorizerSettings settings)
    {
        using var body = await JsonBody.ReadAsync(context, settings.MaxRequestBytes()).ConfigureAwait(false);
        var root = body.Root.ExpectObject();
        root.DenyUnknown("arm");
        return Show(service, service.PromoteArm(id, root.Required("arm").AsString()));
    }
}

/// <summary>The JSON of deployments and experiments.</summary>
internal static class RolloutsJsonWriter
{
    public static void Deployment(Utf8JsonWriter w, Deployment d, RolloutService service, DateTimeOffset now)
    {
        w.WriteStartObject();
        w.WriteString("id", d.Id);
        w.WriteString("alias", d.Alias);
        w.WriteString("old_collection", d.OldCollection);
        w.WriteString("new_collection", d.NewCollection);
        w.WriteString("state", d.State);
        if (d.Reason is null)
        {
            w.WriteNull("reason");
        }
        else
        {
            w.WriteString("reason", d.Reason);
        }

        w.WriteBoolean("auto_rollback", d.AutoRollback);
        w.WriteString("routing_key", d.RoutingKey);
        w.WriteNumber("current_stage", d.Stage + 1);
        w.WriteNumber("total_stages", d.Stages.Count);
        w.WriteNumber("current_percentage", d.CurrentPercentage);
        w.WriteNumber("time_in_stage_seconds", Math.Round(d.TimeInStageMs(now) / 1000, 3));
        w.WriteStartObject("check");
        w.WriteString("status", d.Check);
        w.WriteString("message", d.CheckMessage);
        w.WriteEndObject();
        w.WriteStartArray("stages");
        foreach (var stage in d.Stages)
        {
            w.WriteStartObject();
            w.WriteNumber("percentage", stage.Percentage);
            w.WriteNumber("duration_minutes", stage.DurationMinutes);
            w.WriteNumber("error_threshold", stage.ErrorThreshold);
            if (stage.MaxP99Ms is { } max)
            {
                w.WriteNumber("max_p99_ms", max);
            }

            w.WriteNumber("min_requests", stage.MinRequests);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        Sides(w, "stage_metrics", d, d.StageStats);
        Sides(w, "total_metrics", d, d.TotalStats);
        w.WriteNumber("mirror_failures", d.MirrorFailures);
        w.WriteNumber("unkeyed_requests", d.IsActive ? service.Unkeyed(d.Alias) : 0);
        w.WriteString("created_at", d.CreatedAt);
        w.WriteStartArray("history");
        foreach (var t in d.History)
        {
            w.WriteStartObject();
            w.WriteString("at", t.At);
            w.WriteString("event", t.Event);
            w.WriteNumber("stage", t.Stage);
            w.WriteNumber("percentage", t.Percentage);
            if (t.Reason is not null)
            {
                w.WriteString("reason", t.Reason);
            }

            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void Sides(Utf8JsonWriter w, string name, Deployment d, SideStats[] stats)
    {
        w.WriteStartObject(name);
        Side(w, "old", d.OldCollection, stats[0], latency: true);
        Side(w, "new", d.NewCollection, stats[1], latency: true);
        w.WriteEndObject();
    }

    private static void Side(Utf8JsonWriter w, string? name, string collection, SideStats stats, bool latency)
    {
        if (name is null)
        {
            w.WriteStartObject();
        }
        else
        {
            w.WriteStartObject(name);
        }

        w.WriteString("collection", collection);
        w.WriteNumber("requests", stats.Requests);
        w.WriteNumber("errors", stats.Errors);
        w.WriteNumber("error_rate", stats.ErrorRate);
        if (latency)
        {
            Number(w, "p50_ms", stats.Latency.Percentile(0.5));
            Number(w, "p99_ms", stats.Latency.Percentile(0.99));
        }

        if (name is not null)
        {
            w.WriteEndObject();
        }
    }

    public static void Experiment(Utf8JsonWriter w, Experiment e, RolloutService service)
    {
        w.WriteStartObject();
        w.WriteString("id", e.Id);
        w.WriteString("name", e.Name);
        w.WriteString("alias", e.Alias);
        w.WriteString("state", e.State);
        w.WriteString("control", e.Arms[0]);
        w.WriteStartArray("variants");
        foreach (var variant in e.Arms.Skip(1))
        {
            w.WriteStringValue(variant);
        }

        w.WriteEndArray();
        w.WriteStartArray("traffic_splits");
        foreach (var split in e.Splits)
        {
            w.WriteNumberValue(split);
        }

        w.WriteEndArray();
        w.WriteString("routing_key", e.RoutingKey);
        w.WriteStartArray("metrics");
        foreach (var metric in e.Metrics)
        {
            w.WriteStringValue(metric);
        }

        w.WriteEndArray();
        if (e.PromotedArm is not null)
        {
            w.WriteString("promoted_arm", e.PromotedArm);
        }

        w.WriteString("created_at", e.CreatedAt);
        if (e.EndedAt is { } ended)
        {
            w.WriteString("ended_at", ended);
        }

        w.WriteNumber("unkeyed_requests", e.IsActive ? service.Unkeyed(e.Alias) : 0);
        var latency = e.Metrics.Contains("latency");
        var results = e.Metrics.Contains("results_count");
        var events = e.Events.SelectMany(arm => arm.Keys).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        w.WriteStartArray("arms");
        for (var arm = 0; arm < e.Arms.Count; arm++)
        {
            var stats = e.Stats[arm];
            Side(w, null, e.Arms[arm], stats, latency);
            w.WriteString("role", arm == 0 ? "control" : "variant");
            w.WriteNumber("split", e.Splits[arm]);
            if (results)
            {
                Number(w, "mean_results", stats.MeanResults);
            }

            w.WriteStartObject("events");
            foreach (var name in events)
            {
                var count = e.Events[arm].GetValueOrDefault(name, new EventCount(0, 0));
                w.WriteStartObject(name);
                w.WriteNumber("count", count.Count);
                w.WriteNumber("sum", count.Sum);
                Number(w, "rate", stats.Requests == 0 ? null : (double)count.Count / stats.Requests);
                if (arm > 0)
                {
                    var control = e.Events[0].GetValueOrDefault(name, new EventCount(0, 0));
                    if (Statistics.TwoProportion(control.Count, e.Stats[0].Requests, count.Count, stats.Requests) is { } test)
                    {
                        w.WriteStartObject("vs_control");
                        w.WriteNumber("difference", test.Difference);
                        Number(w, "z", test.Z);
                        Number(w, "p_value", test.PValue);
                        w.WriteStartArray("confidence_interval_95");
                        w.WriteNumberValue(test.Low);
                        w.WriteNumberValue(test.High);
                        w.WriteEndArray();
                        w.WriteEndObject();
                    }
                }

                w.WriteEndObject();
            }

            w.WriteEndObject();
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void Number(Utf8JsonWriter w, string name, double? value)
    {
        if (value is { } v && double.IsFinite(v))
        {
            w.WriteNumber(name, Math.Round(v, 6));
        }
        else
        {
            w.WriteNull(name);
        }
    }
}
