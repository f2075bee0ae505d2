using Grpc.Core;
using Vectorizer.Engine.Errors;
using Vectorizer.Ingestion;

namespace Vectorizer.Server.Http;

/// <summary>
/// The one place where an error code becomes a gRPC status, as Qdrant maps its errors (bad input → InvalidArgument, not
/// found → NotFound, …); the message is <see cref="ErrorMapper"/>'s, so REST and gRPC say the same thing. Every switch
/// is exhaustive; a test walks every value and freezes the table.
/// </summary>
public static class GrpcErrorMapper
{
    public static Status? Map(Exception exception) => exception switch
    {
        VectorizerException e => new Status(StatusCode(e.Code), ErrorMapper.Message(e.Code, e.Message)),
        IngestionException e => new Status(StatusCode(e.Code), ErrorMapper.Message(e.Code, e.Message)),
        ApiException e => new Status(StatusCode(e.Code), ErrorMapper.Message(e.Code, e.Message)),
        _ => null,
    };

    public static StatusCode StatusCode(ErrorCode code) => code switch
    {
        ErrorCode.BadRequest => global::Grpc.Core.StatusCode.InvalidArgument,
        ErrorCode.ValidationFailed => global::Grpc.Core.StatusCode.InvalidArgument,
        ErrorCode.OperationTooLarge => global::Grpc.Core.StatusCode.ResourceExhausted,
        ErrorCode.CollectionNotFound => global::Grpc.Core.StatusCode.NotFound,
        ErrorCode.PointNotFound => global::Grpc.Core.StatusCode.NotFound,
        ErrorCode.AliasNotFound => global::Grpc.Core.StatusCode.NotFound,
        ErrorCode.VectorNameNotFound => global::Grpc.Core.StatusCode.InvalidArgument,
        ErrorCode.SnapshotNotFound => global::Grpc.Core.StatusCode.NotFound,
        ErrorCode.CollectionAlreadyExists => global::Grpc.Core.StatusCode.AlreadyExists,
        ErrorCode.AliasAlreadyExists => global::Grpc.Core.StatusCode.AlreadyExists,
        ErrorCode.CollectionFailed => global::Grpc.Core.StatusCode.FailedPrecondition,
        ErrorCode.WrongVectorDimension => global::Grpc.Core.StatusCode.InvalidArgument,
        ErrorCode.ShuttingDown => global::Grpc.Core.StatusCode.Unavailable,
        ErrorCode.DataDirectoryInUse => global::Grpc.Core.StatusCode.Unavailable,
        ErrorCode.Forbidden => global::Grpc.Core.StatusCode.PermissionDenied,
        ErrorCode.NotMaster => global::Grpc.Core.StatusCode.FailedPrecondition,
        ErrorCode.WriteConcernFailed => global::Grpc.Core.StatusCode.DeadlineExceeded,
        ErrorCode.ReplicationDiverged => global::Grpc.Core.StatusCode.Aborted,
        ErrorCode.StorageFailure => global::Grpc.Core.StatusCode.Internal,
        ErrorCode.Internal => global::Grpc.Core.StatusCode.Internal,
        _ => throw new ArgumentOutOfRangeException(nameof(code), code, "Unmapped error code"),
    };

    public static StatusCode StatusCode(IngestionErrorCode code) => code switch
    {
        IngestionErrorCode.EmbeddingProviderFailed => global::Grpc.Core.StatusCode.Unavailable,
        IngestionErrorCode.CostLimitReached => global::Grpc.Core.StatusCode.ResourceExhausted,
        _ => throw new ArgumentOutOfRangeException(nameof(code), code, "Unmapped error code"),
    };

    public static StatusCode StatusCode(ApiErrorCode code) => code switch
    {
        ApiErrorCode.MalformedBody => global::Grpc.Core.StatusCode.InvalidArgument,
        ApiErrorCode.RequestTooLarge => global::Grpc.Core.StatusCode.ResourceExhausted,
        ApiErrorCode.Unauthorized => global::Grpc.Core.StatusCode.Unauthenticated,
        ApiErrorCode.InvalidPathParameters => global::Grpc.Core.StatusCode.InvalidArgument,
        ApiErrorCode.InvalidQueryParameters => global::Grpc.Core.StatusCode.InvalidArgument,
        ApiErrorCode.StandaloneMode => global::Grpc.Core.StatusCode.FailedPrecondition,
        _ => throw new ArgumentOutOfRangeException(nameof(code), code, "Unmapped error code"),
    };
}
