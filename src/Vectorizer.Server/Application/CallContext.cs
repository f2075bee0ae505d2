namespace Vectorizer.Server.Application;

/// <summary>
/// Who is calling, and through which transport. Each transport (REST, gRPC, MCP) builds one per call and passes it to
/// the application services, which are the one implementation of every operation; cross-cutting rules (access, routing
/// of reads through an alias, …) look only at this, never at <c>HttpContext</c> or gRPC types.
/// </summary>
public sealed class CallContext
{
    private readonly Func<string, string?> header;

    public CallContext(Access access, string transport, string? requestId = null, Func<string, string?>? header = null)
    {
        Access = access;
        Transport = transport;
        RequestId = requestId;
        this.header = header ?? (_ => null);
    }

    /// <summary>Work the server does for itself (the file watcher, scheduled jobs): full access.</summary>
    public static CallContext Internal { get; } = new(Access.Full, "internal");

    public Access Access { get; }

    /// <summary><c>rest</c>, <c>grpc</c>, <c>mcp</c> or <c>internal</c>.</summary>
    public string Transport { get; }

    /// <summary>The request's correlation id, when the transport has one.</summary>
    public string? RequestId { get; }

    /// <summary>A request header (REST) or metadata entry (gRPC), case-insensitive; null when absent.</summary>
    public string? Header(string name) => header(name);

    /// <summary>Set when a rollout routed this call through an alias; the transport completes it with the outcome.</summary>
    public RouteTicket? Route { get; set; }
}
