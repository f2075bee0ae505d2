using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Payload;
using Vectorizer.Engine.Vectors;
using Vectorizer.Engine.Vectors.Quantization;

namespace Vectorizer.Engine.Collections;

/// <summary>
/// HNSW index parameters of a collection (or the effective ones of one vector). The defaults are
/// <see cref="HnswDefaults"/>'s; a collection created without <c>hnsw_config</c> takes the engine's configured
/// defaults (<see cref="HnswDefaults.ToConfig"/>).
/// </summary>
public sealed record HnswConfig
{
    public int M { get; init; } = HnswDefaults.DefaultM;

    public int EfConstruct { get; init; } = HnswDefaults.DefaultEfConstruction;

    /// <summary>Below this many kilobytes of (filtered) vectors, search is exact instead of HNSW.</summary>
    public int FullScanThreshold { get; init; } = HnswDefaults.DefaultFullScanThreshold;

    /// <summary>Threads that build this graph (0: the engine's <see cref="EngineOptions.IndexingThreads"/>).</summary>
    public int MaxIndexingThreads { get; init; }

    /// <summary>Accepted and reported; graphs are always in RAM.</summary>
    public bool OnDisk { get; init; }

    /// <summary>Accepted and reported; there is no payload-aware graph.</summary>
    public int? PayloadM { get; init; }

    /// <summary>Accepted and reported; vectors are not stored inside the graph.</summary>
    public bool? InlineStorage { get; init; }

    /// <summary>Our extension: the search beam width used when a query gives no <c>hnsw_ef</c>.</summary>
    public int? Ef { get; init; }

    public HnswConfig Apply(HnswConfigDiff? diff) => diff is null ? this : this with
    {
        M = diff.M ?? M,
        EfConstruct = diff.EfConstruct ?? EfConstruct,
        FullScanThreshold = diff.FullScanThreshold ?? FullScanThreshold,
        MaxIndexingThreads = diff.MaxIndexingThreads ?? MaxIndexingThreads,
        OnDisk = diff.OnDisk ?? OnDisk,
        PayloadM = diff.PayloadM ?? PayloadM,
        InlineStorage = diff.InlineStorage ?? InlineStorage,
        Ef = diff.Ef ?? Ef,
    };
}

/// <summary>A partial <see cref="HnswConfig"/>: what one vector overrides, or what a change sets.</summary>
public sealed record HnswConfigDiff
{
    public int? M { get; init; }

    public int? EfConstruct { get; init; }

    public int? FullScanThreshold { get; init; }

    public int? MaxIndexingThreads { get; init; }

    public bool? OnDisk { get; init; }

    public int? PayloadM { get; init; }

    public bool? InlineStorage { get; init; }

    public int? Ef { get; init; }

    /// <summary>This diff with <paramref name="other"/>'s values on top.</summary>
    public HnswConfigDiff Merge(HnswConfigDiff other) => new()
    {
        M = other.M ?? M,
        EfConstruct = other.EfConstruct ?? EfConstruct,
        FullScanThreshold = other.FullScanThreshold ?? FullScanThreshold,
        MaxIndexingThreads = other.MaxIndexingThreads ?? MaxIndexingThreads,
        OnDisk = other.OnDisk ?? OnDisk,
        PayloadM = other.PayloadM ?? PayloadM,
        InlineStorage = other.InlineStorage ?? InlineStorage,
        Ef = other.Ef ?? Ef,
    };
}

/// <summary>Optimizer parameters: when to index and when to vacuum (the rest is accepted and reported).</summary>
public sealed record OptimizersConfig
{
    /// <summary>Qdrant's default indexing threshold, in kilobytes of vectors.</summary>
    public const int DefaultIndexingThreshold = 10000;

    /// <summary>Vacuum when more than this share of all offsets are tombstones (and <see cref="VacuumMinVectorNumber"/> is reached).</summary>
    public double DeletedThreshold { get; init; } = 0.2;

    public int VacuumMinVectorNumber { get; init; } = 1000;

    public int DefaultSegmentNumber { get; init; }

    public int? MaxSegmentSize { get; init; }

    public int? MemmapThreshold { get; init; }

