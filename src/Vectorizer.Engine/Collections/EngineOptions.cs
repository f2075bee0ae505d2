namespace Vectorizer.Engine.Collections;

/// <summary>Settings the engine takes from the host (bound from config.yml, environment and flags).</summary>
public sealed class EngineOptions
{
    /// <summary>Where collections, WALs and checkpoints live.</summary>
    public string DataDir { get; set; } = "./data";

    public AutoSaveOptions AutoSave { get; set; } = new();

    /// <summary>Defaults for collections created without an explicit <c>hnsw_config</c>.</summary>
    public HnswDefaults HnswDefaults { get; set; } = new();

    /// <summary>Largest accepted vector dimension.</summary>
    public int MaxVectorSize { get; set; } = 65536;

    /// <summary>Threads used to build HNSW graphs (0 = all cores but one).</summary>
    public int IndexingThreads { get; set; }

    /// <summary>How often background maintenance (auto-save, vacuum) checks the collections.</summary>
    public TimeSpan MaintenanceInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Tests only (not configuration): WAL segment size in bytes instead of the collection's <c>wal_capacity_mb</c>, so
    /// that power-cut tests rotate segments often (the log enforces 64 KiB at least).
    /// </summary>
    internal long? WalSegmentBytes { get; init; }
}

/// <summary>Checkpointing: how much WAL a restart may have to replay.</summary>
public sealed class AutoSaveOptions
{
    public bool Enabled { get; set; } = true;

    /// <summary>Checkpoint a changed collection at least this often.</summary>
    public int IntervalSeconds { get; set; } = 300;

    /// <summary>Checkpoint sooner once this many operations accumulated since the last checkpoint.</summary>
    public int MinOperations { get; set; } = 1000;
}

/// <summary>
/// The one definition of the HNSW defaults: the values a collection gets when neither its creation request nor the
/// server's config (<c>collections.defaults.hnsw_config.{m, ef_construction, ef_search}</c>) says otherwise.
/// </summary>
public sealed class HnswDefaults
{
    public const int DefaultM = 16;

    public const int DefaultEfConstruction = 100;

    public const int DefaultEfSearch = 256;

    /// <summary>Qdrant's default <c>full_scan_threshold</c>, in kilobytes of vectors.</summary>
    public const int DefaultFullScanThreshold = 10000;

    public int M { get; set; } = DefaultM;

    public int EfConstruction { get; set; } = DefaultEfConstruction;

    /// <summary>Search beam width when a query has no <c>hnsw_ef</c>; the effective value is max(this, limit).</summary>
    public int EfSearch { get; set; } = DefaultEfSearch;

    /// <summary>The HNSW parameters of a new collection whose request gives no <c>hnsw_config</c>.</summary>
    public HnswConfig ToConfig() => new() { M = M, EfConstruct = EfConstruction };
}
