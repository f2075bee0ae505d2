namespace Vectorizer.Engine.Errors;

/// <summary>
/// Every failure the engine reports. The server maps each value to an HTTP status in one place
/// (<c>ErrorMapper</c>); a test walks all values so none is left unmapped.
/// </summary>
public enum ErrorCode
{
    /// <summary>The request is well-formed JSON but asks for something invalid (Qdrant: "Wrong input").</summary>
    BadRequest = 1,

    /// <summary>The body is not valid JSON or does not match the expected shape.</summary>
    MalformedBody = 2,

    /// <summary>A value is out of its allowed range (Qdrant: "Validation error").</summary>
    ValidationFailed = 3,

    /// <summary>The request body exceeds <c>limits.max_request_mb</c>.</summary>
    PayloadTooLarge = 4,

    CollectionNotFound = 10,
    PointNotFound = 11,
    AliasNotFound = 12,
    VectorNameNotFound = 13,

    CollectionAlreadyExists = 20,
    AliasAlreadyExists = 21,

    /// <summary>A vector has the wrong number of dimensions.</summary>
    WrongVectorDimension = 30,

    /// <summary>The server is shutting down and does not accept writes.</summary>
    ShuttingDown = 40,

    /// <summary>Another process holds the data directory's lock (a running server, or another CLI command).</summary>
    DataDirectoryInUse = 41,

    /// <summary>The caller's credential does not allow the operation (Qdrant: 403).</summary>
    Forbidden = 42,

    /// <summary>No credential, or one that is not valid (a wrong key, an expired or wrongly signed token; Qdrant: 401).</summary>
    Unauthorized = 43,

    /// <summary>The storage layer failed (I/O error, disk full).</summary>
    StorageFailure = 50,

    /// <summary>A bug: an invariant did not hold.</summary>
    Internal = 60,

    /// <summary>An external embedding provider failed (after retries) or answered something unusable.</summary>
    EmbeddingProviderFailed = 70,
}
