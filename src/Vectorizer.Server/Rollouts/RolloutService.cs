using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Storage;
using Vectorizer.Server.Application;

namespace Vectorizer.Server.Rollouts;

/// <summary>
/// Canary deployments and A/B tests behind aliases: starts, controls and evaluates them, persists them in
/// <c>data_dir/rollouts.json</c> (replaced atomically), and routes reads through their aliases
/// (<see cref="IAliasRouter"/>, called by <see cref="CollectionsService.Resolve"/>). Routing reads one immutable
/// table per call; everything else takes the service's lock.
/// </summary>
public sealed class RolloutService : IAliasRouter, IHostedService, IDisposable
{
    public const string FileName = "rollouts.json";

    private static readonly IReadOnlyDictionary<string, RouteTable> NoRoutes = new Dictionary<string, RouteTable>(StringComparer.Ordinal);

    private readonly CollectionManager manager;
    private readonly RolloutsSection settings;
    private readonly TimeProvider time;
    private readonly ILogger logger;
    private readonly Lock gate = new();
    private readonly List<Deployment> deployments = [];
    private readonly List<Experiment> experiments = [];
    private IReadOnlyDictionary<string, RouteTable> routes = NoRoutes;
    private ITimer? timer;
    private bool loaded;

    public RolloutService(CollectionManager manager, RolloutsSection settings, ILoggerFactory loggerFactory, TimeProvider? time = null)
    {
        this.manager = manager;
        this.settings = settings;
        this.time = time ?? TimeProvider.System;
        logger = loggerFactory.CreateLogger("Vectorizer.Rollouts");
    }

    private string FilePath => Path.Combine(manager.DataDirectory, FileName);

    // ---------------------------------------------------------------- lifecycle

    public Task StartAsync(CancellationToken cancellationToken)
    {
        Load();
        var interval = TimeSpan.FromMilliseconds(settings.EvaluationIntervalMs);
        timer = time.CreateTimer(_ => EvaluateSafely(), null, interval, interval);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        timer?.Dispose();
        timer = null;
        lock (gate)
        {
            if (loaded)
            {
                PauseClocks();
                Save();
            }
        }

        return Task.CompletedTask;
    }

    public void Dispose() => timer?.Dispose();

    /// <summary>Reads <c>rollouts.json</c> and resumes what was active (the clocks restart now: downtime does not count).</summary>
    public void Load()
    {
        lock (gate)
        {
            if (loaded)
            {
                return;
            }

            loaded = true;
            if (!File.Exists(FilePath))
            {
                return;
            }

            RolloutsFile file;
            try
            {
                file = JsonSerializer.Deserialize(File.ReadAllBytes(FilePath), RolloutsJson.Default.RolloutsFile)
                    ?? throw new JsonException("empty document");
            }
            catch (JsonException e)
            {
                throw new VectorizerException(ErrorCode.StorageFailure, $"{FilePath} is damaged ({e.Message}); move it away to start without rollouts");
            }

            if (file.FormatVersion != RolloutsFile.CurrentVersion)
            {
                throw new VectorizerException(ErrorCode.StorageFailure, $"{FilePath} has format_version {file.FormatVersion}; this version reads {RolloutsFile.CurrentVersion}");
            }

            var now = time.GetUtcNow();
            foreach (var record in file.Deployments)
            {
                var deployment = FromRecord(record);
                deployments.Add(deployment);
                if (deployment.IsActive)
                {
                    var target = AliasTarget(deployment.Alias);
                    if (target == deployment.NewCollection)
                    {
                        End(deployment, Deployment.Completed, "completed", "the alias was switched before the restart", now);
                    }
                    else if (target != deployment.OldCollection)
                    {
                        End(deployment, Deployment.Failed, "failed", $"alias `{deployment.Alias}` points to {Describe(target)} after the restart, not to `{deployment.OldCollection}`", now);
                    }
                    else if (deployment.State == Deployment.Running)
                    {
                        deployment.RunningSince = now;
                    }
                }
            }

            foreach (var record in file.Experiments)
            {
                experiments.Add(FromRecord(record));
            }

            PublishRoutes();
            Save();
        }
    }

