using System.Collections.Concurrent;
using System.Net;
using Google.Protobuf;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Errors;
using Vectorizer.Server.Configuration;
using Vectorizer.Server.Hosting;
using Vectorizer.Server.Replication.Protocol;

namespace Vectorizer.Server.Replication;

/// <summary>A replica as its master sees it.</summary>
public sealed class ReplicaInfo(string nodeId)
{
    public string NodeId { get; } = nodeId;

    public string Peer { get; set; } = "";

    public string AdvertiseAddress { get; set; } = "";

    public bool Connected { get; set; }

    public long AckedPosition { get; set; }

    public DateTimeOffset? LastAck { get; set; }

    public DateTimeOffset? LastSeen { get; set; }

    public int FullResyncs { get; set; }

    public int PartialResyncs { get; set; }
}

/// <summary>Counts since the process started (monotonic): read by status and metrics alike.</summary>
public sealed class ReplicationCounters
{
    internal long FullResyncsServedCount;
    internal long PartialResyncsServedCount;
    internal long FullResyncsReceivedCount;
    internal long PartialResyncsReceivedCount;
    internal long WriteConcernWaitsCount;
    internal long WriteConcernFailuresCount;
    internal long StreamsRefusedCount;

    /// <summary>Full resyncs this node served to replicas (as master).</summary>
    public long FullResyncsServed => Interlocked.Read(ref FullResyncsServedCount);

    /// <summary>Partial resyncs this node served to replicas (as master).</summary>
    public long PartialResyncsServed => Interlocked.Read(ref PartialResyncsServedCount);

    /// <summary>Full resyncs this node took from a master (as replica).</summary>
    public long FullResyncsReceived => Interlocked.Read(ref FullResyncsReceivedCount);

    /// <summary>Partial resyncs this node took from a master (as replica).</summary>
    public long PartialResyncsReceived => Interlocked.Read(ref PartialResyncsReceivedCount);

    /// <summary>Writes (<c>wait=true</c>) that waited for replica acknowledgements under <c>write_concern</c>.</summary>
    public long WriteConcernWaits => Interlocked.Read(ref WriteConcernWaitsCount);

    /// <summary>Of those, the ones that failed (timeout, or the node stopped being master).</summary>
    public long WriteConcernFailures => Interlocked.Read(ref WriteConcernFailuresCount);

    /// <summary>Replication streams refused for a missing or wrong <c>replication.auth_token</c>.</summary>
    public long StreamsRefused => Interlocked.Read(ref StreamsRefusedCount);
}

/// <summary>
/// The node's replication state (<see cref="IReplicationControl"/>): subscribes to the engine's change feed and
/// numbers every change into the <see cref="ReplicationLog"/> while master; follows a master
/// (<see cref="ReplicaFollower"/>) while replica; waits for write concern; persists <see cref="NodeState"/>.
/// </summary>
public sealed class ReplicationManager : IReplicationControl, IChangeFeed, Application.IWriteGuard, IHostedService, IDisposable
{
    private readonly VectorizerSettings settings;
    private readonly EngineLifetime engine;
    private readonly ILoggerFactory loggerFactory;
    private readonly ILogger logger;
    private readonly SemaphoreSlim transition = new(1, 1);
    private readonly ConcurrentDictionary<string, ReplicaInfo> replicas = new(StringComparer.Ordinal);
    private readonly object ackGate = new();
    private readonly object persistGate = new();
    private TaskCompletionSource ackChanged = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ReplicaFollower? follower;
    private Timer? persistTimer;
    private long epoch;
    private volatile ReplicationRole role = ReplicationRole.Fenced;
    private volatile bool started;

    public ReplicationManager(VectorizerSettings settings, EngineLifetime engine, ILoggerFactory loggerFactory)
    {
        this.settings = settings;
        this.engine = engine;
        this.loggerFactory = loggerFactory;
        logger = loggerFactory.CreateLogger("Vectorizer.Replication");
        NodeId = settings.Cluster.NodeId.Length > 0 ? settings.Cluster.NodeId : $"{Dns.GetHostName()}:{settings.Server.Port}";
        Log = new ReplicationLog(settings.Replication.LogSize, 0, 0);
    }

    public ReplicationSection Options => settings.Replication;

    public string DataDir => engine.Manager.DataDirectory;

    public ReplicationLog Log { get; }

    public CollectionManager Engine => engine.Manager;

