using Vectorizer.Engine.Filters;
using Vectorizer.Engine.Payload;
using Vectorizer.Engine.Points;
using Vectorizer.Engine.Sparse;

namespace Vectorizer.Engine.Operations;

/// <summary>
/// A point to insert or replace: its id, dense vectors by name, and payload. The engine may preprocess the
/// vector arrays in place (Cosine normalisation) and keeps no reference to them once the update returns.
/// </summary>
public sealed record PointStruct(PointId Id, IReadOnlyDictionary<string, float[]> Vectors, PointPayload? Payload, IReadOnlyDictionary<string, SparseVector>? Sparse = null);

/// <summary>New vectors for an existing point (other vectors are kept).</summary>
public sealed record PointVectors(PointId Id, IReadOnlyDictionary<string, float[]> Vectors, IReadOnlyDictionary<string, SparseVector>? Sparse = null);

/// <summary>Which points an operation applies to: explicit ids, a filter, or both (their intersection).</summary>
public sealed record PointSelector(IReadOnlyList<PointId>? Ids, Filter? Filter)
{
    public static PointSelector ForIds(IReadOnlyList<PointId> ids) => new(ids, null);

    public static PointSelector ForFilter(Filter filter) => new(null, filter);
}

/// <summary>How an upsert treats existing and missing ids.</summary>
public enum UpdateMode
{
    Upsert,
    InsertOnly,
    UpdateOnly,
}

/// <summary>A change to a collection's points, as a client asked for it.</summary>
public abstract record UpdateOperation;

public sealed record UpsertOperation(IReadOnlyList<PointStruct> Points, UpdateMode Mode = UpdateMode.Upsert, Filter? UpdateFilter = null) : UpdateOperation;

public sealed record DeletePointsOperation(PointSelector Selector) : UpdateOperation;

public sealed record SetPayloadOperation(PointPayload Payload, PointSelector Selector, JsonPath? Key) : UpdateOperation;

public sealed record OverwritePayloadOperation(PointPayload Payload, PointSelector Selector) : UpdateOperation;

public sealed record DeletePayloadOperation(IReadOnlyList<JsonPath> Keys, PointSelector Selector) : UpdateOperation;

public sealed record ClearPayloadOperation(PointSelector Selector) : UpdateOperation;

public sealed record UpdateVectorsOperation(IReadOnlyList<PointVectors> Points, Filter? UpdateFilter = null) : UpdateOperation;

public sealed record DeleteVectorsOperation(PointSelector Selector, IReadOnlyList<string> VectorNames) : UpdateOperation;

/// <summary>How far a write must get before it is acknowledged.</summary>
public enum UpdateStatus
{
    /// <summary>Appended to the WAL (in the OS, not yet fsynced) and applied.</summary>
    Acknowledged,

    /// <summary>fsynced to the WAL and applied: survives power loss.</summary>
    Completed,
}

public readonly record struct UpdateResult(long OperationId, UpdateStatus Status);
