using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Points;

namespace Vectorizer.Server.Replication;

/// <summary><c>GET /api/replication/status</c>'s document.</summary>
public static class ReplicationStatus
{
    public static string Json(ReplicationManager node)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            var now = DateTimeOffset.UtcNow;
            var (head, headEpoch) = node.Log.HeadAndEpoch();
            w.WriteStartObject();
            w.WriteString("role", node.Role.ToString().ToLowerInvariant());
            w.WriteString("node_id", node.NodeId);
            w.WriteNumber("epoch", node.Epoch);
            w.WriteString("master", node.Role == ReplicationRole.Master ? node.NodeId : node.MasterNodeId);
            w.WriteString("master_address", node.MasterAddress);
            w.WriteString("master_advertise_address", node.Role == ReplicationRole.Master ? node.AdvertiseAddress : node.MasterAdvertiseAddress);
            w.WriteNumber("applied_position", head);
            w.WriteNumber("applied_epoch", headEpoch);
            w.WriteNumber("acknowledged_position", node.AcknowledgedPosition);
            w.WriteNumber("log_oldest_position", node.Log.Oldest);
            w.WriteString("write_concern", node.Options.WriteConcern);
            if (node.Follower is { } follower)
            {
                w.WriteStartObject("replica");
                w.WriteBoolean("connected", follower.Connected);
                w.WriteNumber("master_position", follower.MasterPosition);
                w.WriteNumber("lag_operations", Math.Max(0, follower.MasterPosition - head));
                w.WriteNumber("lag_seconds", follower.LagSeconds);
                WriteTime(w, "last_heartbeat", follower.LastHeartbeat, now);
                w.WriteNumber("full_resyncs", follower.FullResyncs);
                w.WriteNumber("partial_resyncs", follower.PartialResyncs);
                w.WriteString("last_error", follower.LastError);
                w.WriteEndObject();
            }

            w.WriteStartArray("replicas");
            foreach (var replica in node.Replicas.OrderBy(r => r.NodeId, StringComparer.Ordinal))
            {
                w.WriteStartObject();
                w.WriteString("node_id", replica.NodeId);
                w.WriteString("advertise_address", replica.AdvertiseAddress);
                w.WriteBoolean("connected", replica.Connected);
                w.WriteNumber("acknowledged_position", replica.AckedPosition);
                w.WriteNumber("lag_operations", Math.Max(0, head - replica.AckedPosition));
                w.WriteNumber("lag_seconds", LagSeconds(node, replica, head, now));
                WriteTime(w, "last_heartbeat", replica.LastSeen, now);
                w.WriteNumber("full_resyncs", replica.FullResyncs);
                w.WriteNumber("partial_resyncs", replica.PartialResyncs);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>How long the oldest change the replica has not acknowledged has been waiting (0 when caught up).</summary>
    private static double LagSeconds(ReplicationManager node, ReplicaInfo replica, long head, DateTimeOffset now)
    {
        if (replica.AckedPosition >= head)
        {
            return 0;
        }

        var next = node.Log.ReadAfter(replica.AckedPosition, 1);
        return next is [var oldest] ? Math.Max(0, (now.ToUnixTimeMilliseconds() - oldest.TimestampMs) / 1000.0) : -1;
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
