using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Vectorizer.Server.Replication.Leadership;

/// <summary>Who this node is to its peers: what it publishes in etcd.</summary>
/// <param name="NodeId">Unique in the cluster.</param>
/// <param name="HttpAddress">Its REST URL (clients, forwarded writes).</param>
/// <param name="ReplicationAddress">Its replication endpoint (<c>host:port</c>), what a replica of it connects to.</param>
public sealed record LeadershipIdentity(string NodeId, string HttpAddress, string ReplicationAddress);

/// <summary>What one node publishes under <c>PREFIX/nodes/ID</c> (held with its lease: gone when the node is).</summary>
public sealed record NodeRecord(
    [property: JsonPropertyName("node_id")] string NodeId,
    [property: JsonPropertyName("http_address")] string HttpAddress,
    [property: JsonPropertyName("replication_address")] string ReplicationAddress,
    [property: JsonPropertyName("epoch")] long Epoch,
    [property: JsonPropertyName("acknowledged")] long Acknowledged);

/// <summary>The leadership as this node last saw it.</summary>
/// <param name="LeaderNodeId">The master's node id, or null while none is elected.</param>
/// <param name="LeaderHttpAddress">The master's REST URL, or null.</param>
/// <param name="Epoch">The leader key's create revision in etcd (0 while none).</param>
/// <param name="IsLeader">This node holds the leader key with a live lease.</param>
/// <param name="LeaseValid">This node's lease is confirmed alive (keep-alives answered within the TTL).</param>
/// <param name="EtcdReachable">The last round trip to etcd succeeded.</param>
public sealed record LeadershipView(string? LeaderNodeId, string? LeaderHttpAddress, long Epoch, bool IsLeader, bool LeaseValid, bool EtcdReachable);

/// <summary>The last leadership decision this node took part in: when, what came of it, at which epoch.</summary>
/// <param name="At">When this node saw or made it.</param>
/// <param name="Outcome"><c>elected</c>, <c>following</c>, <c>claim_lost</c>, <c>fenced</c>, <c>released</c> or <c>no_master</c>.</param>
/// <param name="Epoch">The epoch it concerns (0: none).</param>
/// <param name="Detail">A sentence for the operator.</param>
public sealed record LeadershipEvent(DateTimeOffset At, string Outcome, long Epoch, string Detail);

/// <summary>
/// Leadership of a <c>role: auto</c> cluster, decided in etcd (see docs/failover.md).
/// <list type="bullet">
/// <item>Each node holds a lease of <c>lease_ttl_secs</c>, kept alive over etcd's keep-alive stream, and publishes
/// its id, addresses, epoch and acknowledged position under <c>PREFIX/nodes/ID</c> with that lease.</item>
/// <item>The master holds <c>PREFIX/leader</c> with its lease, created by a transaction that succeeds only when the
/// key does not exist (<c>create_revision == 0</c>). The epoch is that key's create revision: etcd's revisions only
/// grow, so every leadership change has a larger epoch than all before it.</item>
/// <item>When the leader key goes (the master's lease lapsed: dead, or cut off from etcd), the candidates wait until
/// every live peer has republished its position after the loss, and only the one with the highest
/// (epoch, acknowledged position) — ties to the smallest node id — claims the key: the node holding every write
/// acknowledged at <c>write_concern: majority</c> wins.</item>
/// <item>A master stops accepting writes as soon as it cannot prove its lease alive: when no keep-alive sent in the
/// last TTL (less a safety margin) has been answered — before etcd can expire the lease and elect another. It rejoins
/// as a replica once it sees the new leader. A leader key of an older epoch than one already seen is never obeyed.</item>
/// </list>
/// </summary>
public sealed class EtcdLeadership : IAsyncDisposable
{
    private static readonly JsonSerializerOptions Json = new();

    private EtcdClient client;
    private int failedRounds;
    private readonly IReplicationControl control;
    private readonly LeadershipIdentity identity;
    private readonly EtcdSection options;
    private readonly ILogger logger;
    private readonly string leaderKey;
    private readonly string nodesPrefix;
    private readonly TimeSpan ttl;
    private readonly TimeSpan tick;
    private readonly TimeSpan callTimeout;
    private readonly SemaphoreSlim transitions = new(1, 1);
    private readonly Stopwatch clock = Stopwatch.StartNew();