    // ---------------------------------------------------------------- deployments

    public Deployment StartDeployment(DeploymentSpec spec)
    {
        ValidateStages(spec.Stages);
        ValidateRoutingKey(spec.RoutingKey);
        lock (gate)
        {
            var current = RequireAlias(spec.Alias);
            if (manager.TryGet(spec.NewCollection) is null)
            {
                throw VectorizerException.BadRequest($"new_collection `{spec.NewCollection}` does not exist{(manager.FailedFor(spec.NewCollection) is not null ? " (it failed to open)" : "")}");
            }

            if (spec.NewCollection == current)
            {
                throw VectorizerException.BadRequest($"alias `{spec.Alias}` already points to `{current}`");
            }

            if (AliasTarget(spec.NewCollection) is not null)
            {
                throw VectorizerException.BadRequest($"new_collection must name a collection, not the alias `{spec.NewCollection}`");
            }

            RefuseBusyAlias(spec.Alias);
            var now = time.GetUtcNow();
            var deployment = new Deployment
            {
                Id = NewId("d"),
                Alias = spec.Alias,
                OldCollection = current,
                NewCollection = spec.NewCollection,
                Stages = spec.Stages,
                AutoRollback = spec.AutoRollback,
                RoutingKey = spec.RoutingKey,
                CreatedAt = now,
                RunningSince = now,
            };
            deployment.History.Add(new Transition(now, "started", 1, deployment.CurrentPercentage, null));
            deployments.Add(deployment);
            PublishRoutes();
            Save();
            logger.LogInformation("Rollout {Id}: alias {Alias} from {Old} to {New}, stage 1 of {Stages} at {Percentage}%", deployment.Id, deployment.Alias, deployment.OldCollection, deployment.NewCollection, spec.Stages.Count, deployment.CurrentPercentage);
            return deployment;
        }
    }

    public IReadOnlyList<Deployment> ListDeployments()
    {
        lock (gate)
        {
            return [.. deployments];
        }
    }

    public Deployment GetDeployment(string id)
    {
        lock (gate)
        {
            return FindDeployment(id);
        }
    }

    public Deployment Pause(string id) => Control(id, (deployment, now) =>
    {
        RequireState(deployment, "pause", Deployment.Running);
        deployment.StageElapsedMs = deployment.TimeInStageMs(now);
        deployment.RunningSince = null;
        deployment.State = Deployment.Paused;
        deployment.History.Add(new Transition(now, "paused", deployment.Stage + 1, deployment.CurrentPercentage, null));
    });

    public Deployment Resume(string id) => Control(id, (deployment, now) =>
    {
        RequireState(deployment, "resume", Deployment.Paused);
        deployment.RunningSince = now;
        deployment.State = Deployment.Running;
        deployment.History.Add(new Transition(now, "resumed", deployment.Stage + 1, deployment.CurrentPercentage, null));
    });

    public Deployment Rollback(string id, string? reason = null) => Control(id, (deployment, now) =>
    {
        RequireState(deployment, "roll back", Deployment.Running, Deployment.Paused);
        End(deployment, Deployment.RolledBack, "rolled_back", reason ?? "rolled back by an operator", now);
    });

    public Deployment Promote(string id) => Control(id, (deployment, now) =>
    {
        RequireState(deployment, "promote", Deployment.Running, Deployment.Paused);
        SwitchAlias(deployment.Alias, deployment.NewCollection);
        End(deployment, Deployment.Completed, "promoted", "promoted by an operator", now);
    });

    // ---------------------------------------------------------------- experiments

