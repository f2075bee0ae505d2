namespace Vectorizer.Server.Replication;

/// <summary>What a node is in its replication group.</summary>
public enum ReplicationRole
{
    /// <summary>Replication is off (a single node).</summary>
    Standalone,

    /// <summary>Takes writes, ships its change feed to replicas.</summary>
    Master,

    /// <summary>Applies the master's records; reads are served, writes forwarded or refused.</summary>
    Replica,

    /// <summary>
    /// Neither takes writes nor follows a master: a master that lost its lease (<see cref="IReplicationControl.StopAcceptingWritesAsync"/>)
    /// or a node waiting for leadership to be decided. Reads are served.
    /// </summary>
    Fenced,
}

/// <summary>
/// The node's replication state machine, as a leadership service (etcd, <c>role: auto</c>) or an operator
/// (<c>vectorizer replication promote</c>) drives it. Implemented by <see cref="ReplicationManager"/>; registered as a
/// singleton whenever <c>replication.enabled</c> is true.
/// <para>
/// Epochs: every leadership change has a larger epoch than the one before (etcd: the election key's revision;
/// manual promotion: current epoch + 1). Records carry the epoch their master had; a node refuses records, a master
/// or a transition from an epoch older than its own. A node that becomes a replica of a master whose log does not
/// contain the node's exact (position, epoch) gets a full resync (its unacknowledged tail is discarded).
/// </para>
/// </summary>
public interface IReplicationControl
{
    /// <summary>The current role.</summary>
    ReplicationRole Role { get; }

    /// <summary>The epoch this node is in (0 before any leadership was decided).</summary>
    long Epoch { get; }

    /// <summary>This node's id (<c>cluster.node_id</c>).</summary>
    string NodeId { get; }

    /// <summary>The last change applied and made durable here (a master's own log head; a replica's applied position).</summary>
    long AppliedPosition { get; }

    /// <summary>
    /// Master: the highest position acknowledged by at least one replica. Replica: the same as
    /// <see cref="AppliedPosition"/> (a replica acknowledges only what it made durable). Failover elects the
    /// candidate with the highest value.
    /// </summary>
    long AcknowledgedPosition { get; }

    /// <summary>The master's address a replica follows (the replication endpoint, <c>host:port</c>), or null.</summary>
    string? MasterAddress { get; }

    /// <summary>Raised after every role or epoch change (from the thread that made it).</summary>
    event Action<ReplicationRole, long>? RoleChanged;

    /// <summary>
    /// Become the master at <paramref name="epoch"/> (must be greater than <see cref="Epoch"/>, or equal when the
    /// node already is the master at that epoch): stops following any master, then accepts writes and serves replicas.
    /// </summary>
    Task BecomeMasterAsync(long epoch, CancellationToken cancellationToken);

    /// <summary>
    /// Follow the master at <paramref name="masterAddress"/> (its replication endpoint, <c>host:port</c>) in
    /// <paramref name="epoch"/> (not older than <see cref="Epoch"/>): stops accepting writes and stops serving replicas,
    /// then connects (partial or full resync).
    /// </summary>
    Task BecomeReplicaAsync(string masterAddress, long epoch, CancellationToken cancellationToken);

    /// <summary>
    /// Stop accepting writes now (the leadership lease was lost): the node becomes <see cref="ReplicationRole.Fenced"/>;
    /// writes waiting for acknowledgements fail. Returns once no new write can be accepted.
    /// </summary>
    Task StopAcceptingWritesAsync(CancellationToken cancellationToken);
}