    public ReplicationRole Role => role;

    public long Epoch => Interlocked.Read(ref epoch);

    public string NodeId { get; }

    public string AdvertiseAddress => settings.Cluster.AdvertiseAddress;

    public long AppliedPosition => Log.Head;

    public long AcknowledgedPosition => role == ReplicationRole.Master
        ? replicas.Values.Select(r => r.AckedPosition).DefaultIfEmpty(0).Max()
        : Log.Head;

    public string? MasterAddress { get; private set; }

    /// <summary>The master's REST address (from its stream's Start), where a replica forwards writes.</summary>
    public string? MasterAdvertiseAddress { get; internal set; }

    /// <summary>The master's gRPC address (from its stream's Start), where a replica forwards gRPC writes; null: not served or not known.</summary>
    public string? MasterGrpcAddress { get; internal set; }

    /// <summary>The master's node id, as its stream's Start gave it.</summary>
    public string? MasterNodeId { get; internal set; }

    public ReplicaFollower? Follower => follower;

    public IReadOnlyCollection<ReplicaInfo> Replicas => replicas.Values.ToList();

    public bool Started => started;

    /// <summary>Since the process started (monotonic, for status and metrics): resyncs this node served as master and took as replica, write-concern waits and their failures.</summary>
    public ReplicationCounters Counters { get; } = new();

    /// <summary>The etcd leadership of a <c>role: auto</c> node (set when it is created), for status and metrics.</summary>
    public Leadership.EtcdLeadership? Leadership { get; internal set; }

    public event Action<ReplicationRole, long>? RoleChanged;

    // ------------------------------------------------------------------ lifecycle

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var state = NodeState.Read(DataDir);
        Interlocked.Exchange(ref epoch, state?.Epoch ?? 0);
        Log.Reset(state?.Position ?? 0, state?.PositionEpoch ?? 0);
        Engine.ChangeFeed = this;
        if (settings.Replication.Role == "auto")
        {
            // Fenced until the etcd leadership service (Leadership/EtcdLeadership) decides: master or replica of whom.
        }
        else if (settings.Replication.Role == "replica")
        {
            await BecomeReplicaAsync(settings.Replication.MasterAddress, Epoch, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            // A static master starts a new epoch at every start: its log is in memory, so a replica's position from
            // before the restart must not be taken for one in the new log.
            await BecomeMasterAsync(Epoch + 1, cancellationToken).ConfigureAwait(false);
        }

        var every = TimeSpan.FromSeconds(settings.Replication.HeartbeatIntervalSecs);
        persistTimer = new Timer(_ => PersistQuietly(), null, every, every);
        started = true;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        persistTimer?.Dispose();
        if (follower is { } running)
        {
            await running.StopAsync().ConfigureAwait(false);
        }

        PersistQuietly();
    }

    public void Dispose()
    {
        persistTimer?.Dispose();
        transition.Dispose();
    }

    private void PersistQuietly()
    {
        try
        {
            Persist();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
            logger.LogWarning(e, "Could not save the replication state");
        }
    }

    /// <summary>Saves the epoch and the position held (a replica calls it once acknowledged records are durable).</summary>
    internal void Persist()
    {
        // One writer at a time: the timer, the follower and the transitions all save the state, through the same
        // temporary file; two at once would rename it from under each other (an IOException in a transition).
        lock (persistGate)
        {
            var (position, positionEpoch) = Log.HeadAndEpoch();
            new NodeState(NodeState.CurrentFormat, Epoch, position, positionEpoch, role.ToString().ToLowerInvariant()).Write(DataDir);
        }
    }

    // ------------------------------------------------------------------ IReplicationControl

    public async Task BecomeMasterAsync(long newEpoch, CancellationToken cancellationToken)
    {
        await transition.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (newEpoch < Epoch || (newEpoch == Epoch && role != ReplicationRole.Master))
            {
                throw new VectorizerException(ErrorCode.ReplicationDiverged, $"Cannot become master in epoch {newEpoch}: this node is in epoch {Epoch}");
            }

            if (follower is { } running)
            {
                follower = null;
                await running.StopAsync().ConfigureAwait(false);
            }

            Interlocked.Exchange(ref epoch, newEpoch);
            MasterAddress = null;
            MasterAdvertiseAddress = null;
            MasterGrpcAddress = null;
            MasterNodeId = NodeId;
            role = ReplicationRole.Master;
            Persist();
            logger.LogInformation("Replication: master in epoch {Epoch} at position {Position}", newEpoch, Log.Head);
        }
        finally
        {
            transition.Release();
        }