    // The lease: its id, and until when it is proven alive (clock ticks: the send time of the newest answered
    // keep-alive or grant, plus the TTL, less a margin). Zero: no lease.
    private long leaseId;
    private long leaseValidUntil;
    private CancellationTokenSource? keepAlive;

    private volatile bool resigned;
    private long highestEpochSeen;
    private long leaderGoneAtRevision;
    private long leaderGoneAtTicks;
    private bool fallbackLogged;
    private volatile LeadershipView view = new(null, null, 0, false, false, false);
    private volatile LeadershipEvent? lastElection;
    private DateTime lastErrorLog = DateTime.MinValue;
    private DateTime lastUnexpectedLog = DateTime.MinValue;

    public EtcdLeadership(EtcdSection options, LeadershipIdentity identity, IReplicationControl control, ILogger logger)
    {
        this.options = options;
        this.identity = identity;
        this.control = control;
        this.logger = logger;
        var prefix = options.Prefix.TrimEnd('/');
        leaderKey = prefix + "/leader";
        nodesPrefix = prefix + "/nodes/";
        ttl = TimeSpan.FromSeconds(options.LeaseTtlSecs);
        tick = TimeSpan.FromMilliseconds(Math.Clamp(options.LeaseTtlSecs * 100, 100, 1000));
        callTimeout = TimeSpan.FromMilliseconds(Math.Clamp(options.LeaseTtlSecs * 300, 500, 3000));
        client = new EtcdClient(string.Join(',', options.Endpoints));
    }

    /// <summary>The leadership as last seen (for status).</summary>
    public LeadershipView View => view;

    /// <summary>etcd's client URLs (for status).</summary>
    public IReadOnlyList<string> Endpoints => options.Endpoints;

    /// <summary>The key the master holds; its create revision is the epoch.</summary>
    public string LeaderKey => leaderKey;

    /// <summary>This node's lease (0 while it holds none).</summary>
    public long LeaseId => Interlocked.Read(ref leaseId);

    public int LeaseTtlSecs => options.LeaseTtlSecs;

    /// <summary>Whether this node's lease is proven alive right now.</summary>
    public bool LeaseAlive => LeaseValid;

    /// <summary>The last election outcome this node saw or made (null before any).</summary>
    public LeadershipEvent? LastElection => lastElection;

    private bool LeaseValid => Interlocked.Read(ref leaseId) != 0 && clock.ElapsedTicks < Interlocked.Read(ref leaseValidUntil);

