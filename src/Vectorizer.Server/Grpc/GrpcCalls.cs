using Grpc.Core;
using Vectorizer.Server.Application;
using Vectorizer.Server.Http;

namespace Vectorizer.Server.Grpc;

/// <summary>The <see cref="CallContext"/> of a gRPC call: the one of its HTTP/2 request (same access, request id, headers).</summary>
internal static class GrpcCalls
{
    public static CallContext Call(this ServerCallContext context) => context.GetHttpContext().Call();
}
