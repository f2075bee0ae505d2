using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Vectorizer.Engine.Errors;
using Vectorizer.Server.Application;
using Vectorizer.Server.Configuration;
using Vectorizer.Server.Http;

namespace Vectorizer.Server.Security;

/// <summary>
/// Authentication, authorisation and limits in the ASP.NET Core pipeline, after routing (they read the endpoint's
/// metadata) and before the endpoints. In order: the concurrency cap (503), authentication (the credential becomes an
/// <see cref="AuthResult"/>), the rate limit (per credential, else per client address; 429), then the endpoint's
/// requirement (401 without a valid credential, 403 without the right). gRPC and MCP hosted in this pipeline get the
/// same checks: their endpoints only need <see cref="EndpointAccess.RequireAccess"/>.
/// </summary>
public static class SecurityPipeline
{
    private const string ResultKey = "vectorizer.auth";

    public static IServiceCollection AddVectorizerSecurity(this IServiceCollection services, VectorizerSettings settings)
    {
        services.AddRateLimiter(_ => { }); // the limiters are configured where they are used (UseVectorizerSecurity)
        services.AddSingleton(new Authenticator(settings));
        services.AddSingleton(provider => new AllowedPaths(settings));
        services.AddSingleton<HealthChecks>();
        return services;
    }

    public static IApplicationBuilder UseVectorizerSecurity(this IApplicationBuilder app, VectorizerSettings settings)
    {
        var limits = settings.Limits;
        if (limits.MaxConcurrentRequests > 0)
        {
            app.UseRateLimiter(new RateLimiterOptions
            {
                GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(_ => RateLimitPartition.GetConcurrencyLimiter("server", _ => new ConcurrencyLimiterOptions
                {
                    PermitLimit = limits.MaxConcurrentRequests,
                    QueueLimit = limits.QueueLimit,
                    QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
                })),
                RejectionStatusCode = StatusCodes.Status503ServiceUnavailable,
                OnRejected = (context, _) => Reject(context.HttpContext, StatusCodes.Status503ServiceUnavailable, TimeSpan.FromSeconds(1),
                    $"Service unavailable: {limits.MaxConcurrentRequests} requests are running and {limits.QueueLimit} waiting (limits.max_concurrent_requests, limits.queue_limit); retry later"),
            });
        }

        var authenticator = app.ApplicationServices.GetRequiredService<Authenticator>();
        app.Use((context, next) => Authenticate(context, next, authenticator));

        var rate = settings.RateLimit;
        if (rate.Enabled)
        {
            var (tokens, period) = Replenishment(rate.RequestsPerMinute);
            app.UseRateLimiter(new RateLimiterOptions
            {
                GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context => RateLimitPartition.GetTokenBucketLimiter(PartitionKey(context), _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = rate.BurstSize,
                    TokensPerPeriod = tokens,
                    ReplenishmentPeriod = period,
                    QueueLimit = 0,
                    AutoReplenishment = true,
                })),
                RejectionStatusCode = StatusCodes.Status429TooManyRequests,
                OnRejected = (context, _) => Reject(context.HttpContext, StatusCodes.Status429TooManyRequests,
                    context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : period,
                    $"Too many requests: more than {rate.RequestsPerMinute} a minute (burst {rate.BurstSize}) for this {(Result(context.HttpContext).IsValid && authenticator.Enabled ? "credential" : "client")} (rate_limit); retry later"),
            });
        }

        var logger = app.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger("Vectorizer.Security");
        app.Use((context, next) => Authorize(context, next, authenticator, logger));
        return app;
    }

    /// <summary>The credential's outcome for this request (set by the authentication step).</summary>
    public static AuthResult Result(HttpContext context) =>
        context.Items.TryGetValue(ResultKey, out var value) && value is AuthResult result ? result : AuthResult.NotRequired;

    private static async Task Authenticate(HttpContext context, RequestDelegate next, Authenticator authenticator)
    {
        if (authenticator.Enabled && (context.GetEndpoint() is not { } endpoint || !EndpointAccess.Declared(endpoint).Anonymous))
        {
            var headers = context.Request.Headers;
            var result = await authenticator.AuthenticateAsync(headers[Authenticator.ApiKeyHeader].ToString(), headers.Authorization.ToString()).ConfigureAwait(false);
            context.Items[ResultKey] = result;
            if (result.Access is { } access)
            {
                context.SetAccess(access);
            }
        }

        await next(context).ConfigureAwait(false);
    }

    private static Task Authorize(HttpContext context, RequestDelegate next, Authenticator authenticator, ILogger logger)
    {
        if (!authenticator.Enabled)
        {
            return next(context);
        }

        var endpoint = context.GetEndpoint();
        var (anonymous, requirement) = endpoint is null ? (false, null) : EndpointAccess.Declared(endpoint);
        if (anonymous)
        {
            return next(context);
        }

        var result = Result(context);
        if (result.Access is not { } access)
        {
            logger.LogDebug("Refused {Method} {Path} from {Address}: {Reason}", context.Request.Method, context.Request.Path, context.Connection.RemoteIpAddress, result.Failure);
            context.Response.Headers.WWWAuthenticate = result.Kind == CredentialKind.Invalid
                ? "Bearer error=\"invalid_token\""
                : "Bearer";
            throw new ApiException(ApiErrorCode.Unauthorized, result.Failure ?? AuthResult.Missing.Failure!);
        }

        if (requirement is null)
        {
            if (endpoint is RouteEndpoint route)
            {
                // Fail closed: a route added without a declaration is unusable until it has one.
                logger.LogError("Endpoint {Route} declares no access requirement (RequireAccess); refused while authentication is enabled", route.RoutePattern.RawText);
                throw new VectorizerException(ErrorCode.Forbidden, $"Access forbidden: the endpoint {context.Request.Method} {route.RoutePattern.RawText} declares no access requirement");
            }

            // No endpoint (404) or a 405: a valid credential is enough to learn that.
            return next(context);
        }

        logger.LogDebug("{Method} {Path}: credential {Principal} has {Access}", context.Request.Method, context.Request.Path, result.Principal, access.Description);
        if (!(requirement.PerCollection && access.IsCollectionScoped && requirement.Level != AccessLevel.Manage))
        {
            // Global access is checked here, before the body is read; collection-scoped tokens are checked by the
            // application service on the collection the request resolves to (aliases included).
            access.Demand(requirement.Level, requirement.PerCollection ? context.Request.RouteValues["collection"] as string : null);
        }

        return next(context);
    }

    /// <summary>The rate-limit bucket: the credential's hash when valid, else the client's address.</summary>
    private static string PartitionKey(HttpContext context) =>
        Result(context) is { IsValid: true, Principal: { } principal }
            ? "credential:" + principal
            : "address:" + (context.Connection.RemoteIpAddress?.ToString() ?? "unknown");

    /// <summary>Refills of at least 100 ms (at most ten timer ticks a second) that add up to <paramref name="perMinute"/>.</summary>
    internal static (int Tokens, TimeSpan Period) Replenishment(int perMinute)
    {
        var tokens = Math.Max(1, (int)Math.Ceiling(perMinute / 600.0));
        return (tokens, TimeSpan.FromTicks(TimeSpan.FromMinutes(1).Ticks * tokens / perMinute));
    }

    private static async ValueTask Reject(HttpContext context, int status, TimeSpan retryAfter, string message)
    {
        context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        await QdrantResults.WriteError(context, status, message).ConfigureAwait(false);
    }
}