    /// <summary>Runs until <paramref name="stopping"/>: campaigns, follows, fences. Never throws but for cancellation.</summary>
    public async Task RunAsync(CancellationToken stopping)
    {
        using var fence = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        var fencing = FenceLoopAsync(fence.Token);
        try
        {
            while (!stopping.IsCancellationRequested)
            {
                try
                {
                    await RoundAsync(stopping).ConfigureAwait(false);
                    failedRounds = 0;
                }
                catch (Exception) when (stopping.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e) when (e is RpcException or OperationCanceledException or InvalidOperationException or JsonException)
                {
                    view = view with { EtcdReachable = false, IsLeader = false };
                    LogThrottled(e);
                    if (++failedRounds % 3 == 0)
                    {
                        // A channel that lived through a partition can stay wedged (a connection that black-holes,
                        // a subchannel in back-off): start a fresh one. The lease, if still alive, is kept.
                        var old = client;
                        client = new EtcdClient(string.Join(',', options.Endpoints));
                        old.Dispose();
                    }
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    // Anything else (a transition the replication engine refused, an I/O error saving its state) ends
                    // this round only. The loop must never die while the keep-alive goes on: the node's record would
                    // stay in etcd, never republished, and every peer would wait for it (see docs/failover.md).
                    LogUnexpectedThrottled(e);
                }

                await Task.Delay(tick, stopping).ConfigureAwait(false);
            }
        }
        finally
        {
            // Whatever ends the loop ends the keep-alive with it: a lease outliving its loop would hold this node's
            // record (and the leader key) in etcd with nobody acting on them. A graceful stop has revoked it already.
            try
            {
                if (keepAlive is { } renewing)
                {
                    await renewing.CancelAsync().ConfigureAwait(false);
                }
            }
            catch (ObjectDisposedException)
            {
                // disposed (and so cancelled) already
            }

            await fence.CancelAsync().ConfigureAwait(false);
            try
            {
                await fencing.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    /// <summary>
    /// Graceful exit: stop taking writes (if master), then revoke the lease so the peers elect at once rather than
    /// after the TTL.
    /// </summary>
    public async Task ResignAsync(CancellationToken cancellationToken)
    {
        resigned = true; // no more rounds: neither a new lease nor a campaign
        await transitions.WaitAsync(cancellationToken).ConfigureAwait(false);
        transitions.Release(); // a transition under way has finished
        if (control.Role == ReplicationRole.Master)
        {
            await control.StopAcceptingWritesAsync(cancellationToken).ConfigureAwait(false);
        }

        var lease = Interlocked.Exchange(ref leaseId, 0);
        keepAlive?.Cancel();
        if (lease != 0)
        {
            try
            {
                await client.LeaseRevokeAsync(new LeaseRevokeRequest { ID = lease }, deadline: Deadline(), cancellationToken: cancellationToken).ConfigureAwait(false);
                logger.LogInformation("Leadership: lease revoked on shutdown");
            }
            catch (RpcException e)
            {
                logger.LogWarning("Leadership: could not revoke the lease on shutdown ({Status}); the peers elect after it lapses", e.StatusCode);
            }
        }
    }

    /// <summary>One round: lease, publish, read, decide.</summary>
    private async Task RoundAsync(CancellationToken stopping)
    {
        if (resigned)
        {
            return;
        }

        if (!LeaseValid)
        {
            await GrantLeaseAsync(stopping).ConfigureAwait(false);
        }

        var lease = Interlocked.Read(ref leaseId);
        var me = new NodeRecord(identity.NodeId, identity.HttpAddress, identity.ReplicationAddress, control.Epoch, control.AcknowledgedPosition);
        await client.PutAsync(new PutRequest { Key = Bytes(nodesPrefix + identity.NodeId), Value = ByteString.CopyFrom(JsonSerializer.SerializeToUtf8Bytes(me, Json)), Lease = lease },
            deadline: Deadline(), cancellationToken: stopping).ConfigureAwait(false);

        var prefix = options.Prefix.TrimEnd('/') + "/";
        var range = await client.GetAsync(new RangeRequest { Key = Bytes(prefix), RangeEnd = ByteString.CopyFromUtf8(EtcdClient.GetRangeEnd(prefix)) },
            deadline: Deadline(), cancellationToken: stopping).ConfigureAwait(false);
        var leader = range.Kvs.FirstOrDefault(kv => kv.Key.ToStringUtf8() == leaderKey);
        var peers = range.Kvs.Where(kv => kv.Key.ToStringUtf8().StartsWith(nodesPrefix, StringComparison.Ordinal))
            .Select(kv => (Record: JsonSerializer.Deserialize<NodeRecord>(kv.Value.Span, Json), kv.ModRevision))
            .Where(p => p.Record is not null && p.Record.NodeId != identity.NodeId)
            .Select(p => (Record: p.Record!, p.ModRevision))
            .ToList();

        if (leader is not null)
        {
            leaderGoneAtRevision = 0;
            await OnLeaderAsync(leader, lease, stopping).ConfigureAwait(false);
            return;
        }

        // No leader. A master whose key is gone is no master: fence at once (the fence loop normally did already).
        if (control.Role == ReplicationRole.Master)
        {
            await FenceAsync("the leader key is gone", stopping).ConfigureAwait(false);
        }

        view = new LeadershipView(null, null, 0, false, LeaseValid, true);
        if (leaderGoneAtRevision == 0)
        {
            // First sight of the loss: let every peer republish its final position before anyone compares.
            leaderGoneAtRevision = range.Header.Revision;
            leaderGoneAtTicks = clock.ElapsedTicks;
            fallbackLogged = false;
            logger.LogInformation("Leadership: no master (etcd revision {Revision}); electing the node with the highest acknowledged position", range.Header.Revision);
            Record("no_master", 0, $"no leader key at etcd revision {range.Header.Revision}: election under way");
            return;
        }

        var stale = peers.Where(p => p.ModRevision <= leaderGoneAtRevision).Select(p => p.Record.NodeId).ToList();
        if (stale.Count > 0)
        {
            // A live peer has not republished since the loss. A healthy one does within a round or two; one whose lease
            // is kept alive while it does not (a wedged node) must not stall the election for ever: after a TTL of
            // waiting, the election goes on among the peers that did republish, and this node.
            if (clock.ElapsedTicks - leaderGoneAtTicks < ttl.TotalSeconds * Stopwatch.Frequency)
            {
                return;
            }

            if (!fallbackLogged)
            {
                fallbackLogged = true;
                logger.LogWarning("Leadership: {Stale} did not republish within {Ttl} s of the loss; electing among the nodes that did", string.Join(", ", stale), options.LeaseTtlSecs);
            }

            peers = peers.Where(p => p.ModRevision > leaderGoneAtRevision).ToList();
        }

        var best = peers.Select(p => p.Record).Append(me)
            .OrderByDescending(r => r.Epoch).ThenByDescending(r => r.Acknowledged).ThenBy(r => r.NodeId, StringComparer.Ordinal)
            .First();
        if (best.NodeId != identity.NodeId)
        {
            return; // defer to a peer with more of the log
        }

        if (!LeaseValid)
        {
            return;
        }

        var claim = new TxnRequest();
        claim.Compare.Add(new Compare { Key = Bytes(leaderKey), Target = Compare.Types.CompareTarget.Create, Result = Compare.Types.CompareResult.Equal, CreateRevision = 0 });
        claim.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = Bytes(leaderKey), Value = ByteString.CopyFrom(JsonSerializer.SerializeToUtf8Bytes(me, Json)), Lease = lease } });
        var result = await client.TransactionAsync(claim, deadline: Deadline(), cancellationToken: stopping).ConfigureAwait(false);
        if (result.Succeeded)
        {
            var epoch = result.Header.Revision; // the put's revision: the key's create revision
            logger.LogInformation("Leadership: elected master at epoch {Epoch} (acknowledged position {Position})", epoch, me.Acknowledged);
            Record("elected", epoch, $"this node claimed the leader key at acknowledged position {me.Acknowledged}");
            await BecomeMasterAsync(epoch, stopping).ConfigureAwait(false);
        }
        else
        {
            Record("claim_lost", 0, "another node created the leader key first");
        }
    }

