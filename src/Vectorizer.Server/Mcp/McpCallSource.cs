using Microsoft.AspNetCore.Http;
using Vectorizer.Engine.Errors;
using Vectorizer.Server.Application;
using Vectorizer.Server.Http;

namespace Vectorizer.Server.Mcp;

/// <summary>The <see cref="CallContext"/> of the MCP call being handled.</summary>
internal interface IMcpCallSource
{
    CallContext Current();
}

/// <summary>
/// Streamable HTTP: the access of the HTTP request that carried this message, as the security pipeline authenticated
/// it. The transport is stateless (the SDK's default since protocol 2026-07-28): every POST to <c>/mcp</c> stands alone
/// and is authenticated, and its handler runs in that request's execution context, so <see cref="IHttpContextAccessor"/>
/// is that request (were sessions turned on, the SDK's default <c>PerSessionExecutionContext = false</c> keeps this
/// true per request). Without a request the call is refused: never full access by default.
/// </summary>
internal sealed class HttpMcpCallSource(IHttpContextAccessor accessor) : IMcpCallSource
{
    public CallContext Current()
    {
        var http = accessor.HttpContext ?? throw new VectorizerException(ErrorCode.Forbidden, "Access forbidden: an MCP call arrived outside an HTTP request");
        var headers = http.Request.Headers;
        return new CallContext(http.Call().Access, "mcp", http.TraceIdentifier, name => headers.TryGetValue(name, out var value) ? value.ToString() : null);
    }
}

/// <summary>stdio with the data directory opened in-process: whoever started the process owns the directory.</summary>
internal sealed class LocalMcpCallSource : IMcpCallSource
{
    /// <summary>A context per call: a call's rollout routing (<see cref="CallContext.Route"/>) is its own.</summary>
    public CallContext Current() => new(Access.Full, "mcp");
}
