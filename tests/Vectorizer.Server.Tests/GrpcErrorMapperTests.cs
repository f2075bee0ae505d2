using Grpc.Core;
using Vectorizer.Engine.Errors;
using Vectorizer.Ingestion;
using Vectorizer.Server.Http;

namespace Vectorizer.Server.Tests;

/// <summary>Every error code of every layer has a gRPC status, as Qdrant maps its errors; the table is frozen here.</summary>
public class GrpcErrorMapperTests
{
    [Fact]
    public void EveryCodeMapsToQdrantsStatus()
    {
        var table = Enum.GetValues<ErrorCode>().ToDictionary(c => c.ToString(), c => GrpcErrorMapper.StatusCode(c));
        foreach (var code in Enum.GetValues<IngestionErrorCode>())
        {
            table["ingestion." + code] = GrpcErrorMapper.StatusCode(code);
        }

        foreach (var code in Enum.GetValues<ApiErrorCode>())
        {
            table["api." + code] = GrpcErrorMapper.StatusCode(code);
        }

        Assert.Equal(
            new Dictionary<string, StatusCode>
            {
                ["BadRequest"] = StatusCode.InvalidArgument,
                ["ValidationFailed"] = StatusCode.InvalidArgument,
                ["OperationTooLarge"] = StatusCode.ResourceExhausted,
                ["CollectionNotFound"] = StatusCode.NotFound,
                ["PointNotFound"] = StatusCode.NotFound,
                ["AliasNotFound"] = StatusCode.NotFound,
                ["VectorNameNotFound"] = StatusCode.InvalidArgument,
                ["SnapshotNotFound"] = StatusCode.NotFound,
                ["CollectionAlreadyExists"] = StatusCode.AlreadyExists,
                ["AliasAlreadyExists"] = StatusCode.AlreadyExists,
                ["CollectionFailed"] = StatusCode.FailedPrecondition,
                ["WrongVectorDimension"] = StatusCode.InvalidArgument,
                ["ShuttingDown"] = StatusCode.Unavailable,
                ["DataDirectoryInUse"] = StatusCode.Unavailable,
                ["Forbidden"] = StatusCode.PermissionDenied,
                ["NotMaster"] = StatusCode.FailedPrecondition,
                ["WriteConcernFailed"] = StatusCode.DeadlineExceeded,
                ["ReplicationDiverged"] = StatusCode.Aborted,
                ["StorageFailure"] = StatusCode.Internal,
                ["Internal"] = StatusCode.Internal,
                ["ingestion.EmbeddingProviderFailed"] = StatusCode.Unavailable,
                ["ingestion.CostLimitReached"] = StatusCode.ResourceExhausted,
                ["api.MalformedBody"] = StatusCode.InvalidArgument,
                ["api.RequestTooLarge"] = StatusCode.ResourceExhausted,
                ["api.Unauthorized"] = StatusCode.Unauthenticated,
                ["api.InvalidPathParameters"] = StatusCode.InvalidArgument,
                ["api.InvalidQueryParameters"] = StatusCode.InvalidArgument,
                ["api.StandaloneMode"] = StatusCode.FailedPrecondition,
            },
            table);
    }

    [Fact]
    public void TheMessageIsRests()
    {
        var status = GrpcErrorMapper.Map(VectorizerException.CollectionNotFound("x"))!.Value;
        Assert.Equal(ErrorMapper.Map(VectorizerException.CollectionNotFound("x"))!.Value.Message, status.Detail);
        Assert.Null(GrpcErrorMapper.Map(new InvalidOperationException()));
    }
}
