using System.Threading.Channels;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Errors;
using Vectorizer.Server.Replication.Protocol;

namespace Vectorizer.Server.Replication;

/// <summary>
/// A replica's connection to its master: says where it is (Hello), takes a full resync (each collection's snapshot
/// swapped in, then the aliases) or a partial one, then applies records through the engine — each point operation into
/// its own WAL, fsynced — saves its position, and only then acknowledges. Reconnects every
/// <c>reconnect_interval_secs</c> after a failure.
/// </summary>
public sealed class ReplicaFollower
{
    private const int ChunkQueue = 4096;
    private readonly ReplicationManager node;
    private readonly string masterAddress;
    private readonly ILogger logger;
    private readonly CancellationTokenSource stop = new();
    private Task loop = Task.CompletedTask;
    private bool needFull;

    /// <summary>After a full resync: records up to here may name a collection deleted before its snapshot was taken.</summary>
    private long tolerateMissingUntil = -1;

    public ReplicaFollower(ReplicationManager node, string masterAddress, ILogger logger)
    {
        this.node = node;
        this.masterAddress = masterAddress;
        this.logger = logger;
    }

    public bool Connected { get; private set; }

    public DateTimeOffset? LastHeartbeat { get; private set; }

    /// <summary>The master's head as of its last message (for lag).</summary>
    public long MasterPosition { get; private set; }

    public int FullResyncs { get; private set; }

    public int PartialResyncs { get; private set; }

    public string? LastError { get; private set; }

    /// <summary>Seconds between the newest applied record's commit on the master and its apply here.</summary>
    public double LagSeconds { get; private set; }

    public void Start() => loop = Task.Run(RunAsync);

