using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Vectorizer.Engine.Collections;
using Vectorizer.Server.Replication.Protocol;

namespace Vectorizer.Server.Replication;

/// <summary>
/// The master's end of the replication stream (gRPC bidirectional streaming on <c>replication.bind_address</c>).
/// A replica says where it is; when this node's log holds that exact (position, epoch) the missing records follow
/// (partial resync), otherwise a consistent snapshot of every collection and the aliases, then the records after the
/// position the snapshot was started at (full resync). Records already in a snapshot are skipped by the replica
/// (their collection LSN is not above its own). Heartbeats every <c>heartbeat_interval_secs</c> when idle.
/// </summary>
public sealed class ReplicationStreamService(ReplicationManager node, GrpcAdvertisement grpc, ILoggerFactory loggers) : Protocol.Replication.ReplicationBase
{
    private const int ChunkBytes = 1 << 20;
    private const int BatchRecords = 512;
    private readonly ILogger logger = loggers.CreateLogger("Vectorizer.Replication.Master");

    public override async Task Sync(IAsyncStreamReader<ReplicaMessage> requestStream, IServerStreamWriter<MasterMessage> responseStream, ServerCallContext context)
    {
        ReplicationAuth.Demand(context, node, logger);
        var cancellationToken = context.CancellationToken;
        if (!await requestStream.MoveNext(cancellationToken).ConfigureAwait(false) || requestStream.Current.KindCase != ReplicaMessage.KindOneofCase.Hello)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "the first message must be Hello"));
        }

        var hello = requestStream.Current.Hello;
        if (node.Role != ReplicationRole.Master)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, node.NotMaster("replicas follow the master").Message));
        }

        if (hello.Epoch > node.Epoch)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, $"the replica has seen epoch {hello.Epoch}; this master is in the older epoch {node.Epoch}"));
        }

        var replica = node.Register(hello.NodeId.Length > 0 ? hello.NodeId : context.Peer);
        replica.Peer = context.Peer;
        replica.AdvertiseAddress = hello.AdvertiseAddress;
        replica.Connected = true;
        replica.LastSeen = DateTimeOffset.UtcNow;
        var epoch = node.Epoch;
        try
        {
            long cursor;
            if (hello.Position >= 0 && node.Log.CanContinue(hello.Position, hello.Epoch))
            {
                cursor = hello.Position;
                replica.PartialResyncs++;
                Interlocked.Increment(ref node.Counters.PartialResyncsServedCount);
                node.Acknowledged(replica, hello.Position);
                logger.LogInformation("Replication: {Replica} continues after position {Position} (partial resync)", replica.NodeId, cursor);
                await responseStream.WriteAsync(Start(full: false, cursor, hello.Epoch), cancellationToken).ConfigureAwait(false);
            }
            else
            {
                var (head, headEpoch) = node.Log.HeadAndEpoch();
                cursor = head;
                replica.FullResyncs++;
                Interlocked.Increment(ref node.Counters.FullResyncsServedCount);
                logger.LogInformation("Replication: {Replica} at ({Position}, epoch {Epoch}) is not in the log ({Oldest}..{Head}): full resync at {Head}", replica.NodeId, hello.Position, hello.Epoch, node.Log.Oldest, head, head);
                await responseStream.WriteAsync(Start(full: true, head, headEpoch), cancellationToken).ConfigureAwait(false);
                await SendSnapshotAsync(responseStream, cancellationToken).ConfigureAwait(false);
            }

            var acks = ReadAcksAsync(requestStream, replica, cancellationToken);
            var heartbeat = TimeSpan.FromSeconds(node.Options.HeartbeatIntervalSecs);
            while (!cancellationToken.IsCancellationRequested && !acks.IsCompleted)
            {
                if (node.Role != ReplicationRole.Master || node.Epoch != epoch)
                {
                    throw new RpcException(new Status(StatusCode.Unavailable, "this node is no longer the master of that epoch"));
                }

                var batch = node.Log.ReadAfter(cursor, BatchRecords)
                    ?? throw new RpcException(new Status(StatusCode.DataLoss, $"the replica fell behind the log (position {cursor}, oldest {node.Log.Oldest}); reconnect for a full resync"));
                if (batch.Count == 0)
                {
                    await node.Log.WaitAfterAsync(cursor, heartbeat, cancellationToken).ConfigureAwait(false);
                    if (node.Log.Head == cursor)
                    {
                        await responseStream.WriteAsync(new MasterMessage { Heartbeat = new Heartbeat { Epoch = node.Epoch, Position = cursor, TimestampMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() } }, cancellationToken).ConfigureAwait(false);
                    }

                    continue;
                }

                foreach (var change in batch)
                {
                    await responseStream.WriteAsync(new MasterMessage { Change = change }, cancellationToken).ConfigureAwait(false);
                }

                cursor = batch[^1].Position;
            }

            await acks.ConfigureAwait(false);
        }
        finally
        {
            replica.Connected = false;
            node.PulseAcks();
        }
    }

    private MasterMessage Start(bool full, long position, long positionEpoch) => new()
    {
        Start = new Start
        {
            Full = full,
            Epoch = node.Epoch,
            MasterNodeId = node.NodeId,
            MasterAdvertiseAddress = node.AdvertiseAddress,
            MasterGrpcAddress = grpc.Address ?? "",
            Position = position,
            PositionEpoch = positionEpoch,
        },
    };

    private async Task ReadAcksAsync(IAsyncStreamReader<ReplicaMessage> requestStream, ReplicaInfo replica, CancellationToken cancellationToken)
    {
        try
        {
            while (await requestStream.MoveNext(cancellationToken).ConfigureAwait(false))
            {
                if (requestStream.Current.KindCase == ReplicaMessage.KindOneofCase.Ack)
                {
                    node.Acknowledged(replica, requestStream.Current.Ack.Position);
                }
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or InvalidOperationException or RpcException)
        {
            // The replica went away; the sending loop ends with it.
        }
    }

    /// <summary>
    /// Every collection's <see cref="Collection.CaptureSnapshot"/> files, then the aliases. Each snapshot holds every change
    /// up to the log position taken before it (writes go on meanwhile; later ones arrive as records).
    /// </summary>
    private async Task SendSnapshotAsync(IServerStreamWriter<MasterMessage> responseStream, CancellationToken cancellationToken)
    {
        var manager = node.Engine;
        var sent = new List<string>();
        var buffer = new byte[ChunkBytes];
        foreach (var name in manager.List())
        {
            if (manager.TryGet(name) is not { } collection || collection.Name != name)
            {
                continue;
            }

            CollectionSnapshot snapshot;
            try
            {
                snapshot = collection.CaptureSnapshot();
            }
            catch (Vectorizer.Engine.Errors.VectorizerException e) when (e.Code == Vectorizer.Engine.Errors.ErrorCode.ShuttingDown)
            {
                continue; // deleted meanwhile: its delete is in the records that follow
            }

            using (snapshot)
            {
                for (var i = 0; i < snapshot.Files.Count; i++)
                {
                    var file = snapshot.Files[i];
                    await using var stream = file.OpenRead();
                    var lastFile = i == snapshot.Files.Count - 1;
                    while (true)
                    {
                        var read = await stream.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
                        var end = read < buffer.Length;
                        await responseStream.WriteAsync(new MasterMessage
                        {
                            SnapshotChunk = new SnapshotChunk
                            {
                                Collection = name,
                                Path = file.RelativePath,
                                Data = ByteString.CopyFrom(buffer, 0, read),
                                LastOfFile = end,
                                LastOfCollection = end && lastFile,
                            },
                        }, cancellationToken).ConfigureAwait(false);
                        if (end)
                        {
                            break;
                        }
                    }
                }
            }

            sent.Add(name);
        }

        var done = new SnapshotDone();
        done.Collections.AddRange(sent);
        done.Aliases.Add(manager.AliasMap().ToDictionary(StringComparer.Ordinal));
        done.ConsistentAfter = node.Log.Head;
        await responseStream.WriteAsync(new MasterMessage { SnapshotDone = done }, cancellationToken).ConfigureAwait(false);
    }
}
