using System.Security.Cryptography;
using System.Text;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Vectorizer.Server.Configuration;

namespace Vectorizer.Server.Replication;

/// <summary>
/// Authentication of the replication stream with <c>replication.auth_token</c>, a secret shared by the nodes of a group:
/// the replica sends it in the <see cref="Header"/> metadata of its <c>Sync</c> call; a master that has one refuses a
/// call without it (<see cref="StatusCode.Unauthenticated"/>) or with another (<see cref="StatusCode.PermissionDenied"/>),
/// logs the peer, and counts the refusal. Compared in constant time (SHA-256 of both, then
/// <see cref="CryptographicOperations.FixedTimeEquals"/>). A dedicated secret rather than <c>auth.api_key</c>: see
/// docs/replication.md ("Securing the stream").
/// </summary>
public static class ReplicationAuth
{
    public const string Header = "vectorizer-replication-token";

    public const int MinTokenLength = 16;

    /// <summary>With <c>auth.enabled</c>, a replication group must authenticate its stream: refused at startup without a token.</summary>
    public static IEnumerable<ConfigIssue> Check(VectorizerSettings settings)
    {
        if (settings.Replication.Enabled && settings.Auth.Enabled && settings.Replication.AuthToken.Length == 0)
        {
            yield return new ConfigIssue(
                "replication.auth_token",
                "auth.enabled is true, so the replication stream must be authenticated too (it carries every collection): set replication.auth_token "
                + "(VECTORIZER_REPLICATION__AUTH_TOKEN) to the same secret on every node of the group");
        }
    }

    /// <summary>The metadata a replica sends (empty without a token).</summary>
    public static Metadata Credentials(ReplicationSection options)
    {
        var metadata = new Metadata();
        if (options.AuthToken.Length > 0)
        {
            metadata.Add(Header, options.AuthToken);
        }

        return metadata;
    }

    /// <summary>Throws the <see cref="RpcException"/> to answer when the call does not carry this node's token (nothing when it has none).</summary>
    public static void Demand(ServerCallContext context, ReplicationManager node, ILogger logger)
    {
        var expected = node.Options.AuthToken;
        if (expected.Length == 0)
        {
            return;
        }

        var presented = context.RequestHeaders.GetValue(Header);
        if (presented is { Length: > 0 } && Same(presented, expected))
        {
            return;
        }

        Interlocked.Increment(ref node.Counters.StreamsRefusedCount);
        if (string.IsNullOrEmpty(presented))
        {
            logger.LogWarning("Replication: refused a stream from {Peer}: no replication token (the replica needs replication.auth_token)", context.Peer);
            throw new RpcException(new Status(StatusCode.Unauthenticated, $"this master requires a replication token: set replication.auth_token on the replica (metadata `{Header}`)"));
        }

        logger.LogWarning("Replication: refused a stream from {Peer}: wrong replication token", context.Peer);
        throw new RpcException(new Status(StatusCode.PermissionDenied, "the replication token does not match this master's replication.auth_token"));
    }

    private static bool Same(string presented, string expected) =>
        CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(presented)), SHA256.HashData(Encoding.UTF8.GetBytes(expected)));
}
