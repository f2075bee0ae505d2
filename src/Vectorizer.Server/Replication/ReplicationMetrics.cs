using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Vectorizer.Server.Configuration;
using Vectorizer.Server.Observability;

namespace Vectorizer.Server.Replication;

/// <summary>
/// Replication instruments on the server's meter, read at each scrape from one <see cref="ReplicationReport"/> (the
/// status endpoint's source: the two always agree). Prometheus names:
/// <c>vectorizer_replication_role{role}</c> (1 for the current role, 0 for the others), <c>_epoch</c>,
/// <c>_applied_position</c>, <c>_acknowledged_position</c>, <c>_connected_replicas</c>, <c>_fenced</c>;
/// per replica on a master (<c>replica</c> label): <c>_replica_connected</c>, <c>_replica_acknowledged_position</c>,
/// <c>_replica_lag_operations</c>, <c>_replica_lag_seconds</c>, <c>_replica_heartbeat_age_seconds</c>; on a replica:
/// <c>_master_connected</c>, <c>_master_lag_operations</c>, <c>_master_lag_seconds</c>, <c>_master_heartbeat_age_seconds</c>;
/// counters <c>_resyncs_total{kind, direction}</c>, <c>_write_concern_waits_total</c>,
/// <c>_write_concern_failures_total</c>, <c>_streams_refused_total</c>; with <c>role: auto</c>
/// <c>_leader</c> and <c>_lease_alive</c>. Created only when metrics and replication are on.
/// </summary>
public sealed class ReplicationMetrics : IHostedService
{
    private static readonly TimeSpan Fresh = TimeSpan.FromMilliseconds(250);
    private readonly ReplicationManager node;
    private readonly object gate = new();
    private ReplicationReport? last;

