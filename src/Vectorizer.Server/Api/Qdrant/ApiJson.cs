using System.Text.Json.Serialization;

namespace Vectorizer.Server.Api.Qdrant;

public sealed record VersionInfo(
    [property: JsonPropertyName("title")] string Title,
    [property: JsonPropertyName("version")] string Version,
    [property: JsonPropertyName("commit")] string? Commit,
    [property: JsonPropertyName("vectorizer_version")] string VectorizerVersion);

public sealed record HealthInfo(
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("version")] string Version,
    [property: JsonPropertyName("uptime_seconds")] double UptimeSeconds,
    [property: JsonPropertyName("timestamp")] DateTimeOffset Timestamp);

public sealed record CollectionStatusInfo(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("points_count")] long PointsCount,
    [property: JsonPropertyName("indexed_vectors_count")] long IndexedVectorsCount,
    [property: JsonPropertyName("memory_bytes")] long MemoryBytes,
    [property: JsonPropertyName("wal_lsn")] long WalLsn,
    [property: JsonPropertyName("checkpoint_lsn")] long CheckpointLsn);

public sealed record ServerStatus(
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("version")] string Version,
    [property: JsonPropertyName("uptime_seconds")] double UptimeSeconds,
    [property: JsonPropertyName("data_dir")] string DataDir,
    [property: JsonPropertyName("collections_count")] int CollectionsCount,
    [property: JsonPropertyName("total_points")] long TotalPoints,
    [property: JsonPropertyName("memory")] MemoryInfo Memory,
    [property: JsonPropertyName("collections")] IReadOnlyList<CollectionStatusInfo> Collections,
    [property: JsonPropertyName("failed_collections")] IReadOnlyList<FailedCollectionInfo> FailedCollections,
    [property: JsonPropertyName("query_cache"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] QueryCacheInfo? QueryCache = null,
    [property: JsonPropertyName("embedding"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] EmbeddingSpendInfo? Embedding = null,
    [property: JsonPropertyName("backups")] Backups.BackupScheduleStatus? Backups = null);


/// <summary>The query cache's counters since the start (also the meter <c>Vectorizer.QueryCache</c>).</summary>
public sealed record QueryCacheInfo(
    [property: JsonPropertyName("enabled")] bool Enabled,
    [property: JsonPropertyName("hits")] long Hits,
    [property: JsonPropertyName("misses")] long Misses,
    [property: JsonPropertyName("hit_rate")] double HitRate,
    [property: JsonPropertyName("bypassed")] long Bypassed,
    [property: JsonPropertyName("second_level")] string SecondLevel,
    [property: JsonPropertyName("second_level_state"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? SecondLevelState = null);

/// <summary>Embedding spent today (UTC) against <c>embedding.max_cost</c> (0: no limit).</summary>
public sealed record EmbeddingSpendInfo(
    [property: JsonPropertyName("day")] string Day,
    [property: JsonPropertyName("tokens")] long Tokens,
    [property: JsonPropertyName("cost")] double Cost,
    [property: JsonPropertyName("requests")] long Requests,
    [property: JsonPropertyName("max_cost_per_day")] double MaxCostPerDay);

/// <summary>A collection whose folder exists but that could not be opened (not served; its files are kept).</summary>
public sealed record FailedCollectionInfo(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("path")] string Path,
    [property: JsonPropertyName("reason")] string Reason,
    [property: JsonPropertyName("since")] DateTimeOffset Since);

public sealed record MemoryInfo(
    [property: JsonPropertyName("process_working_set_bytes")] long WorkingSet,
    [property: JsonPropertyName("gc_heap_bytes")] long GcHeap,
    [property: JsonPropertyName("vector_index_bytes")] long VectorIndexBytes);

public sealed record WatcherStatus(
    [property: JsonPropertyName("enabled")] bool Enabled,
    [property: JsonPropertyName("running")] bool Running,
    [property: JsonPropertyName("scanning")] bool Scanning,
    [property: JsonPropertyName("paths")] IReadOnlyList<string> Paths,
    [property: JsonPropertyName("queue_depth")] int QueueDepth,
    [property: JsonPropertyName("files_indexed")] long FilesIndexed,
    [property: JsonPropertyName("files_unchanged")] long FilesUnchanged,
    [property: JsonPropertyName("files_skipped")] long FilesSkipped,
    [property: JsonPropertyName("files_removed")] long FilesRemoved,
    [property: JsonPropertyName("files_failed")] long FilesFailed,
    [property: JsonPropertyName("chunks_indexed")] long ChunksIndexed,
    [property: JsonPropertyName("rescans")] long Rescans,
    [property: JsonPropertyName("overflows")] long Overflows,
    [property: JsonPropertyName("reloads")] long Reloads,
    [property: JsonPropertyName("last_event")] WatcherEvent? LastEvent,
    [property: JsonPropertyName("skipped")] IReadOnlyList<WatcherProblem> Skipped,
    [property: JsonPropertyName("errors")] IReadOnlyList<WatcherProblem> Errors);

public sealed record WatcherEvent(
    [property: JsonPropertyName("path")] string Path,
    [property: JsonPropertyName("kind")] string Kind,
    [property: JsonPropertyName("time")] DateTimeOffset Time);

public sealed record WatcherProblem(
    [property: JsonPropertyName("path")] string Path,
    [property: JsonPropertyName("reason")] string Reason,
    [property: JsonPropertyName("time")] DateTimeOffset Time);

[JsonSerializable(typeof(WatcherStatus))]
[JsonSerializable(typeof(VersionInfo))]
[JsonSerializable(typeof(HealthInfo))]
[JsonSerializable(typeof(ServerStatus))]
internal sealed partial class ApiJson : JsonSerializerContext;
