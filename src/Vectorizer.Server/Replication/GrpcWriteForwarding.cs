using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;
using Vectorizer.Engine.Errors;
using Vectorizer.Server.Configuration;
using Vectorizer.Server.Grpc;
using Vectorizer.Server.Observability;

namespace Vectorizer.Server.Replication;

/// <summary>
/// A replica's gate for Qdrant's gRPC API: a write (<see cref="WriteForwarding.IsWrite"/>, the rule REST uses) is
/// re-issued, same method, same request message, with the caller's metadata (so its API key or token), deadline and
/// cancellation, to the master's gRPC address (from the stream's Start), and the master's response or status is returned
/// unchanged, with the trailer <c>x-vectorizer-forwarded-to</c>. Without <c>forward_writes</c>, or before the master is
/// known, the write is refused with <c>NotMaster</c> (FAILED_PRECONDITION) naming the master. Reads run here.
/// </summary>
public sealed class GrpcWriteForwarding(ReplicationManager node, ForwardingChannels channels, ForwardedWrites counter) : Interceptor
{
    public const string ForwardedToTrailer = "x-vectorizer-forwarded-to";

    /// <summary>Request metadata that belongs to one HTTP/2 hop (the channel sets its own) or is ours to set.</summary>
    private static readonly HashSet<string> NotForwarded = new(StringComparer.OrdinalIgnoreCase)
    {
        "te", "content-type", "content-length", "host", "connection", "user-agent", "accept-encoding", "traceparent", "tracestate",
        WriteForwarding.ForwardedByHeader,
    };

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        var http = context.GetHttpContext();
        if (node.Role == ReplicationRole.Master || !WriteForwarding.IsWrite(http))
        {
            return await continuation(request, context).ConfigureAwait(false);
        }

        var master = WriteForwarding.Target(node, http, node.MasterGrpcAddress, "gRPC");
        if (request is not IMessage)
        {
            throw new VectorizerException(ErrorCode.Internal, $"gRPC method {context.Method} does not take a protobuf message");
        }

        var headers = new Metadata();
        foreach (var entry in context.RequestHeaders)
        {
            if (!entry.Key.StartsWith(':') && !entry.Key.StartsWith("grpc-", StringComparison.OrdinalIgnoreCase) && !NotForwarded.Contains(entry.Key))
            {
                headers.Add(entry);
            }
        }

        headers.Add(WriteForwarding.ForwardedByHeader, node.NodeId);
        var deadline = context.Deadline == DateTime.MaxValue ? (DateTime?)null : context.Deadline;
        var method = Codec<TRequest, TResponse>.Method(context.Method);
        counter.Add("grpc");
        using var call = channels.Get(master).CreateCallInvoker()
            .AsyncUnaryCall(method, null, new CallOptions(headers, deadline, context.CancellationToken), request);
        try
        {
            var response = await call.ResponseAsync.ConfigureAwait(false);
            context.ResponseTrailers.Add(ForwardedToTrailer, master);
            return response;
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable && e.Status.DebugException is not null && !context.CancellationToken.IsCancellationRequested)
        {
            // The master could not be reached (no answer of its own): say so, naming it.
            throw node.NotMaster($"forwarding the write to the master's gRPC address {master} failed: {e.Status.Detail}");
        }
        catch (RpcException e)
        {
            // The master's own status (a refused key, a bad request, ...) goes back unchanged.
            var trailers = new Metadata();
            foreach (var entry in e.Trailers)
            {
                if (!entry.Key.StartsWith("grpc-", StringComparison.OrdinalIgnoreCase))
                {
                    trailers.Add(entry);
                }
            }

            trailers.Add(ForwardedToTrailer, master);
            throw new RpcException(new Status(e.StatusCode, e.Status.Detail), trailers);
        }
    }

    /// <summary>Marshals a method's messages generically: requests by <see cref="IMessage"/>, responses by the type's static <c>Parser</c>.</summary>
    private static class Codec<TRequest, TResponse>
        where TRequest : class
        where TResponse : class
    {
        private static readonly ConcurrentDictionary<string, Method<TRequest, TResponse>> Methods = new(StringComparer.Ordinal);

        private static readonly MessageParser Parser =
            (MessageParser)(typeof(TResponse).GetProperty("Parser", System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)?.GetValue(null)
                ?? throw new InvalidOperationException($"{typeof(TResponse).Name} is not a generated protobuf message"));

        private static readonly Marshaller<TRequest> Requests = Marshallers.Create<TRequest>(
            r => ((IMessage)r).ToByteArray(), _ => throw new NotSupportedException("a forwarded request is only sent"));

        private static readonly Marshaller<TResponse> Responses = Marshallers.Create<TResponse>(
            _ => throw new NotSupportedException("a forwarded response is only received"), bytes => (TResponse)Parser.ParseFrom(bytes));

        /// <summary>The method of <paramref name="fullName"/> (<c>/qdrant.Points/Upsert</c>).</summary>
        public static Method<TRequest, TResponse> Method(string fullName) => Methods.GetOrAdd(fullName, name =>
        {
            var slash = name.LastIndexOf('/');
            return new Method<TRequest, TResponse>(MethodType.Unary, name[1..slash], name[(slash + 1)..], Requests, Responses);
        });
    }
}