    private async Task OnLeaderAsync(Mvccpb.KeyValue leader, long lease, CancellationToken stopping)
    {
        var epoch = leader.CreateRevision;
        var record = JsonSerializer.Deserialize<NodeRecord>(leader.Value.Span, Json)
            ?? throw new JsonException("the leader key holds no node record");
        if (epoch < highestEpochSeen)
        {
            logger.LogWarning("Leadership: ignoring a leader key of epoch {Epoch}, older than epoch {Seen} already seen", epoch, highestEpochSeen);
            return;
        }

        highestEpochSeen = epoch;
        if (leader.Lease == lease && lease != 0)
        {
            if (control.Role != ReplicationRole.Master && control.Epoch >= epoch)
            {
                // This node led this epoch and fenced itself (its lease could not be proven alive for a moment), and
                // the lease then turned out alive after all. The engine does not go back to leading an epoch it
                // left, so the key is released for a fresh election (a new epoch) instead of being held by a node
                // that will not take writes under it.
                await ReleaseLeaderKeyAsync(epoch, stopping).ConfigureAwait(false);
                return;
            }

            view = new LeadershipView(identity.NodeId, identity.HttpAddress, epoch, true, LeaseValid, true);
            if (!(control.Role == ReplicationRole.Master && control.Epoch == epoch))
            {
                await BecomeMasterAsync(epoch, stopping).ConfigureAwait(false);
            }

            return;
        }

        view = new LeadershipView(record.NodeId, record.HttpAddress, epoch, false, LeaseValid, true);
        if (record.NodeId == identity.NodeId)
        {
            // Our own key from a lease we no longer hold (an earlier life of this node): neither lead nor follow it;
            // it lapses within the TTL and the election runs.
            if (control.Role == ReplicationRole.Master)
            {
                await FenceAsync("the leader key belongs to a lease this node lost", stopping).ConfigureAwait(false);
            }

            return;
        }

        if (control.Role == ReplicationRole.Replica && control.Epoch == epoch && control.MasterAddress == record.ReplicationAddress)
        {
            return;
        }

        if (epoch < control.Epoch)
        {
            logger.LogWarning("Leadership: {Leader} leads epoch {Epoch}, older than this node's epoch {Own}: not followed", record.NodeId, epoch, control.Epoch);
            return;
        }

        await transitions.WaitAsync(stopping).ConfigureAwait(false);
        try
        {
            logger.LogInformation("Leadership: following {Leader} ({Address}) at epoch {Epoch}", record.NodeId, record.ReplicationAddress, epoch);
            await control.BecomeReplicaAsync(record.ReplicationAddress, epoch, stopping).ConfigureAwait(false);
            Record("following", epoch, $"{record.NodeId} leads; this node replicates from {record.ReplicationAddress}");
        }
        finally
        {
            transitions.Release();
        }
    }

