using Microsoft.AspNetCore.Http;
using Vectorizer.Server.Application;

namespace Vectorizer.Server.Http;

/// <summary>The <see cref="CallContext"/> of an HTTP request: made once per request and kept in its items.</summary>
public static class HttpCalls
{
    private const string Key = "vectorizer.call";

    /// <summary>The request's call context (full access until authentication sets <see cref="SetAccess"/>).</summary>
    public static CallContext Call(this HttpContext context)
    {
        if (context.Items.TryGetValue(Key, out var existing) && existing is CallContext call)
        {
            return call;
        }

        call = Create(context, Access.Full);
        context.Items[Key] = call;
        return call;
    }

    /// <summary>Records what the request's credential allows; later <see cref="Call"/>s carry it.</summary>
    public static void SetAccess(this HttpContext context, Access access) => context.Items[Key] = Create(context, access);

    private static CallContext Create(HttpContext context, Access access)
    {
        var headers = context.Request.Headers;
        // gRPC calls are HTTP/2 requests of the same pipeline (metadata are headers): one CallContext for both.
        var transport = context.Request.ContentType is { } type && type.StartsWith("application/grpc", StringComparison.Ordinal) ? "grpc" : "rest";
        return new CallContext(access, transport, context.TraceIdentifier, name => headers.TryGetValue(name, out var value) ? value.ToString() : null);
    }
}