/// <summary>One <see cref="GrpcChannel"/> per master address (HTTP/2 connections kept and multiplexed), disposed with the host.</summary>
public sealed class ForwardingChannels(VectorizerSettings settings) : IDisposable
{
    private readonly ConcurrentDictionary<string, GrpcChannel> channels = new(StringComparer.Ordinal);

    public GrpcChannel Get(string address) => channels.GetOrAdd(address, a => GrpcChannel.ForAddress(a, new GrpcChannelOptions
    {
        MaxReceiveMessageSize = null,
        MaxSendMessageSize = null,
        HttpHandler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            ConnectTimeout = TimeSpan.FromSeconds(settings.Replication.ReplicaTimeoutSecs),
            KeepAlivePingDelay = TimeSpan.FromSeconds(60),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(settings.Replication.ReplicaTimeoutSecs),
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
        },
    }));

    public void Dispose()
    {
        foreach (var channel in channels.Values)
        {
            channel.Dispose();
        }

        channels.Clear();
    }
}

/// <summary>
/// This node's gRPC address for other nodes (sent to replicas in the stream's Start): <c>cluster.advertise_grpc_address</c>,
/// else <c>cluster.advertise_address</c>'s host with the gRPC port this node listens on; null without gRPC or an address.
/// </summary>
public sealed class GrpcAdvertisement(VectorizerSettings settings, GrpcEndpoint endpoint)
{
    public string? Address
    {
        get
        {
            if (!endpoint.Enabled)
            {
                return null;
            }

            if (settings.Cluster.AdvertiseGrpcAddress.Length > 0)
            {
                return settings.Cluster.AdvertiseGrpcAddress.TrimEnd('/');
            }

            var port = endpoint.Listen?.IPEndPoint?.Port ?? settings.Server.GrpcPort;
            return port > 0 && Uri.TryCreate(settings.Cluster.AdvertiseAddress, UriKind.Absolute, out var rest)
                ? $"http://{(rest.HostNameType == UriHostNameType.IPv6 ? $"[{rest.IdnHost}]" : rest.IdnHost)}:{port}"
                : null;
        }
    }

    /// <summary>Cross-section rule: an advertised gRPC address needs gRPC served, and replication to be advertised to.</summary>
    public static IEnumerable<ConfigIssue> Check(VectorizerSettings settings)
    {
        if (settings.Cluster.AdvertiseGrpcAddress.Length > 0 && !settings.Server.GrpcEnabled)
        {
            yield return new ConfigIssue("cluster.advertise_grpc_address", "gRPC is off (server.grpc_enabled: false): nothing would answer at this address; remove it or enable gRPC");
        }
        else if (settings.Cluster.AdvertiseGrpcAddress.Length > 0 && !settings.Replication.Enabled)
        {
            yield return new ConfigIssue("cluster.advertise_grpc_address", "only replication uses this address (replicas forward gRPC writes there): set replication.enabled: true or remove it");
        }
    }
}

/// <summary>Writes a replica forwarded to its master, by transport: <c>vectorizer.replication.forwarded_writes</c>.</summary>
public sealed class ForwardedWrites
{
    private readonly Counter<long>? counter;

    public ForwardedWrites(IServiceProvider services)
    {
        counter = services.GetService<IMeterFactory>()?.Create(ServerTelemetry.MeterName)
            .CreateCounter<long>("vectorizer.replication.forwarded_writes", "{request}", "Writes this replica forwarded to the master, by transport (rest, grpc, mcp)");
    }

    public void Add(string transport) => counter?.Add(1, new KeyValuePair<string, object?>("transport", transport));
}