    /// <summary>Kilobytes of vectors above which an HNSW graph is built (0 disables indexing).</summary>
    public int? IndexingThreshold { get; init; } = DefaultIndexingThreshold;

    public int FlushIntervalSec { get; init; } = 5;

    public int? MaxOptimizationThreads { get; init; }

    public bool? PreventUnoptimized { get; init; }
}

/// <summary>Write-ahead log parameters.</summary>
public sealed record WalConfig
{
    /// <summary>Size of one WAL segment file, in MiB.</summary>
    public int WalCapacityMb { get; init; } = 32;

    public int WalSegmentsAhead { get; init; }

    public int WalRetainClosed { get; init; } = 1;
}

/// <summary>One dense vector space of a collection.</summary>
public sealed record VectorParams
{
    public int Size { get; init; }

    public Distance Distance { get; init; }

    /// <summary>HNSW parameters of this vector that differ from the collection's.</summary>
    public HnswConfigDiff? HnswConfig { get; init; }

    /// <summary>This vector's quantization (null: the collection's, see <see cref="CollectionConfig.QuantizationFor"/>).</summary>
    public QuantizationSettings? Quantization { get; init; }

    /// <summary>Vectors in memory-mapped files instead of anonymous RAM.</summary>
    public bool? OnDisk { get; init; }

    /// <summary>The element type as the client named it; only <c>float32</c> exists.</summary>
    public string? Datatype { get; init; }
}

/// <summary>How a sparse vector's query dimensions are weighted.</summary>
public enum SparseVectorModifier
{
    /// <summary>Plain dot product.</summary>
    None,

    /// <summary>Each query dimension weighted by its inverse document frequency over the live points.</summary>
    Idf,
}

/// <summary>One sparse vector space of a collection.</summary>
public sealed record SparseVectorParams
{
    /// <summary>Null when the client gave none (the same as <see cref="SparseVectorModifier.None"/>).</summary>
    public SparseVectorModifier? Modifier { get; init; }

    public SparseIndexParams? Index { get; init; }

    public bool Idf => Modifier == SparseVectorModifier.Idf;
}

/// <summary>The inverted index of a sparse vector.</summary>
public sealed record SparseIndexParams
{
    /// <summary>Filtered queries expected to match fewer points than this score them one by one.</summary>
    public int? FullScanThreshold { get; init; }

    /// <summary>Accepted and reported; the inverted index is in RAM.</summary>
    public bool? OnDisk { get; init; }

    /// <summary>Accepted and reported; values are float32.</summary>
    public string? Datatype { get; init; }
}

/// <summary>
/// Everything that defines a collection, as typed settings. Persisted by <see cref="CollectionConfigFile"/>
/// (<c>collection.json</c>, its own versioned format); the server parses and renders the API's JSON.
/// </summary>
public sealed record CollectionConfig
{
    /// <summary>Dense vector spaces by name; the unnamed vector of a single-vector collection is <c>""</c>.</summary>
    public required IReadOnlyDictionary<string, VectorParams> Vectors { get; init; }

    /// <summary>True when the collection was created with a map of named vectors.</summary>
    public bool NamedVectors { get; init; }

    public int ShardNumber { get; init; } = 1;

    public int ReplicationFactor { get; init; } = 1;

    public int WriteConsistencyFactor { get; init; } = 1;

    /// <summary>
    /// Payloads in a memory-mapped log instead of parsed in RAM. Off by default (Qdrant's default is on): a filter on
    /// an unindexed field then parses every payload it checks (measured on fashion-mnist, 1 % selectivity without an
    /// index: 197 → 21 QPS). Changing it takes effect at the next restart or vacuum.
    /// </summary>
    public bool OnDiskPayload { get; init; }

    public HnswConfig Hnsw { get; init; } = new();

    public OptimizersConfig Optimizers { get; init; } = new();

    public WalConfig Wal { get; init; } = new();

    /// <summary>The quantization of every vector that has none of its own.</summary>
    public QuantizationSettings? Quantization { get; init; }

    /// <summary>Sparse vector spaces by name (names never collide with <see cref="Vectors"/>).</summary>
    public IReadOnlyDictionary<string, SparseVectorParams> SparseVectors { get; init; } = new Dictionary<string, SparseVectorParams>();

