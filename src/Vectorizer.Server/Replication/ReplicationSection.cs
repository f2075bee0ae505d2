using System.Globalization;
using Microsoft.Extensions.Configuration;
using Vectorizer.Server.Configuration;

namespace Vectorizer.Server.Replication;

/// <summary>
/// The <c>replication:</c> section (the product docs' keys, plus write concern and forwarding). Static roles
/// (<c>master</c>, <c>replica</c>) are built here; <c>auto</c> (leadership through etcd) is refused until
/// <c>cluster.etcd</c> is wired in.
/// </summary>
public sealed class ReplicationSection
{
    public bool Enabled { get; set; }

    /// <summary><c>master</c>, <c>replica</c> or <c>auto</c>.</summary>
    public string Role { get; set; } = "master";

    /// <summary>Where the replication stream is served (<c>host:port</c>, HTTP/2 gRPC without TLS). Every role listens: a replica may be promoted.</summary>
    [ConfigurationKeyName("bind_address")]
    public string BindAddress { get; set; } = "0.0.0.0:7001";

    /// <summary>How often the master tells an idle replica it is alive (and the replica reports its position).</summary>
    [ConfigurationKeyName("heartbeat_interval_secs")]
    public int HeartbeatIntervalSecs { get; set; } = 5;

    /// <summary>How long <c>wait=true</c> waits for the acknowledgements <see cref="WriteConcern"/> asks for; a replica silent this long is reported down.</summary>
    [ConfigurationKeyName("replica_timeout_secs")]
    public int ReplicaTimeoutSecs { get; set; } = 30;

    /// <summary>Operations the master keeps (in memory) for partial resyncs.</summary>
    [ConfigurationKeyName("log_size")]
    public int LogSize { get; set; } = 1_000_000;

    /// <summary>Replica: the master's replication endpoint, <c>host:port</c>.</summary>
    [ConfigurationKeyName("master_address")]
    public string MasterAddress { get; set; } = "";

    [ConfigurationKeyName("reconnect_interval_secs")]
    public int ReconnectIntervalSecs { get; set; } = 5;

    /// <summary><c>none</c>, <c>one</c>, <c>all</c> or <c>majority</c>: what <c>wait=true</c> waits for besides the local fsync.</summary>
    [ConfigurationKeyName("write_concern")]
    public string WriteConcern { get; set; } = "none";

    /// <summary>A replica forwards writes to the master (over HTTP, to the master's <c>cluster.advertise_address</c>) instead of refusing them.</summary>
    [ConfigurationKeyName("forward_writes")]
    public bool ForwardWrites { get; set; } = true;

    /// <summary>
    /// The secret every node of the group shares (<c>VECTORIZER_REPLICATION__AUTH_TOKEN</c>): a replica presents it on the
    /// stream, a master refuses streams without it. Required when <c>auth.enabled</c>; empty with auth off: the stream is
    /// open to any peer that reaches <see cref="BindAddress"/> (see docs/replication.md).
    /// </summary>
    [ConfigurationKeyName("auth_token")]
    public string AuthToken { get; set; } = "";

