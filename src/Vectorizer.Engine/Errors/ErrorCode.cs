namespace Vectorizer.Engine.Errors;

/// <summary>
/// Every failure the engine reports, in the engine's terms (no transport's): what was asked for does not exist,
/// already exists, is invalid, or cannot be done now. Each transport maps the codes in one place (the server's
/// <c>ErrorMapper</c>), and a test freezes every name and number and that mapping. Numbers are never reused: a
/// removed code leaves a gap (2 and 70 were transport and ingestion cases, now the server's and the ingestion
/// library's own codes).
/// </summary>
public enum ErrorCode
{
    /// <summary>The request asks for something invalid (a name, a combination of options, a value the engine cannot use).</summary>
    BadRequest = 1,

    /// <summary>A value is out of its allowed range.</summary>
    ValidationFailed = 3,

    /// <summary>One operation is larger than the engine accepts (a WAL record over its size limit).</summary>
    OperationTooLarge = 4,

    CollectionNotFound = 10,
    PointNotFound = 11,
    AliasNotFound = 12,
    VectorNameNotFound = 13,

    /// <summary>A backup or snapshot that does not exist.</summary>
    SnapshotNotFound = 14,

    CollectionAlreadyExists = 20,
    AliasAlreadyExists = 21,

    /// <summary>
    /// The collection's folder exists but the collection could not be opened: it is not served, and nothing is created
    /// over it or deleted until an operator runs <c>vectorizer collection check|repair|quarantine</c>.
    /// </summary>
    CollectionFailed = 22,

    /// <summary>A vector has the wrong number of dimensions.</summary>
    WrongVectorDimension = 30,

    /// <summary>The engine is shutting down (or the collection closed) and does not accept writes.</summary>
    ShuttingDown = 40,

    /// <summary>Another process holds the data directory's lock (a running server, or another CLI command).</summary>
    DataDirectoryInUse = 41,

    /// <summary>The caller's credential does not allow the operation.</summary>
    Forbidden = 42,

    /// <summary>A write reached a replica (or a fenced former master) that neither takes nor forwards writes; the message names the master.</summary>
    NotMaster = 43,

    /// <summary>A write was made durable here but fewer replicas than <c>write_concern</c> asks acknowledged it in time.</summary>
    WriteConcernFailed = 44,

    /// <summary>Replication: a record does not follow what this node holds (its tail diverged); a full resync follows.</summary>
    ReplicationDiverged = 45,

    /// <summary>The storage layer failed (I/O error, disk full, a damaged file).</summary>
    StorageFailure = 50,

    /// <summary>A bug: an invariant did not hold.</summary>
    Internal = 60,
}