    public Experiment StartExperiment(ExperimentSpec spec)
    {
        ValidateRoutingKey(spec.RoutingKey);
        var arms = new List<string> { spec.Control };
        arms.AddRange(spec.Variants);
        if (spec.Variants.Count == 0)
        {
            throw VectorizerException.Validation("variants: at least one variant is needed");
        }

        if (arms.Distinct(StringComparer.Ordinal).Count() != arms.Count)
        {
            throw VectorizerException.Validation("control and variants must be different collections");
        }

        if (spec.Splits.Count != arms.Count)
        {
            throw VectorizerException.Validation($"traffic_splits: {spec.Splits.Count} splits for {arms.Count} arms (control and {spec.Variants.Count} variants)");
        }

        foreach (var split in spec.Splits)
        {
            if (split <= 0 || split > 1 || Math.Abs((split * 100) - Math.Round(split * 100)) > 1e-9)
            {
                throw VectorizerException.Validation($"traffic_splits: {split.ToString(CultureInfo.InvariantCulture)} must be a whole percent in (0, 1] (the routing hash has 100 buckets)");
            }
        }

        if (Math.Abs(spec.Splits.Sum() - 1) > 1e-9)
        {
            throw VectorizerException.Validation($"traffic_splits must sum to 1, not {spec.Splits.Sum().ToString(CultureInfo.InvariantCulture)}");
        }

        if (spec.Metrics.Count == 0)
        {
            throw VectorizerException.Validation("metrics: name at least one (latency, results_count, or an event such as clicks)");
        }

        foreach (var metric in spec.Metrics)
        {
            if (!IsEventName(metric))
            {
                throw VectorizerException.Validation($"metrics: `{metric}` is not a metric name (letters, digits, _ and -, at most 64)");
            }
        }

        if (string.IsNullOrWhiteSpace(spec.Name) || spec.Name.Length > 128)
        {
            throw VectorizerException.Validation("name: 1 to 128 characters");
        }

        lock (gate)
        {
            var current = RequireAlias(spec.Alias);
            if (current != spec.Control)
            {
                throw VectorizerException.BadRequest($"alias `{spec.Alias}` points to `{current}`: the control must be the alias's collection");
            }

            foreach (var variant in spec.Variants)
            {
                if (manager.TryGet(variant) is null || AliasTarget(variant) is not null)
                {
                    throw VectorizerException.BadRequest($"variant `{variant}` is not a collection");
                }
            }

            RefuseBusyAlias(spec.Alias);
            var experiment = new Experiment
            {
                Id = NewId("e"),
                Name = spec.Name,
                Alias = spec.Alias,
                Arms = arms,
                Splits = spec.Splits,
                RoutingKey = spec.RoutingKey,
                Metrics = spec.Metrics,
                CreatedAt = time.GetUtcNow(),
                Stats = [.. arms.Select(_ => new SideStats())],
                Events = [.. arms.Select(_ => new Dictionary<string, EventCount>(StringComparer.Ordinal))],
            };
            experiments.Add(experiment);
            PublishRoutes();
            Save();
            return experiment;
        }
    }

    public IReadOnlyList<Experiment> ListExperiments()
    {
        lock (gate)
        {
            return [.. experiments];
        }
    }

    public Experiment GetExperiment(string id)
    {
        lock (gate)
        {
            return FindExperiment(id);
        }
    }

    /// <summary>Attributes an outcome to the arm <paramref name="routingKey"/> is routed to; returns that arm's index.</summary>
    public int RecordEvent(string id, string routingKey, string name, double? value)
    {
        if (!IsEventName(name))
        {
            throw VectorizerException.Validation($"event: `{name}` is not an event name (letters, digits, _ and -, at most 64)");
        }

        lock (gate)
        {
            var experiment = FindExperiment(id);
            if (!experiment.Tracks(name))
            {
                throw VectorizerException.BadRequest($"experiment `{id}` does not track `{name}`: its metrics are {string.Join(", ", experiment.Metrics)}");
            }

            var arm = ArmOf(experiment, RoutingHash.Bucket(routingKey));
            var events = experiment.Events[arm];
            var before = events.GetValueOrDefault(name, new EventCount(0, 0));
            events[name] = new EventCount(before.Count + 1, before.Sum + (value ?? 0));
            return arm;
        }
    }

    public Experiment Stop(string id) => ControlExperiment(id, (experiment, now) =>
    {
        experiment.State = Experiment.Stopped;
        experiment.EndedAt = now;
    });

    public Experiment PromoteArm(string id, string arm) => ControlExperiment(id, (experiment, now) =>
    {
        if (!experiment.Arms.Contains(arm))
        {
            throw VectorizerException.BadRequest($"`{arm}` is not an arm of experiment `{id}`: {string.Join(", ", experiment.Arms)}");
        }

        SwitchAlias(experiment.Alias, arm);
        experiment.State = Experiment.Promoted;
        experiment.PromotedArm = arm;
        experiment.EndedAt = now;
    });

