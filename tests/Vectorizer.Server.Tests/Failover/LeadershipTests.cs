using System.Diagnostics;
using System.Net;
using System.Text.Json;
using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Vectorizer.Server.Replication;
using Vectorizer.Server.Replication.Leadership;
using Vectorizer.Tests;
using Xunit.Abstractions;

namespace Vectorizer.Server.Tests.Failover;

/// <summary>
/// The leadership service on its own against a real etcd: several in-process nodes, each with its own
/// <see cref="EtcdLeadership"/> and a <see cref="NodeStateMachine"/> in place of the replication engine (it enforces
/// the same epoch rules as <see cref="IReplicationControl"/> documents and records every transition).
/// </summary>
[Trait("Category", "Slow")]
public sealed class LeadershipTests(ITestOutputHelper output)
{
    private const int Ttl = 2;

    [SkippableFact]
    public async Task OneOfThreeCandidatesBecomesMasterAndTheOthersFollowItAtTheSameEpoch()
    {
        Prerequisites.Require(Need.Etcd);
        await using var etcd = await EtcdServer.StartAsync();
        await using var cluster = new Cluster(etcd.Endpoint, output);
        var nodes = new[] { cluster.Start("a"), cluster.Start("b"), cluster.Start("c") };

        var master = await cluster.WaitForMasterAsync(TimeSpan.FromSeconds(10));
        await cluster.WaitUntilAsync(() => nodes.Count(n => n.Control.Role == ReplicationRole.Replica) == 2, TimeSpan.FromSeconds(10), "two replicas");
        Assert.Equal("a", master.Id); // equal positions: the smallest node id wins
        Assert.All(nodes.Where(n => n != master), n =>
        {
            Assert.Equal(master.Control.Epoch, n.Control.Epoch);
            Assert.Equal(master.Identity.ReplicationAddress, n.Control.MasterAddress);
        });
        Assert.True(master.Control.Epoch > 0);
        Assert.Equal("a", nodes[2].Leadership.View.LeaderNodeId);
    }

