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
/// it (every POST to <c>/mcp</c> is authenticated, so a session cannot outlive or borrow a credential). The SDK runs each
/// message's handler in the execution context of the request that carried it, so <see cref="IHttpContextAccessor"/>
/// is that request. Without one the call is refused: never full access by default.
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
    private readonly CallContext call = new(Access.Full, "mcp");

    public CallContext Current() => call;
}