    // ---------------------------------------------------------------- routing (every read)

    public Collection Route(CallContext call, string nameOrAlias, Collection current, AccessLevel level)
    {
        var table = Volatile.Read(ref routes);
        if (table.Count == 0 || level != AccessLevel.Read || !table.TryGetValue(nameOrAlias, out var route) || !ReferenceEquals(current.Name, route.Current) && current.Name != route.Current)
        {
            return current;
        }

        var key = route.HeaderName is null ? call.RequestId : call.Header(route.HeaderName);
        if (string.IsNullOrEmpty(key))
        {
            // No key: the current collection answers, outside the metrics (it says nothing about either side).
            Interlocked.Increment(ref route.Unkeyed);
            call.Route = new Ticket(null, null, current.Name);
            return current;
        }

        var arm = route.ArmOfBucket[RoutingHash.Bucket(key)];
        var target = arm == 0 ? current : manager.TryGet(route.Arms[arm]);
        if (target is null || !call.Access.Allows(AccessLevel.Read, target.Name))
        {
            // The other side is gone (the next evaluation ends the rollout), or this caller may not read it.
            arm = 0;
            target = current;
        }

        call.Route = new Ticket(route.Stats[arm], route.Totals?[arm], target.Name);
        return target;
    }

    public async ValueTask MirrorWriteAsync(string nameOrAlias, Collection written, Func<Collection, ValueTask> write)
    {
        var table = Volatile.Read(ref routes);
        if (table.Count == 0 || !settings.MirrorWrites || !table.TryGetValue(nameOrAlias, out var route) || written.Name != route.Current)
        {
            return;
        }

        for (var arm = 1; arm < route.Arms.Length; arm++)
        {
            if (manager.TryGet(route.Arms[arm]) is not { } mirror)
            {
                continue;
            }

            try
            {
                await write(mirror).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                route.Stats[arm].Record(0, failed: true);
                route.Totals?[arm].Record(0, failed: true);
                route.OnMirrorFailure?.Invoke();
                logger.LogWarning("Write through alias {Alias} was not mirrored to {Collection}: {Error}", nameOrAlias, mirror.Name, e.Message);
            }
        }
    }

    // ---------------------------------------------------------------- evaluation

    /// <summary>One evaluation of every active rollout (the timer calls this; tests may too).</summary>
    public void Evaluate()
    {
        lock (gate)
        {
            var now = time.GetUtcNow();
            var changed = false;
            foreach (var deployment in deployments.Where(d => d.IsActive).ToList())
            {
                changed |= Evaluate(deployment, now);
            }

            foreach (var experiment in experiments.Where(e => e.IsActive).ToList())
            {
                var target = AliasTarget(experiment.Alias);
                var missing = experiment.Arms.FirstOrDefault(arm => manager.TryGet(arm) is null);
                if (target != experiment.Arms[0] || missing is not null)
                {
                    experiment.State = Experiment.Stopped;
                    experiment.EndedAt = now;
                    logger.LogWarning("Experiment {Id} stopped: {Reason}", experiment.Id, missing is not null ? $"arm `{missing}` no longer exists" : $"alias `{experiment.Alias}` was changed");
                    changed = true;
                }
            }

            if (changed)
            {
                PublishRoutes();
            }

            if (changed || deployments.Any(d => d.IsActive) || experiments.Any(e => e.IsActive))
            {
                Save();
            }
        }
    }

    private void EvaluateSafely()
    {
        try
        {
            Evaluate();
        }
        catch (Exception e)
        {
            logger.LogError(e, "Evaluating rollouts failed");
        }
    }

