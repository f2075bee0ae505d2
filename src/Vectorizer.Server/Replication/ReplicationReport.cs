using Vectorizer.Server.Replication.Leadership;

namespace Vectorizer.Server.Replication;

/// <summary>
/// The node's replication numbers at one instant: what <c>GET /api/replication/status</c> writes and what the
/// replication metrics (<see cref="ReplicationMetrics"/>) report, computed in one place so the two never disagree.
/// </summary>
public sealed record ReplicationReport(
    DateTimeOffset At,
    ReplicationRole Role,
    string NodeId,
    long Epoch,
    string? Master,
    string? MasterAddress,
    string? MasterAdvertiseAddress,
    string? MasterGrpcAddress,
    long AppliedPosition,
    long AppliedEpoch,
    long AcknowledgedPosition,
    long LogOldestPosition,
    string WriteConcern,
    FollowerReport? Follower,
    IReadOnlyList<ReplicaReport> Replicas,
    ReplicationCounters Counters,
    LeadershipReport Leadership)
{
    public string RoleName => Role.ToString().ToLowerInvariant();

    public int ConnectedReplicas => Replicas.Count(r => r.Connected);

    public static ReplicationReport Take(ReplicationManager node)
    {
        var now = DateTimeOffset.UtcNow;
        var (head, headEpoch) = node.Log.HeadAndEpoch();
        FollowerReport? follower = null;
        if (node.Follower is { } f)
        {
            follower = new FollowerReport(f.Connected, f.MasterPosition, Math.Max(0, f.MasterPosition - head), f.LagSeconds, f.LastHeartbeat, f.FullResyncs, f.PartialResyncs, f.LastError);
        }

        var replicas = node.Replicas.OrderBy(r => r.NodeId, StringComparer.Ordinal)
            .Select(r => new ReplicaReport(r.NodeId, r.AdvertiseAddress, r.Connected, r.AckedPosition, Math.Max(0, head - r.AckedPosition), LagSeconds(node, r, head, now), r.LastSeen, r.FullResyncs, r.PartialResyncs))
            .ToList();
        var master = node.Role == ReplicationRole.Master;
        return new ReplicationReport(
            now, node.Role, node.NodeId, node.Epoch, master ? node.NodeId : node.MasterNodeId, node.MasterAddress,
            master ? node.AdvertiseAddress : node.MasterAdvertiseAddress, master ? null : node.MasterGrpcAddress, head, headEpoch, node.AcknowledgedPosition, node.Log.Oldest,
            node.Options.WriteConcern, follower, replicas, node.Counters, LeadershipOf(node));
    }

    private static LeadershipReport LeadershipOf(ReplicationManager node)
    {
        if (node.Options.Role != "auto")
        {
            return new LeadershipReport("static", [], null, 0, 0, false, null, 0, false, false, node.Role == ReplicationRole.Fenced, null);
        }

        if (node.Leadership is not { } etcd)
        {
            // role: auto, the leadership service not created yet (the engine is loading).
            return new LeadershipReport("etcd", [], null, 0, 0, false, null, 0, false, false, node.Role == ReplicationRole.Fenced, null);
        }

        var view = etcd.View;
        return new LeadershipReport(
            "etcd", etcd.Endpoints, etcd.LeaderKey, etcd.LeaseId, etcd.LeaseTtlSecs, etcd.LeaseAlive, view.LeaderNodeId, view.Epoch, view.IsLeader,
            view.EtcdReachable, node.Role == ReplicationRole.Fenced, etcd.LastElection);
    }

    /// <summary>How long the oldest change the replica has not acknowledged has been waiting (0 when caught up; -1 when it left the log).</summary>
    private static double LagSeconds(ReplicationManager node, ReplicaInfo replica, long head, DateTimeOffset now)
    {
        if (replica.AckedPosition >= head)
        {
            return 0;
        }

        var next = node.Log.ReadAfter(replica.AckedPosition, 1);
        return next is [var oldest] ? Math.Max(0, (now.ToUnixTimeMilliseconds() - oldest.TimestampMs) / 1000.0) : -1;
    }
}

/// <summary>A replica's view of its own connection to the master.</summary>
public sealed record FollowerReport(bool Connected, long MasterPosition, long LagOperations, double LagSeconds, DateTimeOffset? LastHeartbeat, int FullResyncs, int PartialResyncs, string? LastError);

/// <summary>A replica as the master sees it.</summary>
public sealed record ReplicaReport(string NodeId, string AdvertiseAddress, bool Connected, long AcknowledgedPosition, long LagOperations, double LagSeconds, DateTimeOffset? LastHeartbeat, int FullResyncs, int PartialResyncs);

/// <summary>How leadership is decided: <c>static</c> (the configured role, or a manual promotion) or <c>etcd</c> (<c>role: auto</c>).</summary>
/// <param name="Mode"><c>static</c> or <c>etcd</c>.</param>
/// <param name="LeaseAlive">This node's lease is proven alive now (keep-alives answered within the TTL).</param>
/// <param name="LeaderNodeId">The master etcd names (the leader key's holder), or null while none.</param>
/// <param name="LeaderEpoch">The leader key's create revision: the epoch of the current leadership (0 while none).</param>
/// <param name="Fenced">This node takes no writes and follows no master (it lost its lease, or waits for an election).</param>
public sealed record LeadershipReport(
    string Mode,
    IReadOnlyList<string> EtcdEndpoints,
    string? LeaderKey,
    long LeaseId,
    int LeaseTtlSecs,
    bool LeaseAlive,
    string? LeaderNodeId,
    long LeaderEpoch,
    bool IsLeader,
    bool EtcdReachable,
    bool Fenced,
    LeadershipEvent? LastElection);
