namespace Vectorizer.Engine.Collections;

/// <summary>
/// Limits a collection imposes on the requests made to it (Qdrant's strict mode). The engine stores them with the
/// collection; the application layer enforces them on every client request (REST, gRPC, MCP), so the server's own
/// ingestion is not bound by a client's request limits. A limit left <c>null</c> does not apply; none applies unless
/// <see cref="Enabled"/>.
/// </summary>
public sealed record StrictModeSettings
{
    public bool? Enabled { get; init; }

    /// <summary>Largest <c>limit</c> a search, query or scroll may ask for.</summary>
    public long? MaxQueryLimit { get; init; }

    /// <summary><c>false</c>: a read's filter may only use fields that have a payload index of a fitting type.</summary>
    public bool? UnindexedFilteringRetrieve { get; init; }

    /// <summary><c>false</c>: a write selecting points by filter may only use indexed fields.</summary>
    public bool? UnindexedFilteringUpdate { get; init; }

    /// <summary>Largest <c>hnsw_ef</c> a search may ask for.</summary>
    public long? SearchMaxHnswEf { get; init; }

    /// <summary><c>false</c>: searches may not ask for an exact (brute-force) scan.</summary>
    public bool? SearchAllowExact { get; init; }

    /// <summary>Largest quantization <c>oversampling</c> a search may ask for.</summary>
    public double? SearchMaxOversampling { get; init; }

    /// <summary>Most points one upsert (or vector update) may carry.</summary>
    public long? UpsertMaxBatchsize { get; init; }

    /// <summary>Most searches one batch request may carry.</summary>
    public long? SearchMaxBatchsize { get; init; }

    /// <summary>Upserts are refused once the collection holds this many points.</summary>
    public long? MaxPointsCount { get; init; }

    /// <summary>Most conditions a filter may have, counted through nested clauses.</summary>
    public long? FilterMaxConditions { get; init; }

    /// <summary>Most values one condition may list (<c>match.any</c>, <c>match.except</c>, <c>has_id</c>).</summary>
    public long? ConditionMaxSize { get; init; }

    /// <summary>Most payload indexes the collection may have.</summary>
    public long? MaxPayloadIndexCount { get; init; }

    /// <summary>True when strict mode is on (limits apply).</summary>
    public bool IsEnabled => Enabled == true;

    /// <summary>Applies a partial update: every limit <paramref name="change"/> sets replaces this one's.</summary>
    public StrictModeSettings Merge(StrictModeSettings change) => new()
    {
        Enabled = change.Enabled ?? Enabled,
        MaxQueryLimit = change.MaxQueryLimit ?? MaxQueryLimit,
        UnindexedFilteringRetrieve = change.UnindexedFilteringRetrieve ?? UnindexedFilteringRetrieve,
        UnindexedFilteringUpdate = change.UnindexedFilteringUpdate ?? UnindexedFilteringUpdate,
        SearchMaxHnswEf = change.SearchMaxHnswEf ?? SearchMaxHnswEf,
        SearchAllowExact = change.SearchAllowExact ?? SearchAllowExact,
        SearchMaxOversampling = change.SearchMaxOversampling ?? SearchMaxOversampling,
        UpsertMaxBatchsize = change.UpsertMaxBatchsize ?? UpsertMaxBatchsize,
        SearchMaxBatchsize = change.SearchMaxBatchsize ?? SearchMaxBatchsize,
        MaxPointsCount = change.MaxPointsCount ?? MaxPointsCount,
        FilterMaxConditions = change.FilterMaxConditions ?? FilterMaxConditions,
        ConditionMaxSize = change.ConditionMaxSize ?? ConditionMaxSize,
        MaxPayloadIndexCount = change.MaxPayloadIndexCount ?? MaxPayloadIndexCount,
    };
}