    /// <summary>True when the deployment changed stage or state.</summary>
    private bool Evaluate(Deployment deployment, DateTimeOffset now)
    {
        var target = AliasTarget(deployment.Alias);
        if (target != deployment.OldCollection)
        {
            End(deployment, Deployment.Failed, "failed", $"alias `{deployment.Alias}` was changed to {Describe(target)} outside the rollout", now);
            return true;
        }

        if (manager.TryGet(deployment.NewCollection) is null)
        {
            End(deployment, Deployment.Failed, "failed", $"new collection `{deployment.NewCollection}` was deleted or failed", now);
            return true;
        }

        var stage = deployment.CurrentStage;
        var position = $"stage {deployment.Stage + 1} of {deployment.Stages.Count} ({stage.Percentage}%)";
        var side = deployment.StageStats[1];
        var requests = side.Requests;
        string? breach = null;
        if (requests >= Math.Max(1, stage.MinRequests))
        {
            if (side.ErrorRate > stage.ErrorThreshold)
            {
                breach = $"error rate {Percent(side.ErrorRate)} of `{deployment.NewCollection}` ({side.Errors} of {requests} requests) in {position} is above the threshold {Percent(stage.ErrorThreshold)}";
            }
            else if (stage.MaxP99Ms is { } max && side.Latency.Percentile(0.99) is { } p99 && p99 > max)
            {
                breach = $"p99 latency {p99.ToString("0.###", CultureInfo.InvariantCulture)} ms of `{deployment.NewCollection}` over {requests} requests in {position} is above max_p99_ms {max.ToString(CultureInfo.InvariantCulture)}";
            }
        }

        if (breach is not null)
        {
            if (deployment.AutoRollback)
            {
                End(deployment, Deployment.Failed, "failed", breach, now);
                return true;
            }

            deployment.Check = "failing";
            deployment.CheckMessage = breach + "; auto_rollback is off: the stage holds until an operator acts";
            return false;
        }

        var left = (stage.DurationMinutes * 60_000) - deployment.TimeInStageMs(now);
        if (requests < stage.MinRequests)
        {
            deployment.Check = "waiting";
            deployment.CheckMessage = $"{position}: {requests} of the {stage.MinRequests} requests needed on `{deployment.NewCollection}`";
            return false;
        }

        if (left > 0 || deployment.State != Deployment.Running)
        {
            deployment.Check = "passing";
            deployment.CheckMessage = deployment.State == Deployment.Paused
                ? $"{position}: checks hold; paused"
                : $"{position}: checks hold; {(left / 1000).ToString("0.#", CultureInfo.InvariantCulture)} s left in the stage";
            return false;
        }

        if (deployment.Stage + 1 < deployment.Stages.Count)
        {
            deployment.Stage++;
            deployment.StageElapsedMs = 0;
            deployment.RunningSince = now;
            deployment.StageStats = [new(), new()];
            deployment.Check = "waiting";
            deployment.CheckMessage = "not evaluated yet";
            deployment.History.Add(new Transition(now, "advanced", deployment.Stage + 1, deployment.CurrentPercentage, null));
            logger.LogInformation("Rollout {Id}: stage {Stage} of {Stages}, {Percentage}% to {New}", deployment.Id, deployment.Stage + 1, deployment.Stages.Count, deployment.CurrentPercentage, deployment.NewCollection);
            return true;
        }

        SwitchAlias(deployment.Alias, deployment.NewCollection);
        End(deployment, Deployment.Completed, "completed", $"alias `{deployment.Alias}` now points to `{deployment.NewCollection}`", now);
        return true;
    }

    // ---------------------------------------------------------------- helpers

    private Deployment Control(string id, Action<Deployment, DateTimeOffset> change)
    {
        lock (gate)
        {
            var deployment = FindDeployment(id);
            change(deployment, time.GetUtcNow());
            PublishRoutes();
            Save();
            return deployment;
        }
    }

    private Experiment ControlExperiment(string id, Action<Experiment, DateTimeOffset> change)
    {
        lock (gate)
        {
            var experiment = FindExperiment(id);
            if (!experiment.IsActive)
            {
                throw VectorizerException.BadRequest($"experiment `{id}` is {experiment.State}");
            }

            change(experiment, time.GetUtcNow());
            PublishRoutes();
            Save();
            return experiment;
        }
    }

