using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Points;

namespace Vectorizer.Server.Replication;

/// <summary><c>GET /api/replication/status</c>'s document, written from a <see cref="ReplicationReport"/> (the metrics' source too).</summary>
public static class ReplicationStatus
{
    public static string Json(ReplicationManager node) => Json(ReplicationReport.Take(node));

    public static string Json(ReplicationReport report)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            var now = report.At;
            w.WriteStartObject();
            w.WriteString("role", report.RoleName);
            w.WriteString("node_id", report.NodeId);
            w.WriteNumber("epoch", report.Epoch);
            w.WriteString("master", report.Master);
            w.WriteString("master_address", report.MasterAddress);
            w.WriteString("master_advertise_address", report.MasterAdvertiseAddress);
            w.WriteString("master_grpc_address", report.MasterGrpcAddress);
            w.WriteNumber("applied_position", report.AppliedPosition);
            w.WriteNumber("applied_epoch", report.AppliedEpoch);
            w.WriteNumber("acknowledged_position", report.AcknowledgedPosition);
            w.WriteNumber("log_oldest_position", report.LogOldestPosition);
            w.WriteString("write_concern", report.WriteConcern);
            w.WriteNumber("connected_replicas", report.ConnectedReplicas);
            if (report.Follower is { } follower)
            {
                w.WriteStartObject("replica");
                w.WriteBoolean("connected", follower.Connected);
                w.WriteNumber("master_position", follower.MasterPosition);
                w.WriteNumber("lag_operations", follower.LagOperations);
                w.WriteNumber("lag_seconds", follower.LagSeconds);
                WriteTime(w, "last_heartbeat", follower.LastHeartbeat, now);
                w.WriteNumber("full_resyncs", follower.FullResyncs);
                w.WriteNumber("partial_resyncs", follower.PartialResyncs);
                w.WriteString("last_error", follower.LastError);
                w.WriteEndObject();
            }

            w.WriteStartArray("replicas");
            foreach (var replica in report.Replicas)
            {
                w.WriteStartObject();
                w.WriteString("node_id", replica.NodeId);
                w.WriteString("advertise_address", replica.AdvertiseAddress);
                w.WriteBoolean("connected", replica.Connected);
                w.WriteNumber("acknowledged_position", replica.AcknowledgedPosition);
                w.WriteNumber("lag_operations", replica.LagOperations);
                w.WriteNumber("lag_seconds", replica.LagSeconds);
                WriteTime(w, "last_heartbeat", replica.LastHeartbeat, now);
                w.WriteNumber("full_resyncs", replica.FullResyncs);
                w.WriteNumber("partial_resyncs", replica.PartialResyncs);
                w.WriteEndObject();
            }

            w.WriteEndArray();

            var counters = report.Counters;
            w.WriteStartObject("totals");
            w.WriteNumber("full_resyncs_served", counters.FullResyncsServed);
            w.WriteNumber("partial_resyncs_served", counters.PartialResyncsServed);
            w.WriteNumber("full_resyncs_received", counters.FullResyncsReceived);
            w.WriteNumber("partial_resyncs_received", counters.PartialResyncsReceived);
            w.WriteNumber("write_concern_waits", counters.WriteConcernWaits);
            w.WriteNumber("write_concern_failures", counters.WriteConcernFailures);
            w.WriteNumber("streams_refused", counters.StreamsRefused);
            w.WriteEndObject();

