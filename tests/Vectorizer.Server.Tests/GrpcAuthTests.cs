using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Qdrant.Client;
using Qdrant.Client.Grpc;

namespace Vectorizer.Server.Tests;

/// <summary>
/// Qdrant's gRPC API on a secured server, through the official client with Qdrant's <c>api-key</c> header (or a bearer
/// token): each rpc needs what the REST route of the same operation needs (read, write, manage), checked by the same
/// security pipeline; the health check stays open, as in Qdrant.
/// </summary>
public sealed class GrpcAuthTests
{
    private static (QdrantClient Client, GrpcChannel Channel) Connect(TestServer server, string? key, bool bearer = false)
    {
        var channel = GrpcChannel.ForAddress(server.GrpcUrl!);
        var invoker = key is null ? channel.CreateCallInvoker() : channel.Intercept(metadata =>
        {
            metadata.Add(bearer ? "authorization" : "api-key", bearer ? "Bearer " + key : key);
            return metadata;
        });
        return (new QdrantClient(new QdrantGrpcClient(invoker)), channel);
    }

    [Fact]
    public async Task RpcsNeedTheSameAccessAsTheirRestRoutes()
    {
        await using var server = await TestServer.StartAsync(Secure.Configure);
        var (full, fullChannel) = Connect(server, Secure.FullKey);
        var (read, readChannel) = Connect(server, Secure.ReadKey);
        var (anonymous, anonymousChannel) = Connect(server, null);
        var (wrong, wrongChannel) = Connect(server, Secure.WrongKey);
        var (scoped, scopedChannel) = Connect(server, Secure.Token(new Vectorizer.Server.Security.CollectionGrant("g", Write: true)), bearer: true);
        using (fullChannel)
        using (readChannel)
        using (anonymousChannel)
        using (wrongChannel)
        using (scopedChannel)
        {
            Assert.False(string.IsNullOrEmpty((await anonymous.HealthAsync()).Version));

            await full.CreateCollectionAsync("g", new VectorParams { Size = 2, Distance = Distance.Dot });
            await full.UpsertAsync("g", [new PointStruct { Id = 1, Vectors = new[] { 1f, 0f } }, new PointStruct { Id = 2, Vectors = new[] { 0f, 1f } }]);

            Assert.Equal(StatusCode.Unauthenticated, (await Assert.ThrowsAsync<RpcException>(() => anonymous.ListCollectionsAsync())).StatusCode);
            Assert.Equal(StatusCode.Unauthenticated, (await Assert.ThrowsAsync<RpcException>(() => wrong.CountAsync("g"))).StatusCode);

            // Read access reads, and nothing else.
            Assert.Equal(2ul, await read.CountAsync("g"));
            Assert.Equal(2, (await read.QueryAsync("g", new[] { 1f, 0f })).Count);
            Assert.Single(await read.RetrieveAsync("g", [1ul]));
            Assert.Equal(StatusCode.PermissionDenied, (await Assert.ThrowsAsync<RpcException>(() => read.UpsertAsync("g", [new PointStruct { Id = 3, Vectors = new[] { 1f, 1f } }]))).StatusCode);
            Assert.Equal(StatusCode.PermissionDenied, (await Assert.ThrowsAsync<RpcException>(() => read.DeleteCollectionAsync("g"))).StatusCode);

            // A collection-scoped read-write token writes points of its collection, but does not change its structure.
            await scoped.UpsertAsync("g", [new PointStruct { Id = 3, Vectors = new[] { 1f, 1f } }]);
            Assert.Equal(3ul, await scoped.CountAsync("g"));
            Assert.Equal(StatusCode.PermissionDenied, (await Assert.ThrowsAsync<RpcException>(() => scoped.CreatePayloadIndexAsync("g", "city"))).StatusCode);
            Assert.Equal(StatusCode.PermissionDenied, (await Assert.ThrowsAsync<RpcException>(() => scoped.CreateCollectionAsync("other", new VectorParams { Size = 2, Distance = Distance.Dot }))).StatusCode);
            Assert.False(await full.CollectionExistsAsync("other"));
        }
    }
}
