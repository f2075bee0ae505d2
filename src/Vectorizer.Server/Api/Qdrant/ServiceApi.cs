using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Vectorizer.Server.Security;

namespace Vectorizer.Server.Api.Qdrant;

/// <summary>Qdrant's service endpoints: version and <c>/healthz</c> (<c>/livez</c>, <c>/readyz</c>: <c>HealthApi</c>).</summary>
public static class ServiceApi
{
    public static string Version { get; } =
        typeof(ServiceApi).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    public static IEndpointRouteBuilder MapServiceApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/", () => TypedResults.Json(new VersionInfo("vectorizer - vector search engine (Qdrant-compatible)", Version), ApiJson.Default.VersionInfo)).AllowAnonymousProbe();
        app.MapGet("/healthz", () => TypedResults.Text("healthz check passed")).AllowAnonymousProbe();
        return app;
    }
}
