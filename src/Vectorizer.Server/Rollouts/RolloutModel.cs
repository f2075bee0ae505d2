using System.Text.Json.Serialization;

namespace Vectorizer.Server.Rollouts;

/// <summary>One stage of a canary: a share of keys for the new collection, held for a time, with health checks.</summary>
/// <param name="Percentage">Share of routing buckets (whole percent, 1-100) sent to the new collection.</param>
/// <param name="DurationMinutes">How long the stage runs before it may advance.</param>
/// <param name="ErrorThreshold">Highest error rate (0-1) of the new side before the stage counts as failing.</param>
/// <param name="MaxP99Ms">Highest p99 latency of the new side, when set.</param>
/// <param name="MinRequests">Requests the new side must have served in the stage before it is judged (advance or breach).</param>
public sealed record StageSpec(int Percentage, double DurationMinutes, double ErrorThreshold, double? MaxP99Ms, long MinRequests);

public sealed record DeploymentSpec(string Alias, string NewCollection, IReadOnlyList<StageSpec> Stages, bool AutoRollback, string RoutingKey);

public sealed record ExperimentSpec(
    string Name, string Alias, string Control, IReadOnlyList<string> Variants, IReadOnlyList<double> Splits, string RoutingKey, IReadOnlyList<string> Metrics);

/// <summary>A line of a deployment's history: started, advanced, paused, resumed, rolled_back, failed, promoted, completed.</summary>
public sealed record Transition(DateTimeOffset At, string Event, int Stage, int Percentage, string? Reason);

public sealed record EventCount(long Count, double Sum);

/// <summary>A canary rollout (mutable; guarded by the <see cref="RolloutService"/>'s lock).</summary>
public sealed class Deployment
{
    public const string Running = "running";
    public const string Paused = "paused";
    public const string Completed = "completed";
    public const string RolledBack = "rolled_back";
    public const string Failed = "failed";

    public required string Id { get; init; }

    public required string Alias { get; init; }

    public required string OldCollection { get; init; }

    public required string NewCollection { get; init; }

    public required IReadOnlyList<StageSpec> Stages { get; init; }

    public required bool AutoRollback { get; init; }

    public required string RoutingKey { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    public string State { get; set; } = Running;

    public string? Reason { get; set; }

    /// <summary>0-based index into <see cref="Stages"/>.</summary>
    public int Stage { get; set; }

    /// <summary>Time the current stage has run, up to <see cref="RunningSince"/>.</summary>
    public double StageElapsedMs { get; set; }

    /// <summary>When the stage last started running (null while paused or ended); not persisted: downtime does not count.</summary>
    public DateTimeOffset? RunningSince { get; set; }

    /// <summary>[old, new] in the current stage.</summary>
    public SideStats[] StageStats { get; set; } = [new(), new()];

    /// <summary>[old, new] over the whole rollout.</summary>
    public SideStats[] TotalStats { get; set; } = [new(), new()];

    /// <summary>Mirrored writes that failed on the new collection (they count as its errors too).</summary>
    public long MirrorFailures { get; set; }

    public List<Transition> History { get; } = [];

    /// <summary>passing, waiting or failing, with why: what the last evaluation found.</summary>
    public string Check { get; set; } = "waiting";

    public string CheckMessage { get; set; } = "not evaluated yet";

    public bool IsActive => State is Running or Paused;

    public StageSpec CurrentStage => Stages[Math.Min(Stage, Stages.Count - 1)];

    /// <summary>The share of buckets routed to the new collection now: the stage's while active, else none.</summary>
    public int CurrentPercentage => State switch
    {
        Running or Paused => CurrentStage.Percentage,
        Completed => 100,
        _ => 0,
    };

    public double TimeInStageMs(DateTimeOffset now) => StageElapsedMs + (RunningSince is { } since ? Math.Max(0, (now - since).TotalMilliseconds) : 0);
}

/// <summary>An A/B test (mutable; guarded by the <see cref="RolloutService"/>'s lock, except the counters).</summary>
public sealed class Experiment
{
    public const string Running = "running";
    public const string Stopped = "stopped";
    public const string Promoted = "promoted";

    public required string Id { get; init; }

    public required string Name { get; init; }

    public required string Alias { get; init; }

    /// <summary>Control first, then the variants.</summary>
    public required IReadOnlyList<string> Arms { get; init; }

    public required IReadOnlyList<double> Splits { get; init; }

    public required string RoutingKey { get; init; }

    public required IReadOnlyList<string> Metrics { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    public string State { get; set; } = Running;

    public string? PromotedArm { get; set; }

    public DateTimeOffset? EndedAt { get; set; }

    public SideStats[] Stats { get; set; } = [];

    /// <summary>Per arm: event name → count and sum of values.</summary>
    public Dictionary<string, EventCount>[] Events { get; set; } = [];

    public bool IsActive => State == Running;

    /// <summary>Whether events called <paramref name="name"/> are tracked: a metric names them (singular or plural).</summary>
    public bool Tracks(string name) => Metrics.Any(m => m == name || m == name + "s");
}

/// <summary>The data directory's <c>rollouts.json</c>.</summary>
public sealed record RolloutsFile(int FormatVersion, List<DeploymentRecord> Deployments, List<ExperimentRecord> Experiments)
{
    public const int CurrentVersion = 1;
}

public sealed record DeploymentRecord(
    string Id,
    string Alias,
    string OldCollection,
    string NewCollection,
    List<StageSpec> Stages,
    bool AutoRollback,
    string RoutingKey,
    DateTimeOffset CreatedAt,
    string State,
    string? Reason,
    int Stage,
    double StageElapsedMs,
    SideStatsState[] StageStats,
    SideStatsState[] TotalStats,
    long MirrorFailures,
    List<Transition> History);

public sealed record ExperimentRecord(
    string Id,
    string Name,
    string Alias,
    List<string> Arms,
    List<double> Splits,
    string RoutingKey,
    List<string> Metrics,
    DateTimeOffset CreatedAt,
    string State,
    string? PromotedArm,
    DateTimeOffset? EndedAt,
    SideStatsState[] Stats,
    List<Dictionary<string, EventCount>> Events);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true)]
[JsonSerializable(typeof(RolloutsFile))]
internal sealed partial class RolloutsJson : JsonSerializerContext;