    /// <summary>Request limits (Qdrant's strict mode), enforced by the application layer when enabled.</summary>
    public StrictModeSettings? StrictMode { get; init; }

    /// <summary>The client's own data about the collection, stored and reported as given.</summary>
    public OpaqueJson? Metadata { get; init; }

    /// <summary>
    /// How text becomes vectors in this collection (our extension, owned by the ingestion layer; opaque here).
    /// Persisted with the config, not reported in the API's <c>config</c> object, so Qdrant clients that validate
    /// responses strictly never see it.
    /// </summary>
    public OpaqueJson? Embedding { get; init; }

    /// <summary>Indexed payload fields (<c>PUT /collections/{c}/index</c>); persisted with the config, reported in collection info.</summary>
    public IReadOnlyDictionary<string, PayloadFieldSchema> PayloadSchema { get; init; } = new Dictionary<string, PayloadFieldSchema>();

    /// <summary>The quantization that applies to one vector (its own config, else the collection's).</summary>
    public QuantizationSettings? QuantizationFor(string vectorName) => Vectors[vectorName].Quantization ?? Quantization;

    /// <summary>The HNSW parameters that apply to one vector (collection defaults overridden per vector).</summary>
    public HnswConfig HnswFor(string vectorName) => Hnsw.Apply(Vectors[vectorName].HnswConfig);

    /// <summary>Checks the limits on a new or changed config (setting paths as the API names them).</summary>
    public void Validate(int maxVectorSize)
    {
        foreach (var name in SparseVectors.Keys)
        {
            if (Vectors.ContainsKey(name))
            {
                throw VectorizerException.Validation($"Dense and sparse vector names must be unique - duplicate found with '{name}'");
            }
        }

        foreach (var (name, sparse) in SparseVectors)
        {
            if (sparse.Index?.FullScanThreshold is < 0)
            {
                throw VectorizerException.Validation($"sparse_vectors.{name}.index.full_scan_threshold: value {sparse.Index.FullScanThreshold} invalid, must be 0 or larger");
            }
        }

        foreach (var (name, vector) in Vectors)
        {
            var label = name.Length == 0 ? "vectors" : $"vectors.{name}";
            if (vector.Size < 1 || vector.Size > maxVectorSize)
            {
                throw VectorizerException.Validation($"{label}.size: value {vector.Size} invalid, must be from 1 to {maxVectorSize}");
            }

            if (!Enum.IsDefined(vector.Distance))
            {
                throw VectorizerException.Validation($"{label}.distance: invalid distance");
            }

            ValidateHnsw(HnswFor(name), $"{label}.hnsw_config");
        }

        ValidateHnsw(Hnsw, "hnsw_config");
        if (Optimizers.DeletedThreshold is < 0 or > 1)
        {
            throw VectorizerException.Validation($"optimizers_config.deleted_threshold: value {Optimizers.DeletedThreshold} invalid, must be from 0 to 1");
        }

        if (Optimizers.VacuumMinVectorNumber < 100)
        {
            throw VectorizerException.Validation($"optimizers_config.vacuum_min_vector_number: value {Optimizers.VacuumMinVectorNumber} invalid, must be 100 or larger");
        }

        if (Wal.WalCapacityMb < 1)
        {
            throw VectorizerException.Validation($"wal_config.wal_capacity_mb: value {Wal.WalCapacityMb} invalid, must be 1 or larger");
        }
    }

    private static void ValidateHnsw(HnswConfig hnsw, string label)
    {
        if (hnsw.M is < 0 or > 512)
        {
            throw VectorizerException.Validation($"{label}.m: value {hnsw.M} invalid, must be from 0 to 512");
        }

        if (hnsw.EfConstruct < 4)
        {
            throw VectorizerException.Validation($"{label}.ef_construct: value {hnsw.EfConstruct} invalid, must be 4 or larger");
        }

        if (hnsw.FullScanThreshold < 0)
        {
            throw VectorizerException.Validation($"{label}.full_scan_threshold: value {hnsw.FullScanThreshold} invalid, must be 0 or larger");
        }

        if (hnsw.Ef is < 1)
        {
            throw VectorizerException.Validation($"{label}.ef: value {hnsw.Ef} invalid, must be 1 or larger");
        }
    }
}
