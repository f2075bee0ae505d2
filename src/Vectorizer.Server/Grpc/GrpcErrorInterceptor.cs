using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;
using Vectorizer.Server.Http;
using Vectorizer.Server.Rollouts;

namespace Vectorizer.Server.Grpc;

/// <summary>
/// Turns the typed errors of every layer into gRPC statuses (<see cref="GrpcErrorMapper"/>, beside the HTTP mapping),
/// with the same messages REST gives; anything unexpected is logged and becomes <c>Internal</c>. A routed read that
/// fails is counted as REST counts it (<see cref="RolloutsApi.IsFailure"/>).
/// </summary>
public sealed class GrpcErrorInterceptor(ILogger<GrpcErrorInterceptor> logger) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context).ConfigureAwait(false);
        }
        catch (RpcException)
        {
            throw;
        }
        catch (Exception e) when (GrpcErrorMapper.Map(e) is { } status)
        {
            // A routed read's outcome counts against the side that answered, by REST's rule (the HTTP status of a gRPC
            // call is 200 whatever happened, so the rollouts middleware cannot tell).
            context.Call().Route?.Complete(RolloutsApi.IsFailure(ErrorMapper.Map(e)?.Status ?? 500));
            throw new RpcException(status);
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.Cancelled, "The call was cancelled"));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            logger.LogError(e, "Unhandled error in {Method}", context.Method);
            context.Call().Route?.Complete(failed: true);
            throw new RpcException(new Status(StatusCode.Internal, "Service internal error: " + e.Message));
        }
    }
}