    [SkippableFact]
    public async Task WhenTheMasterDiesTheNodeWithTheHighestAcknowledgedPositionWinsWithALargerEpoch()
    {
        Prerequisites.Require(Need.Etcd);
        await using var etcd = await EtcdServer.StartAsync();
        await using var cluster = new Cluster(etcd.Endpoint, output);
        var a = cluster.Start("a");
        await cluster.WaitForMasterAsync(TimeSpan.FromSeconds(10));
        var b = cluster.Start("b");
        var c = cluster.Start("c");
        await cluster.WaitUntilAsync(() => b.Control.Role == ReplicationRole.Replica && c.Control.Role == ReplicationRole.Replica, TimeSpan.FromSeconds(10), "b and c follow a");
        var firstEpoch = a.Control.Epoch;

        // c holds more of the log than b (b's id would win a tie).
        b.Control.Acknowledged = 40;
        c.Control.Acknowledged = 41;
        await Task.Delay(TimeSpan.FromSeconds(1)); // both republish
        var clock = Stopwatch.StartNew();
        await a.KillAsync(); // no resignation: its lease must lapse

        var winner = await cluster.WaitForMasterAsync(TimeSpan.FromSeconds(4 * Ttl), except: a);
        output.WriteLine($"new master {winner.Id} after {clock.Elapsed.TotalSeconds:F2} s (lease TTL {Ttl} s)");
        Assert.Equal("c", winner.Id);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2 * Ttl), $"failover took {clock.Elapsed.TotalSeconds:F2} s, over 2 x lease_ttl_secs");
        Assert.True(c.Control.Epoch > firstEpoch);
        await cluster.WaitUntilAsync(() => b.Control.Role == ReplicationRole.Replica && b.Control.Epoch == c.Control.Epoch && b.Control.MasterAddress == c.Identity.ReplicationAddress,
            TimeSpan.FromSeconds(5), "b follows c");

        // The old master comes back (same id, new process): it follows, at the new epoch.
        var a2 = cluster.Start("a");
        await cluster.WaitUntilAsync(() => a2.Control.Role == ReplicationRole.Replica && a2.Control.Epoch == c.Control.Epoch, TimeSpan.FromSeconds(5), "the old master follows c");
        Assert.Equal(ReplicationRole.Master, c.Control.Role);
    }

    [SkippableFact]
    public async Task AMasterCutOffFromEtcdStopsTakingWritesBeforeAnotherIsElectedAndRejoinsAsAReplica()
    {
        Prerequisites.Require(Need.Etcd);
        await using var etcd = await EtcdServer.StartAsync();
        await using var proxy = new TcpProxy(new IPEndPoint(IPAddress.Loopback, etcd.ClientPort));
        await using var cluster = new Cluster(etcd.Endpoint, output);
        var a = cluster.Start("a", $"http://127.0.0.1:{proxy.Port}");
        await cluster.WaitForMasterAsync(TimeSpan.FromSeconds(10));
        var b = cluster.Start("b");
        await cluster.WaitUntilAsync(() => b.Control.Role == ReplicationRole.Replica, TimeSpan.FromSeconds(10), "b follows a");
        Assert.True(proxy.BytesForwarded > 0);

        var clock = Stopwatch.StartNew();
        proxy.Partition();
        await cluster.WaitUntilAsync(() => a.Control.Role == ReplicationRole.Fenced, TimeSpan.FromSeconds(2 * Ttl), "a fences itself");
        var fencedAfter = clock.Elapsed;
        await cluster.WaitUntilAsync(() => b.Control.Role == ReplicationRole.Master, TimeSpan.FromSeconds(3 * Ttl), "b is elected");
        var electedAfter = clock.Elapsed;
        output.WriteLine($"a fenced after {fencedAfter.TotalSeconds:F2} s, b elected after {electedAfter.TotalSeconds:F2} s");
        Assert.True(fencedAfter < electedAfter, "the isolated master must stop taking writes before another is elected");
        Assert.True(a.Control.FencedAt < b.Control.BecameMasterAt);

        proxy.Heal();
        await cluster.WaitUntilAsync(() => a.Control.Role == ReplicationRole.Replica && a.Control.Epoch == b.Control.Epoch, TimeSpan.FromSeconds(4 * Ttl), "a rejoins as b's replica");
        Assert.Equal(b.Identity.ReplicationAddress, a.Control.MasterAddress);
        Assert.DoesNotContain(a.Control.Transitions, t => t.Role == ReplicationRole.Master && t.Epoch == b.Control.Epoch);
    }

    [SkippableFact]
    public async Task AMasterThatShutsDownHandsOverWithoutWaitingForItsLease()
    {
        Prerequisites.Require(Need.Etcd);
        await using var etcd = await EtcdServer.StartAsync();
        await using var cluster = new Cluster(etcd.Endpoint, output, ttl: 10);
        var a = cluster.Start("a");
        await cluster.WaitForMasterAsync(TimeSpan.FromSeconds(10));
        var b = cluster.Start("b");
        await cluster.WaitUntilAsync(() => b.Control.Role == ReplicationRole.Replica, TimeSpan.FromSeconds(10), "b follows a");

        var clock = Stopwatch.StartNew();
        await a.StopGracefullyAsync();
        Assert.Equal(ReplicationRole.Fenced, a.Control.Role);
        await cluster.WaitUntilAsync(() => b.Control.Role == ReplicationRole.Master, TimeSpan.FromSeconds(5), "b is elected");
        output.WriteLine($"handover in {clock.Elapsed.TotalSeconds:F2} s with a 10 s lease");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5));
    }

    [SkippableFact]
    public async Task ATransitionThatFailsWithAnUnexpectedErrorDoesNotStopTheNodesElections()
    {
        Prerequisites.Require(Need.Etcd);
        await using var etcd = await EtcdServer.StartAsync();
        await using var cluster = new Cluster(etcd.Endpoint, output);
        var a = cluster.Start("a");
        await cluster.WaitForMasterAsync(TimeSpan.FromSeconds(10));
        var b = cluster.Start("b");

        // c's engine fails its first transition the way the real one can (an I/O error saving its state): the round
        // fails, the loop goes on. A loop that died there would leave c's lease kept alive and its record never
        // republished, and no election after a's death would ever finish.
        var c = cluster.Start("c", configure: control => control.FailNextTransition = new IOException("the state file is busy"));
        await cluster.WaitUntilAsync(() => b.Control.Role == ReplicationRole.Replica && c.Control.Role == ReplicationRole.Replica, TimeSpan.FromSeconds(10), "b and c follow a");

        var clock = Stopwatch.StartNew();
        await a.KillAsync();
        var winner = await cluster.WaitForMasterAsync(TimeSpan.FromSeconds(4 * Ttl), except: a);
        output.WriteLine($"new master {winner.Id} after {clock.Elapsed.TotalSeconds:F2} s (lease TTL {Ttl} s)");
        Assert.Equal("b", winner.Id);
    }

    [SkippableFact]
    public async Task APeerWhoseRecordStaysButIsNeverRepublishedDoesNotStallTheElection()
    {
        Prerequisites.Require(Need.Etcd);
        await using var etcd = await EtcdServer.StartAsync();
        await using var cluster = new Cluster(etcd.Endpoint, output);
        var a = cluster.Start("a");
        await cluster.WaitForMasterAsync(TimeSpan.FromSeconds(10));
        var b = cluster.Start("b");
        await cluster.WaitUntilAsync(() => b.Control.Role == ReplicationRole.Replica, TimeSpan.FromSeconds(10), "b follows a");

        // A wedged node: its record (claiming the most of the log) lives on a lease that outlasts the test, and is
        // never republished.
        using (var raw = new EtcdClient(etcd.Endpoint))
        {
            var lease = await raw.LeaseGrantAsync(new LeaseGrantRequest { TTL = 600 });
            var record = JsonSerializer.SerializeToUtf8Bytes(new NodeRecord("z", "http://127.0.0.1:15025", "127.0.0.1:7025", long.MaxValue / 2, long.MaxValue / 2));
            await raw.PutAsync(new PutRequest { Key = ByteString.CopyFromUtf8("/test/nodes/z"), Value = ByteString.CopyFrom(record), Lease = lease.ID });
        }

        await Task.Delay(TimeSpan.FromMilliseconds(500));
        var clock = Stopwatch.StartNew();
        await a.KillAsync();
        var winner = await cluster.WaitForMasterAsync(TimeSpan.FromSeconds(4 * Ttl), except: a);
        output.WriteLine($"new master {winner.Id} after {clock.Elapsed.TotalSeconds:F2} s (lease TTL {Ttl} s, after waiting a TTL for z)");
        Assert.Equal("b", winner.Id);
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(Ttl), "b must first give z a TTL to republish");
    }

    [Fact]
    public void TheEtcdSectionIsValidated()
    {
        var problems = new EtcdValidator().Check(new EtcdSection { Endpoints = ["127.0.0.1:2379", "http://ok:2379"], LeaseTtlSecs = 1, Prefix = "no-slash" })
            .Select(p => p.Key).ToList();
        Assert.Equal(["etcd.endpoints[0]", "etcd.lease_ttl_secs", "etcd.prefix"], problems);
        Assert.Empty(new EtcdValidator().Check(new EtcdSection { Endpoints = ["http://127.0.0.1:2379"] }));
    }

    private sealed class Cluster(string endpoint, ITestOutputHelper output, int ttl = Ttl) : IAsyncDisposable
    {
        private readonly List<Node> nodes = [];

        public Node Start(string id, string? viaEndpoint = null, Action<NodeStateMachine>? configure = null)
        {
            var identity = new LeadershipIdentity(id, $"http://127.0.0.1:1500{id[0] - 'a'}", $"127.0.0.1:700{id[0] - 'a'}");
            var node = new Node(identity, new EtcdSection { Endpoints = [viaEndpoint ?? endpoint], LeaseTtlSecs = ttl, Prefix = "/test" }, output, configure);
            nodes.Add(node);
            return node;
        }

        public async Task<Node> WaitForMasterAsync(TimeSpan timeout, Node? except = null)
        {
            Node? master = null;
            await WaitUntilAsync(() => (master = nodes.Where(n => n != except && n.Running).SingleOrDefault(n => n.Control.Role == ReplicationRole.Master)) is not null, timeout, "a master");
            return master!;
        }

        public async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, string what)
        {
            var deadline = Stopwatch.StartNew();
            while (!condition())
            {
                if (deadline.Elapsed > timeout)
                {
                    Assert.Fail($"no {what} within {timeout.TotalSeconds} s: " + string.Join("; ", nodes.Select(n => $"{n.Id}{(n.Running ? "" : " (stopped)")} {n.Control.Role} epoch {n.Control.Epoch} -> {n.Control.MasterAddress}")));
                }

                await Task.Delay(20);
            }
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var node in nodes)
            {
                await node.KillAsync();
            }
        }
    }

    private sealed class Node
    {
        private readonly CancellationTokenSource stop = new();
        private readonly Task run;

        public Node(LeadershipIdentity identity, EtcdSection options, ITestOutputHelper output, Action<NodeStateMachine>? configure)
        {
            Identity = identity;
            Control = new NodeStateMachine(identity.NodeId);
            configure?.Invoke(Control);
            Leadership = new EtcdLeadership(options, identity, Control, new TestLogger(output, identity.NodeId));
            run = Task.Run(() => Leadership.RunAsync(stop.Token));
        }

        public string Id => Identity.NodeId;

        public LeadershipIdentity Identity { get; }

        public NodeStateMachine Control { get; }

        public EtcdLeadership Leadership { get; }

        public bool Running => !stop.IsCancellationRequested;

        /// <summary>Gone without a word: the lease lapses on its own.</summary>
        public async Task KillAsync()
        {
            if (stop.IsCancellationRequested)
            {
                return;
            }

            await stop.CancelAsync();
            await Leadership.DisposeAsync();
            try
            {
                await run;
            }
            catch (OperationCanceledException)
            {
            }
        }

        public async Task StopGracefullyAsync()
        {
            await Leadership.ResignAsync(CancellationToken.None);
            await KillAsync();
        }
    }

    private sealed class TestLogger(ITestOutputHelper output, string node) : ILogger
    {
        private readonly Stopwatch clock = Stopwatch.StartNew();

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            try
            {
                output.WriteLine($"{clock.Elapsed.TotalSeconds,6:F2} {node}: {formatter(state, exception)}");
            }
            catch (InvalidOperationException)
            {
                // the test has finished
            }
        }
    }
}