    private void End(Deployment deployment, string state, string transition, string reason, DateTimeOffset now)
    {
        deployment.StageElapsedMs = deployment.TimeInStageMs(now);
        deployment.RunningSince = null;
        deployment.State = state;
        deployment.Reason = reason;
        deployment.Check = state == Deployment.Failed ? "failing" : "passing";
        deployment.CheckMessage = reason;
        deployment.History.Add(new Transition(now, transition, deployment.Stage + 1, deployment.CurrentPercentage, reason));
        PublishRoutes();
        if (state == Deployment.Failed)
        {
            logger.LogWarning("Rollout {Id} failed and was rolled back: {Reason}", deployment.Id, reason);
        }
        else
        {
            logger.LogInformation("Rollout {Id} {Transition}: {Reason}", deployment.Id, transition, reason);
        }
    }

    private void PauseClocks()
    {
        var now = time.GetUtcNow();
        foreach (var deployment in deployments.Where(d => d.RunningSince is not null))
        {
            deployment.StageElapsedMs = deployment.TimeInStageMs(now);
            deployment.RunningSince = now;
        }
    }

    private static void RequireState(Deployment deployment, string action, params string[] states)
    {
        if (!states.Contains(deployment.State))
        {
            throw VectorizerException.BadRequest($"cannot {action} deployment `{deployment.Id}`: it is {deployment.State}");
        }
    }

    private Deployment FindDeployment(string id) =>
        deployments.FirstOrDefault(d => d.Id == id) ?? throw new VectorizerException(ErrorCode.AliasNotFound, $"Deployment `{id}` does not exist");

    private Experiment FindExperiment(string id) =>
        experiments.FirstOrDefault(e => e.Id == id) ?? throw new VectorizerException(ErrorCode.AliasNotFound, $"Experiment `{id}` does not exist");

    /// <summary>The collection <paramref name="alias"/> points to; null when it is no alias.</summary>
    private string? AliasTarget(string alias)
    {
        foreach (var description in manager.ListAliases())
        {
            if (description.AliasName == alias)
            {
                return description.CollectionName;
            }
        }

        return null;
    }

    private string RequireAlias(string alias)
    {
        if (AliasTarget(alias) is { } target)
        {
            if (manager.TryGet(target) is null)
            {
                throw VectorizerException.BadRequest($"alias `{alias}` points to `{target}`, which is not available");
            }

            return target;
        }

        throw manager.TryGet(alias) is not null
            ? VectorizerException.BadRequest($"`{alias}` is a collection, not an alias: rollouts and experiments run behind an alias (PUT /collections/aliases)")
            : new VectorizerException(ErrorCode.AliasNotFound, $"Alias {alias} does not exists!");
    }

    private void RefuseBusyAlias(string alias)
    {
        if (deployments.FirstOrDefault(d => d.IsActive && d.Alias == alias) is { } deployment)
        {
            throw VectorizerException.BadRequest($"alias `{alias}` already has an active deployment `{deployment.Id}`");
        }

        if (experiments.FirstOrDefault(e => e.IsActive && e.Alias == alias) is { } experiment)
        {
            throw VectorizerException.BadRequest($"alias `{alias}` already has an active experiment `{experiment.Id}`");
        }
    }

    private void SwitchAlias(string alias, string collection) => manager.UpdateAliases([new CreateAlias(collection, alias)]);

    private static void ValidateStages(IReadOnlyList<StageSpec> stages)
    {
        if (stages.Count == 0)
        {
            throw VectorizerException.Validation("stages: at least one stage is needed");
        }

        for (var i = 0; i < stages.Count; i++)
        {
            var stage = stages[i];
            if (stage.Percentage is < 1 or > 100)
            {
                throw VectorizerException.Validation($"stages[{i}].percentage: {stage.Percentage} is outside 1-100");
            }

            if (i > 0 && stage.Percentage <= stages[i - 1].Percentage)
            {
                throw VectorizerException.Validation($"stages[{i}].percentage: {stage.Percentage} must be above the previous stage's {stages[i - 1].Percentage}");
            }

            if (stage.DurationMinutes is < 0 or > 525_600)
            {
                throw VectorizerException.Validation($"stages[{i}].duration_minutes: must be 0 to 525600");
            }

            if (stage.ErrorThreshold is < 0 or > 1)
            {
                throw VectorizerException.Validation($"stages[{i}].error_threshold: {stage.ErrorThreshold.ToString(CultureInfo.InvariantCulture)} is outside 0-1 (a fraction of requests)");
            }

            if (stage.MaxP99Ms is <= 0)
            {
                throw VectorizerException.Validation($"stages[{i}].max_p99_ms: must be above 0");
            }

            if (stage.MinRequests < 0)
            {
                throw VectorizerException.Validation($"stages[{i}].min_requests: must be 0 or more");
            }
        }

        if (stages[^1].Percentage != 100)
        {
            throw VectorizerException.Validation($"stages[{stages.Count - 1}].percentage: the last stage must be 100 (it ends by switching the alias)");
        }
    }

