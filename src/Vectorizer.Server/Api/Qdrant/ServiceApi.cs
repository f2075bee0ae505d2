using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Vectorizer.Server.Application;
using Vectorizer.Server.Security;

namespace Vectorizer.Server.Api.Qdrant;

/// <summary>
/// Qdrant's service endpoints: the version handshake (<c>title</c>, <c>version</c>: the Qdrant API served, <c>commit</c>,
/// and <c>vectorizer_version</c>: this server's own) and <c>/healthz</c> (<c>/livez</c>, <c>/readyz</c>: <c>HealthApi</c>).
/// </summary>
public static class ServiceApi
{
    /// <summary>This server's own version (see <see cref="ServerInfo"/>).</summary>
    public static string Version => ServerInfo.Version;

    /// <summary>The <c>title</c> of <c>GET /</c> and of gRPC's <c>HealthCheck</c>.</summary>
    public const string Title = ServerInfo.Title;

    public static IEndpointRouteBuilder MapServiceApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/", () => TypedResults.Json(new VersionInfo(ServerInfo.Title, ServerInfo.QdrantVersion, ServerInfo.Commit, ServerInfo.Version), ApiJson.Default.VersionInfo)).AllowAnonymousProbe();
        app.MapGet("/healthz", () => TypedResults.Text("healthz check passed")).AllowAnonymousProbe();
        return app;
    }
}
