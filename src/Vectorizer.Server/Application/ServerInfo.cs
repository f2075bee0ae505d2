using System.Reflection;

namespace Vectorizer.Server.Application;

/// <summary>
/// What the server says about itself in Qdrant's version handshake (<c>GET /</c>, gRPC <c>HealthCheck</c>). Qdrant's
/// clients compare <see cref="QdrantVersion"/> with their own and warn when the major versions differ or the minor
/// versions are more than one apart, so it names the Qdrant API this server implements (the 1.19 contract), not this
/// server's own version, which is <see cref="Version"/>.
/// </summary>
public static class ServerInfo
{
    /// <summary>The Qdrant API version served: the contract of <c>qdrant-openapi-1.19.json</c> and the 1.19 protos.</summary>
    public const string QdrantVersion = "1.19.0";

    public const string Title = "vectorizer - vector search engine (Qdrant-compatible)";

    private static readonly string Informational =
        typeof(ServerInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";

    /// <summary>This server's own version (<c>Directory.Build.props</c>).</summary>
    public static string Version { get; } = Informational.Split('+')[0];

    /// <summary>The git commit the server was built from (the SDK appends it to the informational version), or null.</summary>
    public static string? Commit { get; } = Informational.Split('+') is [_, var commit, ..] && commit.Length > 0 ? commit : null;
}
