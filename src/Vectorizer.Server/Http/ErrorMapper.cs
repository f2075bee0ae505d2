using Microsoft.AspNetCore.Http;
using Vectorizer.Engine.Errors;
using Vectorizer.Ingestion;

namespace Vectorizer.Server.Http;

/// <summary>
/// The one place where an error code becomes an HTTP status and a Qdrant-style message: the engine's
/// <see cref="ErrorCode"/>, the ingestion library's <see cref="IngestionErrorCode"/> and the HTTP layer's own
/// <see cref="ApiErrorCode"/>. Every switch is exhaustive; a test walks every value and freezes the table.
/// </summary>
public static class ErrorMapper
{
    /// <summary>The status and message of any exception that carries one of the codes; null for anything else.</summary>
    public static (int Status, string Message)? Map(Exception exception) => exception switch
    {
        VectorizerException e => (StatusCode(e.Code), Message(e.Code, e.Message)),
        IngestionException e => (StatusCode(e.Code), Message(e.Code, e.Message)),
        ApiException e => (StatusCode(e.Code), Message(e.Code, e.Message)),
        _ => null,
    };

    public static int StatusCode(ErrorCode code) => code switch
    {
        ErrorCode.BadRequest => StatusCodes.Status400BadRequest,
        ErrorCode.ValidationFailed => StatusCodes.Status422UnprocessableEntity,
        ErrorCode.OperationTooLarge => StatusCodes.Status413PayloadTooLarge,
        ErrorCode.CollectionNotFound => StatusCodes.Status404NotFound,
        ErrorCode.PointNotFound => StatusCodes.Status404NotFound,
        ErrorCode.AliasNotFound => StatusCodes.Status404NotFound,
        ErrorCode.SnapshotNotFound => StatusCodes.Status404NotFound,
        ErrorCode.VectorNameNotFound => StatusCodes.Status400BadRequest,
        ErrorCode.CollectionAlreadyExists => StatusCodes.Status409Conflict,
        ErrorCode.AliasAlreadyExists => StatusCodes.Status409Conflict,
        ErrorCode.CollectionFailed => StatusCodes.Status409Conflict,
        ErrorCode.WrongVectorDimension => StatusCodes.Status400BadRequest,
        ErrorCode.ShuttingDown => StatusCodes.Status503ServiceUnavailable,
        ErrorCode.DataDirectoryInUse => StatusCodes.Status503ServiceUnavailable,
        ErrorCode.Forbidden => StatusCodes.Status403Forbidden,
        ErrorCode.NotMaster => StatusCodes.Status421MisdirectedRequest,
        ErrorCode.WriteConcernFailed => StatusCodes.Status504GatewayTimeout,
        ErrorCode.ReplicationDiverged => StatusCodes.Status409Conflict,
        ErrorCode.StorageFailure => StatusCodes.Status500InternalServerError,
        ErrorCode.Internal => StatusCodes.Status500InternalServerError,
        _ => throw new ArgumentOutOfRangeException(nameof(code), code, "Unmapped error code"),
    };

    public static int StatusCode(IngestionErrorCode code) => code switch
    {
        IngestionErrorCode.EmbeddingProviderFailed => StatusCodes.Status502BadGateway,
        IngestionErrorCode.CostLimitReached => StatusCodes.Status429TooManyRequests,
        _ => throw new ArgumentOutOfRangeException(nameof(code), code, "Unmapped error code"),
    };

    public static int StatusCode(ApiErrorCode code) => code switch
    {
        ApiErrorCode.MalformedBody => StatusCodes.Status400BadRequest,
        ApiErrorCode.RequestTooLarge => StatusCodes.Status413PayloadTooLarge,
        ApiErrorCode.Unauthorized => StatusCodes.Status401Unauthorized,
        ApiErrorCode.InvalidPathParameters => StatusCodes.Status422UnprocessableEntity,
        ApiErrorCode.InvalidQueryParameters => StatusCodes.Status422UnprocessableEntity,
        ApiErrorCode.StandaloneMode => StatusCodes.Status405MethodNotAllowed,
        _ => throw new ArgumentOutOfRangeException(nameof(code), code, "Unmapped error code"),
    };

    /// <summary>Qdrant's message prefixes, so clients that match on them keep working.</summary>
    public static string Message(ErrorCode code, string message) => code switch
    {
        ErrorCode.BadRequest or ErrorCode.WrongVectorDimension or ErrorCode.VectorNameNotFound
            or ErrorCode.CollectionAlreadyExists or ErrorCode.AliasAlreadyExists => "Wrong input: " + message,
        ErrorCode.CollectionFailed => "Collection failed: " + message,
        ErrorCode.ValidationFailed => $"Validation error in JSON body: [{message}]",
        ErrorCode.OperationTooLarge => "Payload error: " + message,
        ErrorCode.CollectionNotFound or ErrorCode.PointNotFound or ErrorCode.AliasNotFound or ErrorCode.SnapshotNotFound => "Not found: " + message,
        ErrorCode.ShuttingDown or ErrorCode.DataDirectoryInUse => "Service unavailable: " + message,
        ErrorCode.Forbidden => message,
        ErrorCode.NotMaster or ErrorCode.WriteConcernFailed or ErrorCode.ReplicationDiverged => "Replication: " + message,
        ErrorCode.StorageFailure or ErrorCode.Internal => "Service internal error: " + message,
        _ => throw new ArgumentOutOfRangeException(nameof(code), code, "Unmapped error code"),
    };

    public static string Message(IngestionErrorCode code, string message) => code switch
    {
        IngestionErrorCode.EmbeddingProviderFailed => "Embedding provider error: " + message,
        IngestionErrorCode.CostLimitReached => "Embedding cost limit: " + message,
        _ => throw new ArgumentOutOfRangeException(nameof(code), code, "Unmapped error code"),
    };

    public static string Message(ApiErrorCode code, string message) => code switch
    {
        ApiErrorCode.MalformedBody => "Format error in JSON body: " + message,
        ApiErrorCode.RequestTooLarge => "Payload error: " + message,
        ApiErrorCode.Unauthorized => message,
        ApiErrorCode.InvalidPathParameters => $"Validation error in path parameters: [{message}]",
        ApiErrorCode.InvalidQueryParameters => $"Validation error in query parameters: [{message}]",
        ApiErrorCode.StandaloneMode => message,
        _ => throw new ArgumentOutOfRangeException(nameof(code), code, "Unmapped error code"),
    };
}