    private static void ValidateRoutingKey(string key)
    {
        if (key == "request" || (key.StartsWith("header:", StringComparison.Ordinal) && key.Length > 7 && key[7..].All(c => c is > ' ' and < '\x7f' and not ':')))
        {
            return;
        }

        throw VectorizerException.Validation($"routing_key: `{key}` is not `header:NAME` or `request`");
    }

    private static bool IsEventName(string name) =>
        name.Length is > 0 and <= 64 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-');

    private static string NewId(string prefix) => prefix + "-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));

    private static string Percent(double rate) => (rate * 100).ToString("0.##", CultureInfo.InvariantCulture) + "%";

    private static string Describe(string? collection) => collection is null ? "nothing (deleted)" : $"`{collection}`";

    public static int ArmOf(Experiment experiment, int bucket) => ArmTable(experiment.Splits)[bucket];

    private static byte[] ArmTable(IReadOnlyList<double> splits)
    {
        var table = new byte[RoutingHash.Buckets];
        var upper = 0.0;
        var bucket = 0;
        for (var arm = 0; arm < splits.Count; arm++)
        {
            upper += splits[arm] * RoutingHash.Buckets;
            var end = arm == splits.Count - 1 ? RoutingHash.Buckets : (int)Math.Round(upper);
            for (; bucket < end; bucket++)
            {
                table[bucket] = (byte)arm;
            }
        }

        return table;
    }

    /// <summary>Rebuilds the routing table from the active rollouts (under the lock); readers pick it up at once.</summary>
    private void PublishRoutes()
    {
        var next = new Dictionary<string, RouteTable>(StringComparer.Ordinal);
        foreach (var deployment in deployments.Where(d => d.IsActive))
        {
            var table = new byte[RoutingHash.Buckets];
            for (var bucket = 0; bucket < table.Length; bucket++)
            {
                table[bucket] = (byte)(bucket < deployment.CurrentPercentage ? 1 : 0);
            }

            var current = deployment;
            next[deployment.Alias] = new RouteTable(deployment.OldCollection, [deployment.OldCollection, deployment.NewCollection], table, deployment.StageStats, deployment.TotalStats, HeaderOf(deployment.RoutingKey))
            {
                OnMirrorFailure = () =>
                {
                    lock (gate)
                    {
                        current.MirrorFailures++;
                    }
                },
            };
        }

        foreach (var experiment in experiments.Where(e => e.IsActive))
        {
            next[experiment.Alias] = new RouteTable(experiment.Arms[0], [.. experiment.Arms], ArmTable(experiment.Splits), experiment.Stats, null, HeaderOf(experiment.RoutingKey));
        }

        Volatile.Write(ref routes, next.Count == 0 ? NoRoutes : next);
    }

    /// <summary>Whether any alias is routed now (the REST middleware does nothing otherwise).</summary>
    public bool HasRoutes => Volatile.Read(ref routes).Count > 0;

    /// <summary>Keys a call had no routing key for, per alias (since start).</summary>
    public long Unkeyed(string alias) => Volatile.Read(ref routes).TryGetValue(alias, out var route) ? Interlocked.Read(ref route.Unkeyed) : 0;

    private static string? HeaderOf(string routingKey) => routingKey.StartsWith("header:", StringComparison.Ordinal) ? routingKey[7..] : null;

