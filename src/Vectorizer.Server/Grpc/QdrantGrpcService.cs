using System.Diagnostics;
using Google.Protobuf.WellKnownTypes;
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

/// <summary>
/// <c>qdrant.Snapshots</c>: Qdrant's snapshot API over <see cref="BackupsService"/>, the same methods as REST's
/// <c>/collections/{c}/snapshots</c> and <c>/snapshots</c> (manage access, checked there too).
/// </summary>
public sealed class SnapshotsGrpcService(BackupsService backups) : P.Snapshots.SnapshotsBase
{
    public override async Task<P.CreateSnapshotResponse> Create(P.CreateSnapshotRequest request, ServerCallContext context)
    {
        var start = Stopwatch.GetTimestamp();
        var created = await backups.CreateSnapshotAsync(context.Call(), request.CollectionName, context.CancellationToken).ConfigureAwait(false);
        return new P.CreateSnapshotResponse { SnapshotDescription = Describe(created), Time = CollectionsGrpcService.Seconds(start) };
    }

    public override Task<P.ListSnapshotsResponse> List(P.ListSnapshotsRequest request, ServerCallContext context) =>
        Task.FromResult(ListCore(context, request.CollectionName));

    public override async Task<P.DeleteSnapshotResponse> Delete(P.DeleteSnapshotRequest request, ServerCallContext context)
    {
        var start = Stopwatch.GetTimestamp();
        await backups.DeleteSnapshotAsync(context.Call(), request.CollectionName, request.SnapshotName, context.CancellationToken).ConfigureAwait(false);
        return new P.DeleteSnapshotResponse { Time = CollectionsGrpcService.Seconds(start) };
    }

    public override async Task<P.CreateSnapshotResponse> CreateFull(P.CreateFullSnapshotRequest request, ServerCallContext context)
    {
        var start = Stopwatch.GetTimestamp();
        var created = await backups.CreateSnapshotAsync(context.Call(), null, context.CancellationToken).ConfigureAwait(false);
        return new P.CreateSnapshotResponse { SnapshotDescription = Describe(created), Time = CollectionsGrpcService.Seconds(start) };
    }

    public override Task<P.ListSnapshotsResponse> ListFull(P.ListFullSnapshotsRequest request, ServerCallContext context) =>
        Task.FromResult(ListCore(context, null));

    public override async Task<P.DeleteSnapshotResponse> DeleteFull(P.DeleteFullSnapshotRequest request, ServerCallContext context)
    {
        var start = Stopwatch.GetTimestamp();
        await backups.DeleteSnapshotAsync(context.Call(), null, request.SnapshotName, context.CancellationToken).ConfigureAwait(false);
        return new P.DeleteSnapshotResponse { Time = CollectionsGrpcService.Seconds(start) };
    }

    private P.ListSnapshotsResponse ListCore(ServerCallContext context, string? collection)
    {
        var start = Stopwatch.GetTimestamp();
        var response = new P.ListSnapshotsResponse();
        foreach (var snapshot in backups.ListSnapshots(context.Call(), collection))
        {
            response.SnapshotDescriptions.Add(Describe(snapshot));
        }

        response.Time = CollectionsGrpcService.Seconds(start);
        return response;
    }

    /// <summary>Qdrant's <c>SnapshotDescription</c>, as REST writes it (name, creation time, size, SHA-256 checksum).</summary>
    private static P.SnapshotDescription Describe(BackupDescription snapshot)
    {
        var description = new P.SnapshotDescription
        {
            Name = snapshot.Name,
            CreationTime = Timestamp.FromDateTimeOffset(snapshot.CreatedAt),
            Size = snapshot.Size,
        };
        if (snapshot.Sha256 is { } checksum)
        {
            description.Checksum = checksum;
        }

        return description;
    }
}