    public ReplicationMetrics(IMeterFactory meters, ReplicationManager node)
    {
        this.node = node;
        var meter = meters.Create(ServerTelemetry.MeterName);
        KeyValuePair<string, object?> Tag(string name, object? value) => new(name, value);

        meter.CreateObservableGauge(
            "vectorizer.replication.role",
            () => Enum.GetValues<ReplicationRole>().Where(r => r != ReplicationRole.Standalone)
                .Select(r => new Measurement<int>(Report().Role == r ? 1 : 0, Tag("role", r.ToString().ToLowerInvariant()))),
            null,
            "1 for this node's current replication role (master, replica, fenced), 0 for the others");
        meter.CreateObservableGauge("vectorizer.replication.epoch", () => Report().Epoch, null, "The epoch this node is in (every leadership change raises it)");
        meter.CreateObservableGauge(
            "vectorizer.replication.applied_position", () => Report().AppliedPosition, "{operation}", "The last change applied and made durable here (a master's log head)");
        meter.CreateObservableGauge(
            "vectorizer.replication.acknowledged_position", () => Report().AcknowledgedPosition, "{operation}", "Master: the highest position a replica acknowledged; replica: its applied position");
        meter.CreateObservableGauge("vectorizer.replication.connected_replicas", () => Report().ConnectedReplicas, "{replica}", "Replicas streaming from this master now");
        meter.CreateObservableGauge("vectorizer.replication.fenced", () => Report().Leadership.Fenced ? 1 : 0, null, "1 while this node neither takes writes nor follows a master");

        IEnumerable<Measurement<T>> PerReplica<T>(Func<ReplicaReport, T> value)
            where T : struct =>
            Report().Replicas.Select(r => new Measurement<T>(value(r), Tag("replica", r.NodeId)));
        meter.CreateObservableGauge("vectorizer.replication.replica.connected", () => PerReplica(r => r.Connected ? 1 : 0), null, "1 while the replica streams from this master");
        meter.CreateObservableGauge(
            "vectorizer.replication.replica.acknowledged_position", () => PerReplica(r => r.AcknowledgedPosition), "{operation}", "The last position the replica made durable and acknowledged");
        meter.CreateObservableGauge(
            "vectorizer.replication.replica.lag_operations", () => PerReplica(r => r.LagOperations), "{operation}", "Operations of this master's log the replica has not acknowledged");
        meter.CreateObservableGauge(
            "vectorizer.replication.replica.lag", () => PerReplica(r => r.LagSeconds), "s", "How long the oldest change the replica has not acknowledged has waited (0: caught up; -1: it left the log)");
        meter.CreateObservableGauge(
            "vectorizer.replication.replica.heartbeat_age",
            () => Report().Replicas.Where(r => r.LastHeartbeat is not null).Select(r => new Measurement<double>((Report().At - r.LastHeartbeat!.Value).TotalSeconds, Tag("replica", r.NodeId))),
            "s",
            "Seconds since the replica last acknowledged or was seen");

        IEnumerable<Measurement<T>> Follower<T>(Func<FollowerReport, T> value)
            where T : struct =>
            Report().Follower is { } f ? [new Measurement<T>(value(f))] : [];
        meter.CreateObservableGauge("vectorizer.replication.master.connected", () => Follower(f => f.Connected ? 1 : 0), null, "Replica: 1 while connected to its master");
        meter.CreateObservableGauge(
            "vectorizer.replication.master.lag_operations", () => Follower(f => f.LagOperations), "{operation}", "Replica: operations of the master's log not applied here yet");
        meter.CreateObservableGauge(
            "vectorizer.replication.master.lag", () => Follower(f => f.LagSeconds), "s", "Replica: seconds between the newest applied change's commit on the master and its apply here");
        meter.CreateObservableGauge(
            "vectorizer.replication.master.heartbeat_age",
            () => Report().Follower is { LastHeartbeat: { } at } ? [new Measurement<double>((Report().At - at).TotalSeconds)] : Array.Empty<Measurement<double>>(),
            "s",
            "Replica: seconds since the master's last record or heartbeat");

        meter.CreateObservableCounter(
            "vectorizer.replication.resyncs",
            () =>
            {
                var c = Report().Counters;
                return new[]
                {
                    new Measurement<long>(c.FullResyncsServed, Tag("kind", "full"), Tag("direction", "served")),
                    new Measurement<long>(c.PartialResyncsServed, Tag("kind", "partial"), Tag("direction", "served")),
                    new Measurement<long>(c.FullResyncsReceived, Tag("kind", "full"), Tag("direction", "received")),
                    new Measurement<long>(c.PartialResyncsReceived, Tag("kind", "partial"), Tag("direction", "received")),
                };
            },
            "{resync}",
            "Resyncs since the server started: served to replicas (as master) or received from a master (as replica), full or partial");
        meter.CreateObservableCounter(
            "vectorizer.replication.write_concern.waits", () => Report().Counters.WriteConcernWaits, "{write}", "Writes (wait=true) that waited for replica acknowledgements under write_concern");
        meter.CreateObservableCounter(
            "vectorizer.replication.write_concern.failures", () => Report().Counters.WriteConcernFailures, "{write}", "Writes whose write_concern was not met (timeout, or leadership lost)");
        meter.CreateObservableCounter(
            "vectorizer.replication.streams_refused", () => Report().Counters.StreamsRefused, "{stream}", "Replication streams refused for a missing or wrong replication.auth_token");

        if (node.Options.Role == "auto")
        {
            meter.CreateObservableGauge("vectorizer.replication.leader", () => Report().Leadership.IsLeader ? 1 : 0, null, "role: auto: 1 while this node holds the leader key in etcd");
            meter.CreateObservableGauge("vectorizer.replication.lease_alive", () => Report().Leadership.LeaseAlive ? 1 : 0, null, "role: auto: 1 while this node's etcd lease is proven alive");
        }
    }

    /// <summary>One report serves every instrument of a scrape (taken again after <see cref="Fresh"/>).</summary>
    private ReplicationReport Report()
    {
        lock (gate)
        {
            if (last is null || DateTimeOffset.UtcNow - last.At > Fresh)
            {
                last = ReplicationReport.Take(node);
            }

            return last;
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

public static class ReplicationMetricsHosting
{
    /// <summary>With replication and metrics on: the replication instruments (created when the host starts).</summary>
    public static IServiceCollection AddReplicationMetrics(this IServiceCollection services, VectorizerSettings settings)
    {
        if (settings.Replication.Enabled && settings.Metrics.Enabled)
        {
            services.AddSingleton<ReplicationMetrics>();
            services.AddHostedService(provider => provider.GetRequiredService<ReplicationMetrics>());
        }

        return services;
    }
}