        RoleChanged?.Invoke(ReplicationRole.Master, newEpoch);
        PulseAcks();
    }

    public async Task BecomeReplicaAsync(string masterAddress, long newEpoch, CancellationToken cancellationToken)
    {
        if (ReplicationSection.ParseEndpoint(masterAddress) is null)
        {
            throw VectorizerException.BadRequest($"`{masterAddress}` is not host:port");
        }

        await transition.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (newEpoch < Epoch)
            {
                throw new VectorizerException(ErrorCode.ReplicationDiverged, $"Cannot follow a master of epoch {newEpoch}: this node is in epoch {Epoch}");
            }

            if (follower is { } running)
            {
                follower = null;
                await running.StopAsync().ConfigureAwait(false);
            }

            Interlocked.Exchange(ref epoch, newEpoch);
            role = ReplicationRole.Replica;
            MasterAddress = masterAddress;
            MasterAdvertiseAddress = null;
            MasterGrpcAddress = null;
            MasterNodeId = null;
            replicas.Clear();
            Persist();
            follower = new ReplicaFollower(this, masterAddress, loggerFactory.CreateLogger("Vectorizer.Replication.Follower"));
            follower.Start();
            logger.LogInformation("Replication: replica of {Master} in epoch {Epoch} from position {Position}", masterAddress, newEpoch, Log.Head);
        }
        finally
        {
            transition.Release();
        }

        RoleChanged?.Invoke(ReplicationRole.Replica, newEpoch);
        PulseAcks();
    }

    public async Task StopAcceptingWritesAsync(CancellationToken cancellationToken)
    {
        await transition.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            role = ReplicationRole.Fenced;
            if (follower is { } running)
            {
                follower = null;
                await running.StopAsync().ConfigureAwait(false);
            }

            PersistQuietly();
            logger.LogWarning("Replication: fenced in epoch {Epoch}; writes are refused", Epoch);
        }
        finally
        {
            transition.Release();
        }

        RoleChanged?.Invoke(ReplicationRole.Fenced, Epoch);
        PulseAcks();
    }

    /// <summary>A follower learned of a newer epoch from its master's Start.</summary>
    internal void AdoptEpoch(long masterEpoch)
    {
        long seen;
        while ((seen = Interlocked.Read(ref epoch)) < masterEpoch)
        {
            Interlocked.CompareExchange(ref epoch, masterEpoch, seen);
        }
    }

    // ------------------------------------------------------------------ change feed (master)

    public void Changed(EngineChange change)
    {
        if (role != ReplicationRole.Master)
        {
            return; // a replica's own applies are logged by the follower, with the master's numbering
        }

        Log.Append(ToChange(change), Epoch);
    }

    private static Change ToChange(EngineChange change)
    {
        var result = new Change { Collection = change.Collection, TimestampMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() };
        switch (change)
        {
            case PointsChanged points:
                result.Type = ChangeType.Points;
                result.Lsn = points.Lsn;
                result.OpKind = points.Kind;
                result.Body = UnsafeByteOperations.UnsafeWrap(points.Body);
                break;
            case CollectionCreated created:
                result.Type = ChangeType.CollectionCreated;
                result.Config = UnsafeByteOperations.UnsafeWrap(created.Config);
                break;
            case CollectionDeleted:
                result.Type = ChangeType.CollectionDeleted;
                break;
            case CollectionConfigChanged config:
                result.Type = ChangeType.ConfigChanged;
                result.Config = UnsafeByteOperations.UnsafeWrap(config.Config);
                break;
            case VectorCreated vector:
                result.Type = ChangeType.VectorCreated;
                result.Name = vector.Vector;
                result.Config = UnsafeByteOperations.UnsafeWrap(vector.Config);
                break;
            case VectorDeleted vector:
                result.Type = ChangeType.VectorDeleted;
                result.Name = vector.Vector;
                break;
            case PayloadIndexChanged index:
                result.Type = ChangeType.PayloadIndexChanged;
                result.Name = index.Field;
                result.Config = UnsafeByteOperations.UnsafeWrap(index.Config);
                break;
            case AliasesChanged aliases:
                result.Type = ChangeType.AliasesChanged;
                result.Aliases.Add(aliases.Aliases.ToDictionary(StringComparer.Ordinal));
                break;
            case CollectionReplaced:
                result.Type = ChangeType.CollectionReplaced;
                break;
            default:
                throw new VectorizerException(ErrorCode.Internal, $"Unknown engine change {change.GetType().Name}");
        }

        return result;
    }

    // ------------------------------------------------------------------ replicas (master)

    internal ReplicaInfo Register(string nodeId) => replicas.GetOrAdd(nodeId, id => new ReplicaInfo(id));

    internal void Acknowledged(ReplicaInfo replica, long position)
    {
        lock (ackGate)
        {
            replica.AckedPosition = Math.Max(replica.AckedPosition, position);
            replica.LastAck = DateTimeOffset.UtcNow;
            replica.LastSeen = replica.LastAck;
        }

        PulseAcks();
    }

    internal void PulseAcks()
    {
        TaskCompletionSource wake;
        lock (ackGate)
        {
            wake = ackChanged;
            ackChanged = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        wake.TrySetResult();
    }

    /// <summary>How many replica acknowledgements <c>write_concern</c> asks for, of <paramref name="known"/> replicas.</summary>
    public static int Required(string writeConcern, int known) => writeConcern switch
    {
        "one" => 1,
        "all" => known,
        "majority" => (known + 1) / 2, // with the master itself, a majority of known + 1 nodes
        _ => 0,
    };

    /// <summary>
    /// After a local write with <c>wait=true</c>: returns once the replicas <c>write_concern</c> asks for hold every
    /// change made so far (so this write too), or throws <see cref="ErrorCode.WriteConcernFailed"/> after
    /// <c>replica_timeout_secs</c> saying how many did. Known replicas are those that connected since this node became master.
    /// </summary>
    public async ValueTask WaitForWriteConcernAsync(CancellationToken cancellationToken)
    {
        var concern = settings.Replication.WriteConcern;
        if (concern == "none" && role == ReplicationRole.Master)
        {
            return;
        }

        ThrowIfNotMaster();
        Interlocked.Increment(ref Counters.WriteConcernWaitsCount);
        var target = Log.Head;
        var deadline = DateTime.UtcNow.AddSeconds(settings.Replication.ReplicaTimeoutSecs);
        while (true)
        {
            Task changed;
            int acked;
            int required;
            lock (ackGate)
            {
                changed = ackChanged.Task;
                acked = replicas.Values.Count(r => r.AckedPosition >= target);
                required = Required(concern, replicas.Count);
            }

            if (role != ReplicationRole.Master)
            {
                Interlocked.Increment(ref Counters.WriteConcernFailuresCount);
                throw NotMaster("this node stopped being the master before the write was acknowledged by replicas");
            }

            if (acked >= required && !(concern == "one" && replicas.IsEmpty))
            {
                return;
            }

            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                Interlocked.Increment(ref Counters.WriteConcernFailuresCount);
                throw new VectorizerException(
                    ErrorCode.WriteConcernFailed,
                    $"write_concern `{concern}` needs {Math.Max(required, 1)} replica acknowledgement(s) of position {target}; {acked} of {replicas.Count} known replica(s) acknowledged within {settings.Replication.ReplicaTimeoutSecs}s. The write is durable on this node.");
            }

            try
            {
                await changed.WaitAsync(left, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
            }
        }
    }

    public void CheckWritable()
    {
        if (!started)
        {
            throw new VectorizerException(ErrorCode.ShuttingDown, "replication is starting; writes are accepted once this node knows its role");
        }

        ThrowIfNotMaster();
    }

    public ValueTask AfterDurableWriteAsync(CancellationToken cancellationToken) => WaitForWriteConcernAsync(cancellationToken);

    /// <summary>Throws <see cref="ErrorCode.NotMaster"/> unless this node takes writes.</summary>
    public void ThrowIfNotMaster()
    {
        if (role != ReplicationRole.Master)
        {
            throw NotMaster(role == ReplicationRole.Replica ? "writes go to the master" : "this node is fenced (it lost leadership) and takes no writes");
        }
    }

    public VectorizerException NotMaster(string why) => new(
        ErrorCode.NotMaster,
        $"this node ({NodeId}) is a {role.ToString().ToLowerInvariant()}; {why}: master {MasterNodeId ?? "unknown"} at {MasterAdvertiseAddress ?? MasterAddress ?? "unknown"}");
}