    /// <summary>Parses <c>host:port</c> (IPv6 hosts in brackets); null when it is not one.</summary>
    public static (string Host, int Port)? ParseEndpoint(string address)
    {
        var colon = address.LastIndexOf(':');
        if (colon <= 0 || colon == address.Length - 1 || address.Contains("://", StringComparison.Ordinal))
        {
            return null;
        }

        var host = address[..colon].Trim('[', ']');
        return int.TryParse(address[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is >= 0 and <= 65535 && host.Length > 0
            ? (host, port)
            : null;
    }
}

/// <summary>The <c>cluster:</c> section: who this node is to the others. (<c>cluster.etcd</c> belongs to leader election.)</summary>
public sealed class ClusterSection
{
    /// <summary>This node's name in status and in the master's replica list; empty: the host name and REST port.</summary>
    [ConfigurationKeyName("node_id")]
    public string NodeId { get; set; } = "";

    /// <summary>The REST address other nodes and clients reach this node at (<c>http://host:15002</c>); replicas forward writes there.</summary>
    [ConfigurationKeyName("advertise_address")]
    public string AdvertiseAddress { get; set; } = "";

    /// <summary>
    /// The gRPC address (Qdrant's gRPC API, <c>http://host:6334</c>) other nodes reach this node at; replicas forward gRPC
    /// writes there. Empty: <see cref="AdvertiseAddress"/>'s host with the gRPC port this node listens on.
    /// </summary>
    [ConfigurationKeyName("advertise_grpc_address")]
    public string AdvertiseGrpcAddress { get; set; } = "";

    /// <summary>Leadership through etcd for <c>replication.role: auto</c> (<see cref="Leadership.EtcdSection"/>).</summary>
    public Leadership.EtcdSection Etcd { get; set; } = new();
}

public sealed class ReplicationValidator : SectionValidator<ReplicationSection>
{
    public override IEnumerable<(string Key, string Message)> Check(ReplicationSection s)
    {
        if (s.Role is not ("master" or "replica" or "auto"))
        {
            yield return ("role", $"`{s.Role}` is not one of master, replica, auto");
        }

        if (ReplicationSection.ParseEndpoint(s.BindAddress) is null)
        {
            yield return ("bind_address", $"`{s.BindAddress}` is not host:port");
        }

        if (s.Enabled && s.Role == "replica" && s.MasterAddress.Length == 0)
        {
            yield return ("master_address", "a replica needs the master's replication address (host:port)");
        }
        else if (s.MasterAddress.Length > 0 && ReplicationSection.ParseEndpoint(s.MasterAddress) is null)
        {
            yield return ("master_address", $"`{s.MasterAddress}` is not host:port");
        }

        if (s.HeartbeatIntervalSecs is < 1 or > 3600)
        {
            yield return ("heartbeat_interval_secs", "must be between 1 and 3600");
        }

        if (s.ReplicaTimeoutSecs is < 1 or > 3600)
        {
            yield return ("replica_timeout_secs", "must be between 1 and 3600");
        }

        if (s.ReconnectIntervalSecs is < 1 or > 3600)
        {
            yield return ("reconnect_interval_secs", "must be between 1 and 3600");
        }

        if (s.LogSize is < 1 or > 100_000_000)
        {
            yield return ("log_size", "must be between 1 and 100000000 operations");
        }

        if (s.AuthToken.Length > 0 && s.AuthToken.Length < ReplicationAuth.MinTokenLength)
        {
            yield return ("auth_token", $"must be at least {ReplicationAuth.MinTokenLength} characters (a shared secret: `openssl rand -hex 32`)");
        }

        if (s.WriteConcern is not ("none" or "one" or "all" or "majority"))
        {
            yield return ("write_concern", $"`{s.WriteConcern}` is not one of none, one, all, majority");
        }
    }
}

public sealed class ClusterValidator : SectionValidator<ClusterSection>
{
    public override IEnumerable<(string Key, string Message)> Check(ClusterSection s)
    {
        if (s.NodeId.Length > 0 && (s.NodeId.Length > 128 || s.NodeId.Any(c => char.IsWhiteSpace(c) || char.IsControl(c))))
        {
            yield return ("node_id", "must be at most 128 characters, without spaces");
        }

        if (s.AdvertiseAddress.Length > 0 &&
            (!Uri.TryCreate(s.AdvertiseAddress, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")))
        {
            yield return ("advertise_address", $"`{s.AdvertiseAddress}` is not an http(s) URL such as http://host:15002");
        }

        if (s.AdvertiseGrpcAddress.Length > 0 &&
            (!Uri.TryCreate(s.AdvertiseGrpcAddress, UriKind.Absolute, out var grpc) || grpc.Scheme is not ("http" or "https") || grpc.AbsolutePath != "/"))
        {
            yield return ("advertise_grpc_address", $"`{s.AdvertiseGrpcAddress}` is not an http(s) URL without a path such as http://host:6334");
        }

        foreach (var problem in new Leadership.EtcdValidator().Check(s.Etcd))
        {
            yield return problem;
        }
    }
}