/// <summary>
/// A node's role/epoch state machine with <see cref="IReplicationControl"/>'s rules (never back to an older epoch) and
/// no data: what the leadership tests drive in place of the replication engine. Records every transition.
/// </summary>
public sealed class NodeStateMachine(string nodeId) : IReplicationControl
{
    private readonly Lock gate = new();

    public ReplicationRole Role { get; private set; } = ReplicationRole.Fenced;

    public long Epoch { get; private set; }

    public string NodeId => nodeId;

    public long AppliedPosition => Acknowledged;

    public long AcknowledgedPosition => Acknowledged;

    public long Acknowledged { get; set; }

    public string? MasterAddress { get; private set; }

    public DateTime FencedAt { get; private set; } = DateTime.MaxValue;

    public DateTime BecameMasterAt { get; private set; } = DateTime.MaxValue;

    public List<(ReplicationRole Role, long Epoch)> Transitions { get; } = [];

    /// <summary>Thrown by the next transition to master or replica (once), as an engine's failure would be.</summary>
    public Exception? FailNextTransition { get; set; }

    public event Action<ReplicationRole, long>? RoleChanged;

    public Task BecomeMasterAsync(long epoch, CancellationToken cancellationToken)
    {
        lock (gate)
        {
            if (epoch < Epoch || (epoch == Epoch && Role != ReplicationRole.Master && Transitions.Count > 0))
            {
                throw new InvalidOperationException($"{nodeId}: master at epoch {epoch} refused, already at epoch {Epoch}");
            }

            Set(ReplicationRole.Master, epoch, null);
            BecameMasterAt = DateTime.UtcNow;
        }

        return Task.CompletedTask;
    }

    public Task BecomeReplicaAsync(string masterAddress, long epoch, CancellationToken cancellationToken)
    {
        lock (gate)
        {
            if (epoch < Epoch)
            {
                throw new InvalidOperationException($"{nodeId}: replica at epoch {epoch} refused, already at epoch {Epoch}");
            }

            Set(ReplicationRole.Replica, epoch, masterAddress);
        }

        return Task.CompletedTask;
    }

    public Task StopAcceptingWritesAsync(CancellationToken cancellationToken)
    {
        lock (gate)
        {
            Set(ReplicationRole.Fenced, Epoch, null);
            FencedAt = DateTime.UtcNow;
        }

        return Task.CompletedTask;
    }

    private void Set(ReplicationRole role, long epoch, string? master)
    {
        if (role != ReplicationRole.Fenced && FailNextTransition is { } failure)
        {
            FailNextTransition = null;
            throw failure;
        }

        Role = role;
        Epoch = epoch;
        MasterAddress = master;
        Transitions.Add((role, epoch));
        RoleChanged?.Invoke(role, epoch);
    }
}
