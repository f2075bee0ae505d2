using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Vectorizer.Server.Configuration;

namespace Vectorizer.Server.Grpc;

/// <summary>
/// Qdrant's gRPC API in the same <see cref="WebApplication"/> as REST: a second Kestrel endpoint (HTTP/2 only, no TLS:
/// gRPC clients speak h2c with prior knowledge) on <c>server.grpc_port</c>, so every middleware of the pipeline (request
/// id, access log, authentication) sees gRPC calls too; gRPC metadata are HTTP/2 headers.
/// </summary>
public static class GrpcHosting
{
    /// <summary>Opens the gRPC port and registers the services (nothing when <c>server.grpc_enabled</c> is false).</summary>
    public static WebApplicationBuilder AddVectorizerGrpc(this WebApplicationBuilder builder, VectorizerSettings settings)
    {
        var endpoint = new GrpcEndpoint(settings.Server.GrpcEnabled);
        builder.Services.AddSingleton(endpoint);
        if (!settings.Server.GrpcEnabled)
        {
            return builder;
        }

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            void Http2(ListenOptions listen)
            {
                listen.Protocols = HttpProtocols.Http2;
                endpoint.Listen = listen;
            }

            var port = settings.Server.GrpcPort;
            if (IPAddress.TryParse(settings.Server.Host, out var address))
            {
                kestrel.Listen(address, port, Http2);
            }
            else if (settings.Server.Host is "localhost")
            {
                kestrel.ListenLocalhost(port, Http2);
            }
            else
            {
                kestrel.ListenAnyIP(port, Http2);
            }
        });
        builder.Services.AddGrpc(options =>
        {
            options.Interceptors.Add<GrpcErrorInterceptor>();
            // No catch-all endpoint for unknown services: it would shadow REST's 405 for a known path with another
            // method; an unknown service still answers Unimplemented (the client reads the 404 so).
            options.IgnoreUnknownServices = true;
            // A request message may be as large as a REST body (upserts of many points).
            options.MaxReceiveMessageSize = (int)Math.Min(int.MaxValue, (long)settings.Limits.MaxRequestMb << 20);
            options.MaxSendMessageSize = null;
        });
        return builder;
    }

    public static WebApplication MapVectorizerGrpc(this WebApplication app)
    {
        if (app.Services.GetRequiredService<GrpcEndpoint>().Enabled)
        {
            // Each rpc carries the access it needs (GrpcAccess), checked by the same security pipeline as REST.
            app.MapGrpcService<QdrantGrpcService>().WithRpcAccess();
            app.MapGrpcService<CollectionsGrpcService>().WithRpcAccess();
            app.MapGrpcService<PointsGrpcService>().WithRpcAccess();
            app.MapGrpcService<SnapshotsGrpcService>().WithRpcAccess();
        }

        return app;
    }

    /// <summary>The gRPC address once the server started (<c>http://host:port</c>, the bound port when 0 was asked); null when disabled.</summary>
    public static string? ListeningAddress(WebApplication app)
    {
        var listen = app.Services.GetRequiredService<GrpcEndpoint>().Listen;
        if (listen?.IPEndPoint is not { } ip)
        {
            return null;
        }

        var host = ip.Address.Equals(IPAddress.Any) || ip.Address.Equals(IPAddress.IPv6Any) ? "0.0.0.0"
            : ip.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{ip.Address}]" : ip.Address.ToString();
        return $"http://{host}:{ip.Port}";
    }
}

/// <summary>Whether gRPC is on, and Kestrel's endpoint for it (Kestrel writes the bound port back into it).</summary>
public sealed class GrpcEndpoint(bool enabled)
{
    public bool Enabled { get; } = enabled;

    internal ListenOptions? Listen { get; set; }
}