            var leadership = report.Leadership;
            w.WriteStartObject("leadership");
            w.WriteString("mode", leadership.Mode);
            w.WriteBoolean("fenced", leadership.Fenced);
            if (leadership.Mode == "etcd")
            {
                w.WriteStartArray("etcd_endpoints");
                foreach (var endpoint in leadership.EtcdEndpoints)
                {
                    w.WriteStringValue(endpoint);
                }

                w.WriteEndArray();
                w.WriteString("leader_key", leadership.LeaderKey);
                w.WriteString("lease_id", leadership.LeaseId == 0 ? null : leadership.LeaseId.ToString("x", CultureInfo.InvariantCulture));
                w.WriteNumber("lease_ttl_secs", leadership.LeaseTtlSecs);
                w.WriteBoolean("lease_alive", leadership.LeaseAlive);
                w.WriteBoolean("etcd_reachable", leadership.EtcdReachable);
                w.WriteString("leader", leadership.LeaderNodeId);
                w.WriteBoolean("is_leader", leadership.IsLeader);
                w.WriteNumber("leader_epoch", leadership.LeaderEpoch);
                w.WriteString("epoch_source", "create revision of the leader key in etcd");
                if (leadership.LastElection is { } election)
                {
                    w.WriteStartObject("last_election");
                    WriteTime(w, "at", election.At, now);
                    w.WriteString("outcome", election.Outcome);
                    w.WriteNumber("epoch", election.Epoch);
                    w.WriteString("detail", election.Detail);
                    w.WriteEndObject();
                }
                else
                {
                    w.WriteNull("last_election");
                }
            }
            else
            {
                w.WriteString("epoch_source", "configured role; +1 at every start of a static master and at every manual promotion");
            }

            w.WriteEndObject();
            w.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void WriteTime(Utf8JsonWriter w, string name, DateTimeOffset? at, DateTimeOffset now)
    {
        if (at is { } time)
        {
            w.WriteString(name, time.ToString("O", CultureInfo.InvariantCulture));
            w.WriteNumber(name + "_age_seconds", Math.Round((now - time).TotalSeconds, 3));
        }
        else
        {
            w.WriteNull(name);
        }
    }
}

/// <summary>
/// A checksum per collection over every point's id, version, vectors (dense and sparse) and payload, in id order
/// (SHA-256), and over the alias map: two nodes holding the same data give the same numbers.
/// </summary>
public static class ReplicationChecksum
{
    public static string Json(CollectionManager manager)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteStartObject("collections");
            foreach (var name in manager.List().Order(StringComparer.Ordinal))
            {
                if (manager.TryGet(name) is not { } collection || collection.Name != name)
                {
                    continue;
                }

                var (points, hash) = Compute(collection);
                w.WriteStartObject(name);
                w.WriteNumber("points", points);
                w.WriteString("checksum", hash);
                w.WriteEndObject();
            }

            w.WriteEndObject();
            using var aliases = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            foreach (var (alias, target) in manager.AliasMap())
            {
                aliases.AppendData(System.Text.Encoding.UTF8.GetBytes(alias + "\0" + target + "\0"));
            }

            w.WriteString("aliases", Convert.ToHexStringLower(aliases.GetHashAndReset()));
            w.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public static (long Points, string Hash) Compute(Collection collection)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long points = 0;
        PointId? offset = null;
        var scratch = new byte[8];
        do
        {
            var page = collection.Scroll(new ScrollRequest { Limit = 1000, Offset = offset, WithPayload = PayloadSelector.All, WithVector = VectorSelector.All });
            foreach (var point in page.Points)
            {
                points++;
                hash.AppendData(System.Text.Encoding.UTF8.GetBytes(point.Id.ToString()));
                BitConverter.TryWriteBytes(scratch, point.Version);
                hash.AppendData(scratch);
                foreach (var (name, vector) in (point.Vectors ?? new Dictionary<string, float[]>()).OrderBy(v => v.Key, StringComparer.Ordinal))
                {
                    hash.AppendData(System.Text.Encoding.UTF8.GetBytes(name));
                    hash.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(vector.AsSpan()));
                }

                foreach (var (name, vector) in (point.Sparse ?? new Dictionary<string, Engine.Sparse.SparseVector>()).OrderBy(v => v.Key, StringComparer.Ordinal))
                {
                    hash.AppendData(System.Text.Encoding.UTF8.GetBytes("sparse:" + name));
                    hash.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(vector.Indices.AsSpan()));
                    hash.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(vector.Values.AsSpan()));
                }

                hash.AppendData(point.Payload?.ToUtf8() ?? "null"u8.ToArray());
            }

            offset = page.NextPageOffset;
        }
        while (offset is not null);

        return (points, Convert.ToHexStringLower(hash.GetHashAndReset()));
    }
}