    public async Task StopAsync()
    {
        await stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task RunAsync()
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await FollowOnceAsync(stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                LastError = e is RpcException rpc ? $"{rpc.StatusCode}: {rpc.Status.Detail}" : e.Message;
                if (e is VectorizerException { Code: ErrorCode.ReplicationDiverged })
                {
                    needFull = true;
                }

                logger.LogWarning("Replication: connection to master {Master} ended: {Error}; retrying in {Seconds}s", masterAddress, LastError, node.Options.ReconnectIntervalSecs);
            }
            finally
            {
                Connected = false;
            }

            try
            {
                await Task.Delay(TimeSpan.FromSeconds(node.Options.ReconnectIntervalSecs), stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    private async Task FollowOnceAsync(CancellationToken cancellationToken)
    {
        using var channel = GrpcChannel.ForAddress("http://" + masterAddress, new GrpcChannelOptions
        {
            MaxReceiveMessageSize = null,
            HttpHandler = new SocketsHttpHandler
            {
                EnableMultipleHttp2Connections = true,
                KeepAlivePingDelay = TimeSpan.FromSeconds(node.Options.HeartbeatIntervalSecs),
                KeepAlivePingTimeout = TimeSpan.FromSeconds(node.Options.ReplicaTimeoutSecs),
                ConnectTimeout = TimeSpan.FromSeconds(node.Options.ReplicaTimeoutSecs),
            },
        });
        var client = new Protocol.Replication.ReplicationClient(channel);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var call = client.Sync(ReplicationAuth.Credentials(node.Options), cancellationToken: linked.Token);
        var (position, positionEpoch) = node.Log.HeadAndEpoch();
        await call.RequestStream.WriteAsync(new ReplicaMessage
        {
            Hello = new Hello
            {
                NodeId = node.NodeId,
                Epoch = needFull ? -1 : positionEpoch,
                Position = needFull ? -1 : position,
                AdvertiseAddress = node.AdvertiseAddress,
            },
        }, cancellationToken).ConfigureAwait(false);

        var responses = call.ResponseStream;
        if (!await responses.MoveNext(cancellationToken).ConfigureAwait(false) || responses.Current.KindCase != MasterMessage.KindOneofCase.Start)
        {
            throw new InvalidOperationException("the master did not start the stream");
        }

        var start = responses.Current.Start;
        if (start.Epoch < node.Epoch)
        {
            throw new InvalidOperationException($"the master at {masterAddress} is in epoch {start.Epoch}, older than this node's {node.Epoch}; refusing it");
        }

        node.AdoptEpoch(start.Epoch);
        node.MasterNodeId = start.MasterNodeId;
        node.MasterAdvertiseAddress = start.MasterAdvertiseAddress.Length > 0 ? start.MasterAdvertiseAddress : null;
        node.MasterGrpcAddress = start.MasterGrpcAddress.Length > 0 ? start.MasterGrpcAddress : null;
        Connected = true;
        LastError = null;
        if (start.Full)
        {
            logger.LogInformation("Replication: full resync from {Master} at position {Position} (epoch {Epoch})", masterAddress, start.Position, start.Epoch);
            await ReceiveSnapshotAsync(responses, cancellationToken).ConfigureAwait(false);
            node.Log.Reset(start.Position, start.PositionEpoch);
            node.Persist();
            needFull = false;
            FullResyncs++;
            Interlocked.Increment(ref node.Counters.FullResyncsReceivedCount);
        }
        else
        {
            logger.LogInformation("Replication: partial resync from {Master} after position {Position}", masterAddress, start.Position);
            PartialResyncs++;
            Interlocked.Increment(ref node.Counters.PartialResyncsReceivedCount);
        }

        await call.RequestStream.WriteAsync(new ReplicaMessage { Ack = new Ack { Position = node.Log.Head, Epoch = node.Epoch } }, cancellationToken).ConfigureAwait(false);

        // Records arrive on one task and are applied in batches on this one: one fsync per WAL and one state save cover a batch.
        var queue = Channel.CreateBounded<MasterMessage>(new BoundedChannelOptions(ChunkQueue) { SingleReader = true, SingleWriter = true });
        var reader = Task.Run(async () =>
        {
            try
            {
                while (await responses.MoveNext(linked.Token).ConfigureAwait(false))
                {
                    await queue.Writer.WriteAsync(responses.Current, linked.Token).ConfigureAwait(false);
                }

                queue.Writer.TryComplete(new IOException("the master closed the stream"));
            }
            catch (Exception e)
            {
                queue.Writer.TryComplete(e);
            }
        }, CancellationToken.None);

        try
        {
            var pending = new Dictionary<Collection, long>();
            while (await queue.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var applied = 0;
                Change? newest = null;
                while (applied < 1024 && queue.Reader.TryRead(out var message))
                {
                    switch (message.KindCase)
                    {
                        case MasterMessage.KindOneofCase.Change:
                            await ApplyAsync(message.Change, pending, cancellationToken).ConfigureAwait(false);
                            node.Log.AppendReplicated(message.Change);
                            newest = message.Change;
                            MasterPosition = Math.Max(MasterPosition, message.Change.Position);
                            applied++;
                            break;
                        case MasterMessage.KindOneofCase.Heartbeat:
                            LastHeartbeat = DateTimeOffset.UtcNow;
                            MasterPosition = message.Heartbeat.Position;
                            if (message.Heartbeat.Epoch < node.Epoch)
                            {
                                throw new InvalidOperationException($"the master's epoch {message.Heartbeat.Epoch} is older than this node's {node.Epoch}");
                            }

                            break;
                        default:
                            throw new InvalidOperationException($"unexpected {message.KindCase} in the record stream");
                    }
                }

                foreach (var (collection, lsn) in pending)
                {
                    await collection.WaitDurableAsync(lsn, cancellationToken).ConfigureAwait(false);
                }

                pending.Clear();
                if (newest is not null)
                {
                    node.Persist();
                    LagSeconds = Math.Max(0, (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - newest.TimestampMs) / 1000.0);
                }

                LastHeartbeat = DateTimeOffset.UtcNow;
                await call.RequestStream.WriteAsync(new ReplicaMessage { Ack = new Ack { Position = node.Log.Head, Epoch = node.Epoch } }, cancellationToken).ConfigureAwait(false);
            }

            await queue.Reader.Completion.ConfigureAwait(false);
        }
        finally
        {
            await linked.CancelAsync().ConfigureAwait(false);
            await reader.ConfigureAwait(false);
        }
    }

    /// <summary>Full resync: every collection's files staged and swapped in, collections the master lacks deleted, aliases replaced.</summary>
    private async Task ReceiveSnapshotAsync(IAsyncStreamReader<MasterMessage> responses, CancellationToken cancellationToken)
    {
        var manager = node.Engine;
        string? staging = null;
        string? collection = null;
        FileStream? file = null;
        string? filePath = null;
        try
        {
            while (await responses.MoveNext(cancellationToken).ConfigureAwait(false))
            {
                var message = responses.Current;
                if (message.KindCase == MasterMessage.KindOneofCase.SnapshotDone)
                {
                    var keep = message.SnapshotDone.Collections.ToHashSet(StringComparer.Ordinal);
                    foreach (var name in manager.List())
                    {
                        if (!keep.Contains(name))
                        {
                            manager.Delete(name);
                        }
                    }

                    manager.ReplaceAliases(message.SnapshotDone.Aliases);
                    tolerateMissingUntil = message.SnapshotDone.ConsistentAfter;
                    return;
                }

                if (message.KindCase != MasterMessage.KindOneofCase.SnapshotChunk)
                {
                    throw new InvalidOperationException($"unexpected {message.KindCase} in a full resync");
                }

                var chunk = message.SnapshotChunk;
                if (collection != chunk.Collection)
                {
                    staging = manager.CreateStagingFolder();
                    collection = chunk.Collection;
                }

                if (file is null || filePath != chunk.Path)
                {
                    var relative = chunk.Path.Replace('\\', '/');
                    if (relative.StartsWith('/') || relative.Split('/').Any(part => part is ".." or "." or ""))
                    {
                        throw new InvalidOperationException($"bad snapshot path `{chunk.Path}`");
                    }

                    var target = Path.Combine(staging!, relative);
                    Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                    file = new FileStream(target, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
                    filePath = chunk.Path;
                }

                await file.WriteAsync(chunk.Data.Memory, cancellationToken).ConfigureAwait(false);
                if (chunk.LastOfFile)
                {
                    file.Flush(flushToDisk: true);
                    await file.DisposeAsync().ConfigureAwait(false);
                    file = null;
                    filePath = null;
                }

                if (chunk.LastOfCollection)
                {
                    SyncDirectories(staging!);
                    manager.SwapIn(collection, staging!, replace: true, []);
                    staging = null;
                    collection = null;
                }
            }

            throw new IOException("the master ended the stream during a full resync");
        }
        finally
        {
            if (file is not null)
            {
                await file.DisposeAsync().ConfigureAwait(false);
            }

            if (staging is not null)
            {
                manager.DiscardStagingFolder(staging);
            }
        }
    }

    private static void SyncDirectories(string root)
    {
        foreach (var directory in Directory.EnumerateDirectories(root, "*", SearchOption.AllDirectories).Append(root))
        {
            Vectorizer.Engine.Storage.FileUtil.SyncDirectory(directory);
        }
    }

    /// <summary>Applies one record; a point operation's fsync is left to the batch (<paramref name="pending"/>).</summary>
    private async ValueTask ApplyAsync(Change change, Dictionary<Collection, long> pending, CancellationToken cancellationToken)
    {
        var manager = node.Engine;
        if (change.Epoch > node.Epoch)
        {
            node.AdoptEpoch(change.Epoch);
        }

        if (change.Position <= tolerateMissingUntil && change.Type is not (ChangeType.CollectionCreated or ChangeType.AliasesChanged or ChangeType.CollectionDeleted) &&
            !(manager.TryGet(change.Collection) is { } present && present.Name == change.Collection))
        {
            return; // the collection was deleted after this record and before its snapshot; the delete follows
        }

        switch (change.Type)
        {
            case ChangeType.Points:
                var target = manager.TryGet(change.Collection) is { } found && found.Name == change.Collection
                    ? found
                    : throw new VectorizerException(ErrorCode.ReplicationDiverged, $"record {change.Position} writes to collection `{change.Collection}`, which this replica does not have");
                if (await target.ApplyReplicatedAsync(change.Lsn, (byte)change.OpKind, change.Body.Memory, wait: false, cancellationToken).ConfigureAwait(false))
                {
                    pending[target] = change.Lsn;
                }

                break;
            case ChangeType.CollectionCreated:
                if (manager.TryGet(change.Collection) is null)
                {
                    manager.Create(change.Collection, CollectionConfigFile.FromUtf8(change.Config.Span));
                }

                break;
            case ChangeType.CollectionDeleted:
                manager.Delete(change.Collection);
                break;
            case ChangeType.ConfigChanged:
                Existing(change).ReplaceConfig(CollectionConfigFile.FromUtf8(change.Config.Span));
                break;
            case ChangeType.VectorCreated:
                var withVector = Existing(change);
                if (!withVector.Config.Vectors.ContainsKey(change.Name) && !withVector.Config.SparseVectors.ContainsKey(change.Name))
                {
                    var config = CollectionConfigFile.FromUtf8(change.Config.Span);
                    withVector.CreateVector(change.Name, config.Vectors.GetValueOrDefault(change.Name), config.SparseVectors.GetValueOrDefault(change.Name));
                }

                break;
            case ChangeType.VectorDeleted:
                var withoutVector = Existing(change);
                if (withoutVector.Config.Vectors.ContainsKey(change.Name) || withoutVector.Config.SparseVectors.ContainsKey(change.Name))
                {
                    withoutVector.DeleteVector(change.Name);
                }

                break;
            case ChangeType.PayloadIndexChanged:
                var indexed = Existing(change);
                if (CollectionConfigFile.FromUtf8(change.Config.Span).PayloadSchema.TryGetValue(change.Name, out var schema))
                {
                    indexed.CreatePayloadIndex(change.Name, schema);
                }
                else
                {
                    indexed.DeletePayloadIndex(change.Name);
                }

                break;
            case ChangeType.AliasesChanged:
                manager.ReplaceAliases(change.Aliases);
                break;
            case ChangeType.CollectionReplaced:
                throw new VectorizerException(ErrorCode.ReplicationDiverged, $"collection `{change.Collection}` was restored on the master; a full resync follows");
            default:
                throw new VectorizerException(ErrorCode.ReplicationDiverged, $"record {change.Position} has an unknown type {change.Type}");
        }
    }

    private Collection Existing(Change change) =>
        node.Engine.TryGet(change.Collection) is { } found && found.Name == change.Collection
            ? found
            : throw new VectorizerException(ErrorCode.ReplicationDiverged, $"record {change.Position} changes collection `{change.Collection}`, which this replica does not have");
}