    /// <summary>Deletes the leader key of <paramref name="epoch"/> if it is still that one (a later key is left alone).</summary>
    private async Task ReleaseLeaderKeyAsync(long epoch, CancellationToken stopping)
    {
        var release = new TxnRequest();
        release.Compare.Add(new Compare { Key = Bytes(leaderKey), Target = Compare.Types.CompareTarget.Create, Result = Compare.Types.CompareResult.Equal, CreateRevision = epoch });
        release.Success.Add(new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = Bytes(leaderKey) } });
        var result = await client.TransactionAsync(release, deadline: Deadline(), cancellationToken: stopping).ConfigureAwait(false);
        view = new LeadershipView(null, null, 0, false, LeaseValid, true);
        if (result.Succeeded)
        {
            logger.LogWarning("Leadership: released the leader key of epoch {Epoch}: this node fenced itself in that epoch; electing again", epoch);
            Record("released", epoch, "this node fenced itself in this epoch and released the leader key for a new election");
        }
    }

    private async Task BecomeMasterAsync(long epoch, CancellationToken stopping)
    {
        await transitions.WaitAsync(stopping).ConfigureAwait(false);
        try
        {
            if (!LeaseValid)
            {
                return; // lost it meanwhile: the next round sorts it out
            }

            await control.BecomeMasterAsync(epoch, stopping).ConfigureAwait(false);
            view = new LeadershipView(identity.NodeId, identity.HttpAddress, epoch, true, true, true);
        }
        finally
        {
            transitions.Release();
        }
    }

    private async Task FenceAsync(string why, CancellationToken stopping)
    {
        await transitions.WaitAsync(stopping).ConfigureAwait(false);
        try
        {
            if (control.Role == ReplicationRole.Master)
            {
                logger.LogWarning("Leadership: {Why}: this node stops accepting writes", why);
                await control.StopAcceptingWritesAsync(stopping).ConfigureAwait(false);
                Record("fenced", control.Epoch, why);
            }
        }
        finally
        {
            transitions.Release();
        }

        view = view with { IsLeader = false };
    }

    /// <summary>Fences a master the moment its lease can no longer be proven alive (checked every 50 ms).</summary>
    private async Task FenceLoopAsync(CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            await Task.Delay(50, stopping).ConfigureAwait(false);
            if (control.Role == ReplicationRole.Master && !LeaseValid)
            {
                try
                {
                    await FenceAsync("the etcd lease could not be kept alive", stopping).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogThrottled(e);
                }
            }
        }
    }

    private async Task GrantLeaseAsync(CancellationToken stopping)
    {
        if (keepAlive is not null)
        {
            await keepAlive.CancelAsync().ConfigureAwait(false);
            keepAlive.Dispose();
            keepAlive = null;
        }

        Interlocked.Exchange(ref leaseId, 0);
        var sent = clock.ElapsedTicks;
        var grant = await client.LeaseGrantAsync(new LeaseGrantRequest { TTL = options.LeaseTtlSecs }, deadline: Deadline(), cancellationToken: stopping).ConfigureAwait(false);
        if (grant.Error is { Length: > 0 } error)
        {
            throw new InvalidOperationException("etcd refused a lease: " + error);
        }

        Confirm(sent);
        Interlocked.Exchange(ref leaseId, grant.ID);
        keepAlive = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        _ = KeepAliveAsync(grant.ID, keepAlive.Token);
        logger.LogInformation("Leadership: lease {Lease:x} granted ({Ttl} s)", grant.ID, options.LeaseTtlSecs);
    }

    /// <summary>
    /// Keeps <paramref name="lease"/> alive over etcd's keep-alive stream, a request every third of the TTL; each
    /// answer proves the lease alive until the answered request's send time plus the TTL (less a margin).
    /// Reconnects when the stream breaks; ends when the lease expired or is replaced.
    /// </summary>
    private async Task KeepAliveAsync(long lease, CancellationToken cancellationToken)
    {
        var every = ttl / 3;
        while (!cancellationToken.IsCancellationRequested && Interlocked.Read(ref leaseId) == lease)
        {
            try
            {
                using var call = client.GetConnection().LeaseClient.LeaseKeepAlive(cancellationToken: cancellationToken);
                var sendTimes = new Queue<long>();
                var reader = Task.Run(
                    async () =>
                    {
                        while (await call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false))
                        {
                            long sent;
                            lock (sendTimes)
                            {
                                sent = sendTimes.Count > 0 ? sendTimes.Dequeue() : 0;
                            }

                            if (call.ResponseStream.Current.TTL <= 0)
                            {
                                Interlocked.Exchange(ref leaseValidUntil, 0);
                                logger.LogWarning("Leadership: etcd says lease {Lease:x} has expired", lease);
                                return;
                            }

                            if (sent != 0)
                            {
                                Confirm(sent);
                            }
                        }
                    },
                    cancellationToken);
                while (!reader.IsCompleted && !cancellationToken.IsCancellationRequested)
                {
                    lock (sendTimes)
                    {
                        sendTimes.Enqueue(clock.ElapsedTicks);
                    }

                    await call.RequestStream.WriteAsync(new LeaseKeepAliveRequest { ID = lease }, cancellationToken).ConfigureAwait(false);
                    await Task.WhenAny(reader, Task.Delay(every, cancellationToken)).ConfigureAwait(false);
                }

                await reader.ConfigureAwait(false);
                if (!LeaseValid)
                {
                    return; // expired: the main loop grants a new one
                }
            }
            catch (Exception e) when (e is RpcException or IOException or InvalidOperationException && !cancellationToken.IsCancellationRequested)
            {
                LogThrottled(e);
                await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>A keep-alive (or grant) sent at <paramref name="sentTicks"/> was answered: the lease lives until then + TTL.</summary>
    private void Confirm(long sentTicks)
    {
        // Fence a little before etcd could expire the lease: a tenth of the TTL, at least 200 ms.
        var margin = TimeSpan.FromMilliseconds(Math.Max(200, ttl.TotalMilliseconds / 10));
        var until = sentTicks + (long)((ttl - margin).TotalSeconds * Stopwatch.Frequency);
        long current;
        do
        {
            current = Interlocked.Read(ref leaseValidUntil);
            if (until <= current)
            {
                return;
            }
        }
        while (Interlocked.CompareExchange(ref leaseValidUntil, until, current) != current);
    }

    private DateTime Deadline() => DateTime.UtcNow + callTimeout;

    private void Record(string outcome, long epoch, string detail) => lastElection = new LeadershipEvent(DateTimeOffset.UtcNow, outcome, epoch, detail);

    private static ByteString Bytes(string key) => ByteString.CopyFromUtf8(key);

    private void LogThrottled(Exception e)
    {
        if (DateTime.UtcNow - lastErrorLog < TimeSpan.FromSeconds(5))
        {
            return;
        }

        lastErrorLog = DateTime.UtcNow;
        var message = e is RpcException rpc ? $"{rpc.StatusCode}: {rpc.Status.Detail}" : e.Message;
        logger.LogWarning("Leadership: etcd round failed ({Message}); retrying", message);
    }

    private void LogUnexpectedThrottled(Exception e)
    {
        if (DateTime.UtcNow - lastUnexpectedLog < TimeSpan.FromSeconds(5))
        {
            return;
        }

        lastUnexpectedLog = DateTime.UtcNow;
        logger.LogWarning("Leadership: round failed ({Type}: {Message}); retrying", e.GetType().Name, e.Message);
    }

    public async ValueTask DisposeAsync()
    {
        if (keepAlive is not null)
        {
            await keepAlive.CancelAsync().ConfigureAwait(false);
            keepAlive.Dispose();
        }

        client.Dispose();
        transitions.Dispose();
    }
}
