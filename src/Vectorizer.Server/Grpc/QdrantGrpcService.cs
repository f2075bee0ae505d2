using Grpc.Core;
using Vectorizer.Server.Application;
using P = Vectorizer.Server.Grpc.Protos;

namespace Vectorizer.Server.Grpc;

/// <summary>
/// <c>qdrant.Qdrant</c>: the health check, with the same title, version (the Qdrant API served) and commit as REST
/// <c>GET /</c> (see <see cref="ServerInfo"/>).
/// </summary>
public sealed class QdrantGrpcService : P.Qdrant.QdrantBase
{
    public override Task<P.HealthCheckReply> HealthCheck(P.HealthCheckRequest request, ServerCallContext context)
    {
        var reply = new P.HealthCheckReply { Title = ServerInfo.Title, Version = ServerInfo.QdrantVersion };
        if (ServerInfo.Commit is { } commit)
        {
            reply.Commit = commit;
        }

        return Task.FromResult(reply);
    }
}

/// <summary><c>qdrant.Snapshots</c>: snapshots are not built yet (issue 12); every rpc says so.</summary>
public sealed class SnapshotsGrpcService : P.Snapshots.SnapshotsBase
{
    private static RpcException NotYet(string rpc) =>
        new(new Status(StatusCode.Unimplemented, $"qdrant.Snapshots/{rpc}: snapshots are not supported by this version of Vectorizer yet"));

    public override Task<P.CreateSnapshotResponse> Create(P.CreateSnapshotRequest request, ServerCallContext context) => throw NotYet("Create");

    public override Task<P.ListSnapshotsResponse> List(P.ListSnapshotsRequest request, ServerCallContext context) => throw NotYet("List");

    public override Task<P.DeleteSnapshotResponse> Delete(P.DeleteSnapshotRequest request, ServerCallContext context) => throw NotYet("Delete");

    public override Task<P.CreateSnapshotResponse> CreateFull(P.CreateFullSnapshotRequest request, ServerCallContext context) => throw NotYet("CreateFull");

    public override Task<P.ListSnapshotsResponse> ListFull(P.ListFullSnapshotsRequest request, ServerCallContext context) => throw NotYet("ListFull");

    public override Task<P.DeleteSnapshotResponse> DeleteFull(P.DeleteFullSnapshotRequest request, ServerCallContext context) => throw NotYet("DeleteFull");
}
