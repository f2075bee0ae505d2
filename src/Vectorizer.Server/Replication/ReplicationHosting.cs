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
using Vectorizer.Server.Mcp;
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
        services.AddSingleton<GrpcAdvertisement>();
        services.AddSingleton<ForwardingChannels>();
        services.AddSingleton<ForwardedWrites>();

        // gRPC writes on a replica: re-issued to the master (after GrpcHosting's error interceptor, which maps its refusals).
        services.AddGrpc(options => options.Interceptors.Add<GrpcWriteForwarding>());
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

/// <summary>
/// The write gate of a replica, and the one rule for what a write is (<see cref="IsWrite"/>): REST writes are proxied
/// here to the master's <c>advertise_address</c>; MCP <c>tools/call</c> requests of write tools (<see cref="McpWrites"/>)
/// are proxied to the master's <c>/mcp</c> the same way (the MCP transport is stateless: every POST stands alone); gRPC
/// writes are re-issued by <see cref="GrpcWriteForwarding"/>. A request a replica already forwarded
/// (<see cref="ForwardedByHeader"/>) is never forwarded again.
/// </summary>
internal static class WriteForwarding
{
    public const string ClientName = "replication-forward";

    /// <summary>Set on a forwarded request (HTTP header, gRPC metadata): the node id that forwarded it.</summary>
    public const string ForwardedByHeader = "x-vectorizer-forwarded-by";

    public const string ForwardedToHeader = "X-Vectorizer-Forwarded-To";

    private static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Transfer-Encoding", "Upgrade", "Proxy-Connection", "TE", "Trailer", "Host", "Content-Length",
    };

    public static async Task InvokeAsync(HttpContext context, RequestDelegate next, ReplicationManager node)
    {
        if (node.Role == ReplicationRole.Master || IsGrpc(context))
        {
            // gRPC writes are forwarded by GrpcWriteForwarding (an interceptor: it re-issues the call, not the bytes).
            await next(context).ConfigureAwait(false);
            return;
        }

        if (McpWrites.IsMcpPost(context.Request))
        {
            await McpAsync(context, next, node).ConfigureAwait(false);
            return;
        }

        if (!IsWrite(context))
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        await ForwardAsync(context, Target(node, context, node.MasterAdvertiseAddress, "REST"), "rest").ConfigureAwait(false);
    }

    /// <summary>
    /// An MCP POST: a write tool's call is proxied to the master's <c>/mcp</c>; when it cannot be, the refusal is left for
    /// the tool (<see cref="McpWrites.CheckWritable"/>) so the client gets an MCP tool error naming the master.
    /// </summary>
    private static async Task McpAsync(HttpContext context, RequestDelegate next, ReplicationManager node)
    {
        if (await McpWrites.IsWriteCallAsync(context.Request, context.RequestAborted).ConfigureAwait(false))
        {
            try
            {
                var master = Target(node, context, node.MasterAdvertiseAddress, "MCP");
                await ForwardAsync(context, master.TrimEnd('/') + McpSetup.Path, "mcp").ConfigureAwait(false);
                return;
            }
            catch (VectorizerException refused) when (!context.Response.HasStarted)
            {
                context.Request.Body.Position = 0;
                context.Items[McpWrites.RefusalItem] = refused;
            }
        }

        await next(context).ConfigureAwait(false);
    }

    /// <summary>
    /// A data-changing endpoint (write or manage access; REST routes and gRPC methods declare it the same way), except
    /// what a replica does for itself (backups, snapshots, replication).
    /// </summary>
    internal static bool IsWrite(HttpContext context)
    {
        if (context.GetEndpoint() is not { } endpoint || HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method))
        {
            return false;
        }

        var path = context.Request.Path.Value ?? "";
        if (path.StartsWith("/api/replication", StringComparison.Ordinal) || path.StartsWith("/api/backups", StringComparison.Ordinal) ||
            path.Contains("/snapshots", StringComparison.Ordinal) || path.StartsWith("/qdrant.Snapshots/", StringComparison.Ordinal))
        {
            return false;
        }

        return EndpointAccess.Declared(endpoint).Requirement is { Level: AccessLevel.Write or AccessLevel.Manage };
    }

    private static bool IsGrpc(HttpContext context) =>
        context.Request.ContentType?.StartsWith("application/grpc", StringComparison.Ordinal) ?? false;

    /// <summary>
    /// Where a write this replica does not take goes (<paramref name="address"/>: the master's address for the
    /// transport), or <c>NotMaster</c> naming the master and why it is not forwarded.
    /// </summary>
    internal static string Target(ReplicationManager node, HttpContext context, string? address, string transport)
    {
        var forwardedBy = context.Request.Headers[ForwardedByHeader].ToString();
        if (node.Role == ReplicationRole.Replica && node.Options.ForwardWrites && address is not null && forwardedBy.Length == 0)
        {
            return address;
        }

        throw node.NotMaster(
            node.Role != ReplicationRole.Replica ? "this node is fenced and takes no writes"
            : !node.Options.ForwardWrites ? "writes go to the master (forward_writes: false)"
            : forwardedBy.Length > 0 ? $"the write was forwarded here by {forwardedBy}, and a forwarded write is not forwarded again"
            : node.MasterNodeId is null ? "the master's address is not known yet (not connected), so the write cannot be forwarded"
            : $"the master advertises no {transport} address (cluster.advertise_address{(transport == "gRPC" ? ", or gRPC off there" : "")}), so the write cannot be forwarded");
    }

    private static async Task ForwardAsync(HttpContext context, string master, string transport)
    {
        var client = context.RequestServices.GetRequiredService<IHttpClientFactory>().CreateClient(ClientName);
        var target = transport == "mcp" ? new Uri(master + context.Request.QueryString)
            : new Uri(new Uri(master.TrimEnd('/') + "/"), context.Request.Path.Value!.TrimStart('/') + context.Request.QueryString);
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

        request.Headers.TryAddWithoutValidation(ForwardedByHeader, context.RequestServices.GetRequiredService<ReplicationManager>().NodeId);
        context.RequestServices.GetRequiredService<ForwardedWrites>().Add(transport);
        HttpResponseMessage response;
        try
        {
            response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, context.RequestAborted).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw context.RequestServices.GetRequiredService<ReplicationManager>().NotMaster($"forwarding the write to the master at {master} failed: {e.Message}");
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

            context.Response.Headers[ForwardedToHeader] = master;
            await response.Content.CopyToAsync(context.Response.Body, context.RequestAborted).ConfigureAwait(false);
        }
    }
}
