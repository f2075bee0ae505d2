namespace Vectorizer.Server.Http;

/// <summary>
/// Failures of the HTTP transport itself, before a request reaches the engine: a body that is not valid JSON or not
/// the expected shape, or too large; a request without a valid credential; path or query parameters out of their schema;
/// cluster calls on a single node. Mapped with the engine's and the ingestion library's codes in
/// <see cref="ErrorMapper"/>; a test freezes every name and number.
/// </summary>
public enum ApiErrorCode
{
    /// <summary>The body (or a query parameter) is not valid JSON or does not match the expected shape.</summary>
    MalformedBody = 1,

    /// <summary>The request body exceeds <c>limits.max_request_mb</c>.</summary>
    RequestTooLarge = 2,

    /// <summary>No credential, or one that is not valid (a wrong key; an expired, wrongly signed or malformed token): 401.</summary>
    Unauthorized = 3,

    /// <summary>A path parameter fails its schema (a collection name over 255 bytes, or with forbidden characters on creation).</summary>
    InvalidPathParameters = 4,

    /// <summary>A query-string parameter is out of its range (<c>timeout=0</c>).</summary>
    InvalidQueryParameters = 5,

    /// <summary>A cluster operation on this single node (Qdrant answers these with 405 when distributed mode is off).</summary>
    StandaloneMode = 6,
}

/// <summary>The exception the HTTP layer throws for a request it cannot read.</summary>
public sealed class ApiException : Exception
{
    public ApiException(ApiErrorCode code, string message)
        : base(message)
    {
        Code = code;
    }

    public ApiException(ApiErrorCode code, string message, Exception inner)
        : base(message, inner)
    {
        Code = code;
    }

    public ApiErrorCode Code { get; }
}
