using Microsoft.AspNetCore.Http;
using Vectorizer.Engine.Errors;

namespace Vectorizer.Server.Http;

/// <summary>The one place where an <see cref="ErrorCode"/> becomes an HTTP status and a Qdrant-style message.</summary>
public static class ErrorMapper
{
    public static int StatusCode(ErrorCode code) => code switch
    {
        ErrorCode.BadRequest => StatusCodes.Status400BadRequest,
        ErrorCode.MalformedBody => StatusCodes.Status400BadRequest,
        ErrorCode.ValidationFailed => StatusCodes.Status422UnprocessableEntity,
        ErrorCode.PayloadTooLarge => StatusCodes.Status413PayloadTooLarge,
        ErrorCode.CollectionNotFound => StatusCodes.Status404NotFound,
        ErrorCode.PointNotFound => StatusCodes.Status404NotFound,
        ErrorCode.AliasNotFound => StatusCodes.Status404NotFound,
        ErrorCode.VectorNameNotFound => StatusCodes.Status400BadRequest,
        ErrorCode.CollectionAlreadyExists => StatusCodes.Status409Conflict,
        ErrorCode.AliasAlreadyExists => StatusCodes.Status409Conflict,
        ErrorCode.WrongVectorDimension => StatusCodes.Status400BadRequest,
        ErrorCode.ShuttingDown => StatusCodes.Status503ServiceUnavailable,
        ErrorCode.DataDirectoryInUse => StatusCodes.Status503ServiceUnavailable,
        ErrorCode.Forbidden => StatusCodes.Status403Forbidden,
        ErrorCode.Unauthorized => StatusCodes.Status401Unauthorized,
        ErrorCode.StorageFailure => StatusCodes.Status500InternalServerError,
        ErrorCode.Internal => StatusCodes.Status500InternalServerError,
        ErrorCode.EmbeddingProviderFailed => StatusCodes.Status502BadGateway,
        _ => throw new ArgumentOutOfRangeException(nameof(code), code, "Unmapped error code"),
    };

    /// <summary>Qdrant's message prefixes, so clients that match on them keep working.</summary>
    public static string Message(ErrorCode code, string message) => code switch
    {
        ErrorCode.BadRequest or ErrorCode.WrongVectorDimension or ErrorCode.VectorNameNotFound
            or ErrorCode.CollectionAlreadyExists or ErrorCode.AliasAlreadyExists => "Wrong input: " + message,
        ErrorCode.MalformedBody => "Format error in JSON body: " + message,
        ErrorCode.ValidationFailed => $"Validation error in JSON body: [{message}]",
        ErrorCode.PayloadTooLarge => "Payload error: " + message,
        ErrorCode.CollectionNotFound or ErrorCode.PointNotFound or ErrorCode.AliasNotFound => "Not found: " + message,
        ErrorCode.ShuttingDown or ErrorCode.DataDirectoryInUse => "Service unavailable: " + message,
        ErrorCode.StorageFailure or ErrorCode.Internal => "Service internal error: " + message,
        ErrorCode.EmbeddingProviderFailed => "Embedding provider error: " + message,
        ErrorCode.Forbidden or ErrorCode.Unauthorized => message,
        _ => throw new ArgumentOutOfRangeException(nameof(code), code, "Unmapped error code"),
    };
}
