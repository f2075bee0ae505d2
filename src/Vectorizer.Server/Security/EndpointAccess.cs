using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Routing;
using Vectorizer.Server.Application;

namespace Vectorizer.Server.Security;

/// <summary>
/// Endpoint metadata: the access an endpoint needs. Every endpoint declares one (<see cref="EndpointAccess.RequireAccess"/>)
/// or is open (<see cref="EndpointAccess.AllowAnonymousProbe"/>); with authentication on, an endpoint that declares
/// nothing is refused to everyone (fail closed), and <c>SecurityScannerTests</c> fails on it.
/// </summary>
/// <param name="Level">Read, write or manage.</param>
/// <param name="PerCollection">
/// The operation targets (or lists) collections, so a collection-scoped token may call it and the application service
/// checks the collection (<see cref="CollectionsService.Resolve"/>). Implied by a <c>{collection}</c> route parameter.
/// Server-wide endpoints without it need global access (the full or read-only key, an <c>r</c>/<c>m</c> token).
/// </param>
public sealed record AccessRequirement(AccessLevel Level, bool PerCollection = false);

public static class EndpointAccess
{
    /// <summary>Declares the access the endpoint (or every endpoint of a group) needs.</summary>
    public static TBuilder RequireAccess<TBuilder>(this TBuilder builder, AccessLevel level, bool perCollection = false)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new AccessRequirement(level, perCollection));

    /// <summary>
    /// Open without a credential and exempt from rate limits: exactly what Qdrant leaves open (<c>/</c>, <c>/healthz</c>,
    /// <c>/livez</c>, <c>/readyz</c>), so orchestrators' probes work on a secured server.
    /// </summary>
    public static TBuilder AllowAnonymousProbe<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new AllowAnonymousAttribute(), new DisableRateLimitingAttribute());

    /// <summary>What the endpoint declares: its requirement, null when it allows anonymous calls.</summary>
    public static (bool Anonymous, AccessRequirement? Requirement) Declared(Endpoint endpoint)
    {
        var metadata = endpoint.Metadata;
        if (metadata.GetMetadata<IAllowAnonymous>() is not null)
        {
            return (true, null);
        }

        var requirement = metadata.GetMetadata<AccessRequirement>();
        if (requirement is { PerCollection: false } && endpoint is RouteEndpoint route && route.RoutePattern.GetParameter("collection") is not null)
        {
            requirement = requirement with { PerCollection = true };
        }

        return (false, requirement);
    }
}
