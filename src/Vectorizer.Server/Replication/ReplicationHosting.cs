using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Vectorizer.Engine.Errors;
using Vectorizer.Server.Application;
using Vectorizer.Server.Configuration;
using Vectorizer.Server.Hosting;
using Vectorizer.Server.Http;
using Vectorizer.Server.Security;

namespace Vectorizer.Server.Replication;

/// <summary>
/// Replication in the host: the stream's own Kestrel endpoint (<c>replication.bind_address</c>, HTTP/2 h2c), the
/// <see cref="ReplicationManager"/> (started once the engine has loaded), the REST write gate on replicas (forward or
/// refuse), and <c>/api/replication/*</c>.
/// </summary>
public static class ReplicationHosting
{
    public static WebApplicationBuilder AddVectorizerReplication(this WebApplicationBuilder builder, VectorizerSettings settings)
    {
        var services = builder.Services;
        if (!settings.Replication.Enabled)
        {
            services.TryAddSingleton<IWriteGuard, StandaloneWrites>();
            return builder;
        }

        services.AddSingleton<ReplicationManager>();
        services.AddSingleton<IReplicationControl>(provider => provider.GetRequiredService<ReplicationManager>());
        services.AddSingleton<IWriteGuard>(provider => provider.GetRequiredService<ReplicationManager>());
        services.AddHostedServiceAfterEngine<ReplicationManager>();
        services.AddHttpClient(WriteForwarding.ClientName).ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false });
        services.AddGrpc();
        var endpoint = ReplicationSection.ParseEndpoint(settings.Replication.BindAddress)!.Value;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            static void Http2(ListenOptions listen) => listen.Protocols = HttpProtocols.Http2;
            if (IPAddress.TryParse(endpoint.Host, out var address))
            {
                kestrel.Listen(address, endpoint.Port, Http2);
            }
            else if (endpoint.Host == "localhost")
            {
                kestrel.ListenLocalhost(endpoint.Port, Http2);
            }
            else
            {
                kestrel.ListenAnyIP(endpoint.Port, Http2);
            }
        });
        return builder;
    }

    /// <summary>On a replica, REST writes are forwarded to the master or refused (after routing: the endpoint says what it needs).</summary>
    public static WebApplication UseReplicationWrites(this WebApplication app)
    {
        if (app.Services.GetService<ReplicationManager>() is { } node)
        {
            app.Use((context, next) => WriteForwarding.InvokeAsync(context, next, node));
        }

        return app;
    }

    public static WebApplication MapReplicationApi(this WebApplication app)
    {
        var node = app.Services.GetService<ReplicationManager>();
        app.MapGet("/api/replication/status", (HttpContext context) =>
            node is null ? Disabled() : Results.Text(ReplicationStatus.Json(node), "application/json")).RequireAccess(AccessLevel.Read);
        app.MapPost("/api/replication/promote", async (HttpContext context) =>
        {
            if (node is null)
            {
                return Disabled();
            }

            await node.BecomeMasterAsync(node.Epoch + 1, context.RequestAborted).ConfigureAwait(false);
            return Results.Text(ReplicationStatus.Json(node), "application/json");
        }).RequireAccess(AccessLevel.Manage);
        app.MapGet("/api/replication/checksum", (HttpContext context, Engine.Collections.CollectionManager manager) =>
            Results.Text(ReplicationChecksum.Json(manager), "application/json")).RequireAccess(AccessLevel.Read);
        if (node is not null)
        {
            // The stream: only on its own port (RequireHost), open to any peer that reaches it (see docs/replication.md).
            var port = ReplicationSection.ParseEndpoint(node.Options.BindAddress)!.Value.Port;
            app.MapGrpcService<ReplicationStreamService>().RequireHost($"*:{port}").AllowAnonymousProbe();
        }

        return app;
    }

    private static IResult Disabled() =>
        throw new VectorizerException(ErrorCode.BadRequest, "replication is not enabled on this node (replication.enabled: false)");
}

/// <summary>The REST write gate of a replica.</summary>
internal static class WriteForwarding
{
    public const string ClientName = "replication-forward";

    private static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Transfer-Encoding", "Upgrade", "Proxy-Connection", "TE", "Trailer", "Host", "Content-Length",
    };

    public static async Task InvokeAsync(HttpContext context, RequestDelegate next, ReplicationManager node)
    {
        if (node.Role == ReplicationRole.Master || !IsWrite(context))
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        if (node.Role == ReplicationRole.Replica && node.Options.ForwardWrites && node.MasterAdvertiseAddress is { } master)
        {
            await ForwardAsync(context, master).ConfigureAwait(false);
            return;
        }

        throw node.NotMaster(node.Role == ReplicationRole.Replica
            ? node.Options.ForwardWrites ? "the master's address is not known yet (not connected), so the write cannot be forwarded" : "writes go to the master (forward_writes: false)"
            : "this node is fenced and takes no writes");
    }

    /// <summary>A data-changing REST endpoint (write or manage access), except what a replica does for itself (backups, snapshots, replication).</summary>
    private static bool IsWrite(HttpContext context)
    {
        if (context.GetEndpoint() is not { } endpoint || HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method))
        {
            return false;
        }

        var path = context.Request.Path.Value ?? "";
        if (path.StartsWith("/api/replication", StringComparison.Ordinal) || path.StartsWith("/api/backups", StringComparison.Ordinal) ||
            path.Contains("/snapshots", StringComparison.Ordinal) || (context.Request.ContentType?.StartsWith("application/grpc", StringComparison.Ordinal) ?? false))
        {
            return false;
        }

        return EndpointAccess.Declared(endpoint).Requirement is { Level: AccessLevel.Write or AccessLevel.Manage };
    }

    private static async Task ForwardAsync(HttpContext context, string master)
    {
        var client = context.RequestServices.GetRequiredService<IHttpClientFactory>().CreateClient(ClientName);
        var target = new Uri(new Uri(master.TrimEnd('/') + "/"), context.Request.Path.Value!.TrimStart('/') + context.Request.QueryString);
        using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), target);
        var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body, context.RequestAborted).ConfigureAwait(false);
        body.Position = 0;
        request.Content = new StreamContent(body);
        foreach (var (name, values) in context.Request.Headers)
        {
            if (HopByHop.Contains(name))
            {
                continue;
            }

            if (!request.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values))
            {
                request.Content.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
            }
        }

        request.Headers.TryAddWithoutValidation("X-Forwarded-By", context.RequestServices.GetRequiredService<ReplicationManager>().NodeId);
        HttpResponseMessage response;
        try
        {
            response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, context.RequestAborted).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new VectorizerException(ErrorCode.NotMaster, $"forwarding the write to the master at {master} failed: {e.Message}");
        }

        using (response)
        {
            context.Response.StatusCode = (int)response.StatusCode;
            foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
            {
                if (!HopByHop.Contains(name))
                {
                    context.Response.Headers[name] = values.ToArray();
                }
            }

            context.Response.Headers["X-Vectorizer-Forwarded-To"] = master;
            await response.Content.CopyToAsync(context.Response.Body, context.RequestAborted).ConfigureAwait(false);
        }
    }
}