    private void Save()
    {
        var file = new RolloutsFile(
            RolloutsFile.CurrentVersion,
            [.. deployments.Select(ToRecord)],
            [.. experiments.Select(ToRecord)]);
        FileUtil.WriteAtomic(FilePath, JsonSerializer.SerializeToUtf8Bytes(file, RolloutsJson.Default.RolloutsFile));
    }

    private static DeploymentRecord ToRecord(Deployment d) => new(
        d.Id, d.Alias, d.OldCollection, d.NewCollection, [.. d.Stages], d.AutoRollback, d.RoutingKey, d.CreatedAt, d.State, d.Reason, d.Stage,
        d.StageElapsedMs, [.. d.StageStats.Select(s => s.Save())], [.. d.TotalStats.Select(s => s.Save())], d.MirrorFailures, [.. d.History]);

    private static Deployment FromRecord(DeploymentRecord r)
    {
        var deployment = new Deployment
        {
            Id = r.Id,
            Alias = r.Alias,
            OldCollection = r.OldCollection,
            NewCollection = r.NewCollection,
            Stages = r.Stages,
            AutoRollback = r.AutoRollback,
            RoutingKey = r.RoutingKey,
            CreatedAt = r.CreatedAt,
            State = r.State,
            Reason = r.Reason,
            Stage = Math.Clamp(r.Stage, 0, Math.Max(0, r.Stages.Count - 1)),
            StageElapsedMs = r.StageElapsedMs,
            StageStats = [SideStats.Load(r.StageStats.ElementAtOrDefault(0)), SideStats.Load(r.StageStats.ElementAtOrDefault(1))],
            TotalStats = [SideStats.Load(r.TotalStats.ElementAtOrDefault(0)), SideStats.Load(r.TotalStats.ElementAtOrDefault(1))],
            MirrorFailures = r.MirrorFailures,
        };
        deployment.History.AddRange(r.History);
        return deployment;
    }

    private static ExperimentRecord ToRecord(Experiment e) => new(
        e.Id, e.Name, e.Alias, [.. e.Arms], [.. e.Splits], e.RoutingKey, [.. e.Metrics], e.CreatedAt, e.State, e.PromotedArm, e.EndedAt,
        [.. e.Stats.Select(s => s.Save())], [.. e.Events.Select(events => new Dictionary<string, EventCount>(events, StringComparer.Ordinal))]);

    private static Experiment FromRecord(ExperimentRecord r) => new()
    {
        Id = r.Id,
        Name = r.Name,
        Alias = r.Alias,
        Arms = r.Arms,
        Splits = r.Splits,
        RoutingKey = r.RoutingKey,
        Metrics = r.Metrics,
        CreatedAt = r.CreatedAt,
        State = r.State,
        PromotedArm = r.PromotedArm,
        EndedAt = r.EndedAt,
        Stats = [.. r.Arms.Select((_, i) => SideStats.Load(r.Stats.ElementAtOrDefault(i)))],
        Events = [.. r.Arms.Select((_, i) => new Dictionary<string, EventCount>(r.Events.ElementAtOrDefault(i) ?? [], StringComparer.Ordinal))],
    };

    /// <summary>How reads through one alias are split: bucket → arm, and where each arm's outcomes are counted.</summary>
    private sealed class RouteTable(string current, string[] arms, byte[] armOfBucket, SideStats[] stats, SideStats[]? totals, string? headerName)
    {
        public long Unkeyed;

        public string Current { get; } = current;

        public string[] Arms { get; } = arms;

        public byte[] ArmOfBucket { get; } = armOfBucket;

        public SideStats[] Stats { get; } = stats;

        public SideStats[]? Totals { get; } = totals;

        public string? HeaderName { get; } = headerName;

        public Action? OnMirrorFailure { get; init; }
    }

    private sealed class Ticket(SideStats? stats, SideStats? total, string collection) : RouteTicket
    {
        private readonly long start = Stopwatch.GetTimestamp();
        private int completed;

        public override string Collection => collection;

        public override void Results(int count) => stats?.RecordResults(count);

        public override void Complete(bool failed)
        {
            if (stats is null || Interlocked.Exchange(ref completed, 1) != 0)
            {
                return;
            }

            var milliseconds = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            stats.Record(milliseconds, failed);
            total?.Record(milliseconds, failed);
        }
    }
}
