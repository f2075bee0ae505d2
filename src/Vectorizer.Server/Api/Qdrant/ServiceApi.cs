using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Vectorizer.Server.Api.Qdrant;

/// <summary>Qdrant's service endpoints: version and health probes.</summary>
public static class ServiceApi
{
    public static string Version { get; } =
        typeof(ServiceApi).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    /// <summary>The <c>title</c> of <c>GET /</c> and of gRPC's <c>HealthCheck</c>.</summary>
    public const string Title = "vectorizer - vector search engine (Qdrant-compatible)";

    public static IEndpointRouteBuilder MapServiceApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/", () => TypedResults.Json(new VersionInfo(Title, Version), ApiJson.Default.VersionInfo));
        app.MapGet("/healthz", () => TypedResults.Text("healthz check passed"));
        app.MapGet("/livez", () => TypedResults.Text("healthz check passed"));
        app.MapGet("/readyz", () => TypedResults.Text("all shards are ready"));
        return app;
    }
}
