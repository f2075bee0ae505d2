using Vectorizer.Engine.Filters;
using Vectorizer.Engine.Payload;
using Vectorizer.Engine.Points;

namespace Vectorizer.Engine.Collections;

/// <summary>Which payload to return: none, all, or only/except some paths.</summary>
public sealed record PayloadSelector(bool Enabled, IReadOnlyList<JsonPath>? Include = null, IReadOnlyList<JsonPath>? Exclude = null)
{
    public static readonly PayloadSelector None = new(false);
    public static readonly PayloadSelector All = new(true);

    public PointPayload Apply(PointPayload? payload) =>
        (payload ?? PointPayload.Empty).Select(Include, Exclude);
}

/// <summary>Which vectors to return: none, all, or the named ones.</summary>
public sealed record VectorSelector(bool Enabled, IReadOnlyList<string>? Names = null)
{
    public static readonly VectorSelector None = new(false);
    public static readonly VectorSelector All = new(true);
}

/// <summary>What a query searches with.</summary>
public abstract record QueryInput;

/// <summary>Nearest neighbours of a dense vector.</summary>
public sealed record DenseVectorQuery(float[] Vector) : QueryInput;

/// <summary>Highest dot product with a sparse vector (a named sparse vector space in <c>using</c>).</summary>
public sealed record SparseVectorQuery(Sparse.SparseVector Vector) : QueryInput;

/// <summary>Nearest neighbours of a stored point's vector (the point itself is excluded).</summary>
public sealed record PointIdQuery(PointId Id) : QueryInput;

/// <summary>
/// Points ordered by a payload value (<c>{"order_by": ...}</c>): like scroll with <c>order_by</c>, over the filter's
/// points or (with prefetch) over the prefetched ones. Needs a range payload index on the key. Every point scores 1
/// and carries its <c>order_value</c>.
/// </summary>
public sealed record OrderByQuery(OrderBy OrderBy) : QueryInput;

/// <summary>A uniformly random sample of the points passing the filter (or of the prefetched ones); every point scores 1.</summary>
public sealed record SampleQuery : QueryInput
{
    public static readonly SampleQuery Random = new();
}

/// <summary>How <see cref="FusionQuery"/> combines the result lists of the prefetches.</summary>
public enum FusionMethod
{
    /// <summary>Reciprocal rank fusion: Σ weight / (rank + k), ranks from 1; only the order of each list counts.</summary>
    Rrf,

    /// <summary>Distribution-based score fusion: each list's scores scaled by mean ± 3σ to [0, 1], then summed.</summary>
    Dbsf,
}

/// <summary>Combines the results of the request's prefetches (<c>{"fusion": "rrf"}</c>, <c>{"rrf": {"k", "weights"}}</c>).</summary>
public sealed record FusionQuery(FusionMethod Method, int K = FusionQuery.DefaultRrfK, IReadOnlyList<float>? Weights = null) : QueryInput
{
    /// <summary>Qdrant's default RRF constant.</summary>
    public const int DefaultRrfK = 2;
}

public sealed record QueryRequest
{
    /// <summary>Sub-queries run first; the main query then ranks (or fuses) their results only.</summary>
    public IReadOnlyList<QueryRequest> Prefetch { get; init; } = [];

    public QueryInput? Query { get; init; }

    public string Using { get; init; } = "";

    public Filter? Filter { get; init; }

    public int? HnswEf { get; init; }

    public bool Exact { get; init; }

    /// <summary><c>params.quantization</c>: whether to use the quantized copy, re-score, and how many candidates.</summary>
    public Vectors.Quantization.QuantizationSearchParams? Quantization { get; init; }

    public int Limit { get; init; } = 10;

    public int Offset { get; init; }

    public float? ScoreThreshold { get; init; }

    public PayloadSelector WithPayload { get; init; } = PayloadSelector.None;

    public VectorSelector WithVector { get; init; } = VectorSelector.None;

    /// <summary>Where stored-point examples are looked up (another collection); resolved by the caller, never by the engine.</summary>
    public LookupLocation? LookupFrom { get; init; }
}

/// <summary>
/// Payload ordering (scroll and query): by the values at <see cref="Key"/>, which needs a range payload index
/// (integer, float, datetime). Datetimes order as microseconds since the epoch. <see cref="StartFrom"/> is inclusive:
/// values ≥ it ascending, ≤ it descending. Ties go by point id (descending when <see cref="Descending"/>).
/// </summary>
public sealed record OrderBy(JsonPath Key, bool Descending, double? StartFrom);

public sealed record ScrollRequest
{
    public Filter? Filter { get; init; }

    public int Limit { get; init; } = 10;

    public PointId? Offset { get; init; }

    public PayloadSelector WithPayload { get; init; } = PayloadSelector.All;

    public VectorSelector WithVector { get; init; } = VectorSelector.None;

    public OrderBy? OrderBy { get; init; }
}

/// <summary>A point as returned by retrieve and scroll.</summary>
public sealed record PointRecord(PointId Id, ulong Version, PointPayload? Payload, IReadOnlyDictionary<string, float[]>? Vectors, double? OrderValue = null, IReadOnlyDictionary<string, Sparse.SparseVector>? Sparse = null);

/// <summary>A point as returned by query, with its score (and, from an <c>order_by</c> query, its order value).</summary>
public sealed record ScoredPoint(PointId Id, ulong Version, float Score, PointPayload? Payload, IReadOnlyDictionary<string, float[]>? Vectors, IReadOnlyDictionary<string, Sparse.SparseVector>? Sparse = null, double? OrderValue = null);

public sealed record ScrollResult(IReadOnlyList<PointRecord> Points, PointId? NextPageOffset);

public enum CollectionStatus
{
    Green,
    Yellow,
    Grey,
    Red,
}

/// <summary>What <c>GET /collections/{name}</c> reports.</summary>
public sealed record CollectionInfo(
    CollectionStatus Status,
    long PointsCount,
    long IndexedVectorsCount,
    int SegmentsCount,
    CollectionConfig Config,
    string? OptimizerError,
    IReadOnlyList<PayloadIndexInfo>? PayloadSchema = null,
    StorageInfo? Storage = null);

/// <summary>
/// Where one vector's data lives: float32 originals in RAM or memory-mapped from disk (<c>on_disk</c>), the
/// quantized copy (always RAM) and the HNSW links (RAM).
/// </summary>
public sealed record VectorStorageInfo(string Name, long VectorsRamBytes, long VectorsDiskBytes, long QuantizedRamBytes, long IndexRamBytes, string? Quantization);

/// <summary>
/// Bytes of a collection by place: per vector (see <see cref="VectorStorageInfo"/>), payloads in RAM (estimated from
/// a sample) or in the memory-mapped payload log (<c>on_disk_payload</c>), and files on disk (WAL and checkpoints).
/// </summary>
public sealed record StorageInfo(IReadOnlyList<VectorStorageInfo> Vectors, long PayloadRamBytes, long DiskBytes, long PayloadDiskBytes = 0);

/// <summary>An indexed payload field and how many points have a value in it.</summary>
public sealed record PayloadIndexInfo(string Field, PayloadFieldSchema Schema, long Points);
