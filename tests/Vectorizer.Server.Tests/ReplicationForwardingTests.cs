using System.Text.RegularExpressions;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Qdrant.Client;
using Qdrant.Client.Grpc;

namespace Vectorizer.Server.Tests;

/// <summary>
/// Writes sent to a replica through Qdrant's gRPC API (the official .NET client) and MCP (the official C# MCP client)
/// reach the master with the caller's credentials, or are refused naming the master (<c>forward_writes: false</c>).
/// Real processes on 127.0.0.1: a master and a replica, as <see cref="ReplicationTests"/> starts them, with gRPC on.
/// </summary>
[Trait("Category", "Slow")]
public sealed class ReplicationForwardingTests : IAsyncLifetime
{
    private readonly List<ReplicationNode> nodes = [];
    private readonly List<IDisposable> disposables = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var disposable in disposables)
        {
            disposable.Dispose();
        }

        foreach (var node in nodes)
        {
            await node.DisposeAsync();
        }
    }

    [Fact]
    public async Task GrpcAndMcpWritesOnAReplicaAreForwardedToTheMasterWithTheCallersCredentials()
    {
        const string auth = "auth:\n  enabled: true\n  api_key: \"" + Secure.FullKey + "\"\n  read_only_api_key: \"" + Secure.ReadKey + "\"\n";
        const string streamToken = "  auth_token: \"forwarding-test-stream-secret\"\n"; // auth.enabled requires the stream's secret
        var master = await StartNodeAsync("m", "  role: master\n" + streamToken, auth);
        var replica = await StartNodeAsync("r1", Follow(master) + streamToken, auth);
        var onMaster = Qdrant(master, Secure.FullKey);
        var onReplica = Qdrant(replica, Secure.FullKey);
        var readOnReplica = Qdrant(replica, Secure.ReadKey);

        // A collection created through the replica (manage access, forwarded) appears on the master, then back on the replica.
        await onReplica.CreateCollectionAsync("docs", new VectorParams { Size = 4, Distance = Distance.Dot });
        Assert.True(await onMaster.CollectionExistsAsync("docs"));
        await EventuallyAsync(async () => await onReplica.CollectionExistsAsync("docs"), "the collection on the replica");

        // The official client upserts to the replica: the point is on the master at once (wait: true), and on the replica
        // once replicated.
        var result = await onReplica.UpsertAsync("docs", [new PointStruct { Id = 1, Vectors = new[] { 1f, 2f, 3f, 4f }, Payload = { ["city"] = "Oslo" } }]);
        Assert.Equal(UpdateStatus.Completed, result.Status);
        var stored = Assert.Single(await onMaster.RetrieveAsync("docs", [1ul], withPayload: true));
        Assert.Equal("Oslo", stored.Payload["city"].StringValue);
        await EventuallyAsync(async () => (await onReplica.RetrieveAsync("docs", [1ul])).Count == 1, "the point on the replica");

        // The forwarded response says where it went (a trailer, as REST's X-Vectorizer-Forwarded-To header).
        var points = new Points.PointsClient(Invoker(replica, Secure.FullKey));
        var call = points.UpsertAsync(new UpsertPoints { CollectionName = "docs", Wait = true, Points = { new PointStruct { Id = 2, Vectors = new[] { 1f, 0f, 0f, 0f } } } });
        await call.ResponseAsync;
        Assert.Equal(master.GrpcUrl, call.GetTrailers().GetValue("x-vectorizer-forwarded-to"));

        // Reads stay local: a read key reads the replica; its writes are refused (by the replica, and the master would too),
        // and a call without a key is not let through.
        Assert.Equal(2ul, await EventuallyCountAsync(readOnReplica, 2));
        var denied = await Assert.ThrowsAsync<RpcException>(() => readOnReplica.UpsertAsync("docs", [new PointStruct { Id = 3, Vectors = new[] { 1f, 1f, 1f, 1f } }]));
        Assert.Equal(StatusCode.PermissionDenied, denied.StatusCode);
        var anonymous = await Assert.ThrowsAsync<RpcException>(() => Qdrant(replica, null).DeleteAsync("docs", 1ul));
        Assert.Equal(StatusCode.Unauthenticated, anonymous.StatusCode);

        // The master's own refusal comes back unchanged: a bad request there is InvalidArgument here.
        var wrong = await Assert.ThrowsAsync<RpcException>(() => onReplica.UpsertAsync("docs", [new PointStruct { Id = 4, Vectors = new[] { 1f, 1f } }]));
        Assert.Equal(StatusCode.InvalidArgument, wrong.StatusCode);
        Assert.Equal(2ul, await onMaster.CountAsync("docs", exact: true));

        // MCP: the official client calls write tools on the replica; the data arrives on the master.
        await using (var mcp = await McpSupport.ConnectAsync(replica.Url, Secure.FullKey))
        {
            (await mcp.Call("upsert_points", """{"collection": "docs", "points": [{"id": 10, "vector": [0, 1, 0, 0], "payload": {"via": "mcp"}}], "wait": true}""")).Ok("upsert_points");
            var hit = Assert.Single(await onMaster.RetrieveAsync("docs", [10ul], withPayload: true));
            Assert.Equal("mcp", hit.Payload["via"].StringValue);
            (await mcp.Call("create_collection", """{"collection": "notes", "vectors": {"size": 2, "distance": "Cosine"}}""")).Ok("create_collection");
            Assert.True(await onMaster.CollectionExistsAsync("notes"));

            // Reads are answered by the replica itself.
            await EventuallyAsync(async () => (await mcp.Call("count_points", """{"collection": "docs"}""")).Ok("count_points").GetProperty("count").GetInt32() == 3, "the MCP point on the replica");
        }

        // A read-only key's MCP write is refused by the master (the replica forwarded its credentials as they were).
        await using (var readMcp = await McpSupport.ConnectAsync(replica.Url, Secure.ReadKey))
        {
            var (message, code, _) = (await readMcp.Call("upsert_points", """{"collection": "docs", "points": [{"id": 11, "vector": [1, 1, 1, 1]}]}""")).Failed("upsert_points");
            Assert.Equal("Forbidden", code);
            Assert.Contains("forbidden", message, StringComparison.OrdinalIgnoreCase);
        }

        Assert.Equal(3ul, await onMaster.CountAsync("docs", exact: true));

        // Counted by transport: 4 gRPC writes (create, 2 upserts, the bad one), 3 MCP calls (2 writes, the refused one).
        using var http = new HttpClient();
        http.DefaultRequestHeaders.Add("api-key", Secure.ReadKey);
        var metrics = await http.GetStringAsync(replica.Url + "/metrics");
        Assert.Matches(new Regex("""^vectorizer_replication_forwarded_writes_total\{[^}]*transport="grpc"[^}]*\} 4( |$)""", RegexOptions.Multiline), metrics);
        Assert.Matches(new Regex("""^vectorizer_replication_forwarded_writes_total\{[^}]*transport="mcp"[^}]*\} 3( |$)""", RegexOptions.Multiline), metrics);
    }

    [Fact]
    public async Task WithoutForwardingAReplicaRefusesGrpcAndMcpWritesNamingTheMasterAndChangesNothing()
    {
        var master = await StartNodeAsync("m", "  role: master\n");
        var replica = await StartNodeAsync("r2", Follow(master) + "  forward_writes: false\n");
        var onMaster = Qdrant(master, null);
        var onReplica = Qdrant(replica, null);
        await onMaster.CreateCollectionAsync("docs", new VectorParams { Size = 4, Distance = Distance.Dot });
        await onMaster.UpsertAsync("docs", [new PointStruct { Id = 1, Vectors = new[] { 1f, 2f, 3f, 4f } }]);
        await EventuallyAsync(async () => await onReplica.CollectionExistsAsync("docs") && await onReplica.CountAsync("docs", exact: true) == 1, "the replica caught up");

        var refused = await Assert.ThrowsAsync<RpcException>(() => onReplica.UpsertAsync("docs", [new PointStruct { Id = 2, Vectors = new[] { 1f, 0f, 0f, 0f } }]));
        Assert.Equal(StatusCode.FailedPrecondition, refused.StatusCode);
        Assert.Contains("master m at " + master.Url, refused.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("forward_writes: false", refused.Status.Detail, StringComparison.Ordinal);

        // Collection structure too (its service does not ask replication itself): refused, not created locally.
        var create = await Assert.ThrowsAsync<RpcException>(() => onReplica.CreateCollectionAsync("local", new VectorParams { Size = 2, Distance = Distance.Dot }));
        Assert.Equal(StatusCode.FailedPrecondition, create.StatusCode);

        await using (var mcp = await McpSupport.ConnectAsync(replica.Url))
        {
            var (message, code, status) = (await mcp.Call("upsert_points", """{"collection": "docs", "points": [{"id": 3, "vector": [0, 1, 0, 0]}]}""")).Failed("upsert_points");
            Assert.Equal("NotMaster", code);
            Assert.Equal(421, status);
            Assert.Contains("master m at " + master.Url, message, StringComparison.Ordinal);
            var (_, createCode, _) = (await mcp.Call("create_collection", """{"collection": "local", "vectors": {"size": 2, "distance": "Dot"}}""")).Failed("create_collection");
            Assert.Equal("NotMaster", createCode);

            // Reads still work on the replica.
            Assert.Equal(1, (await mcp.Call("count_points", """{"collection": "docs"}""")).Ok("count_points").GetProperty("count").GetInt32());
        }

        // Nothing changed anywhere.
        Assert.Equal(1ul, await onMaster.CountAsync("docs", exact: true));
        Assert.Equal(1ul, await onReplica.CountAsync("docs", exact: true));
        Assert.False(await onReplica.CollectionExistsAsync("local"));
        Assert.False(await onMaster.CollectionExistsAsync("local"));
    }

    // ------------------------------------------------------------------ helpers

    private static string Follow(ReplicationNode master) => ReplicationNode.Follow(master);

    private CallInvoker Invoker(ReplicationNode node, string? key)
    {
        var channel = GrpcChannel.ForAddress(node.GrpcUrl);
        disposables.Add(channel);
        return key is null ? channel.CreateCallInvoker() : channel.Intercept(metadata =>
        {
            metadata.Add("api-key", key);
            return metadata;
        });
    }

    private QdrantClient Qdrant(ReplicationNode node, string? key)
    {
        var client = new QdrantClient(new QdrantGrpcClient(Invoker(node, key)));
        disposables.Add(client);
        return client;
    }

    private static async Task EventuallyAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(200);
        }
    }

    private static async Task<ulong> EventuallyCountAsync(QdrantClient client, ulong expected)
    {
        ulong count = 0;
        await EventuallyAsync(async () => (count = await client.CountAsync("docs", exact: true)) == expected, $"{expected} points");
        return count;
    }

    private async Task<ReplicationNode> StartNodeAsync(string id, string replication, string extra = "")
    {
        var node = await ReplicationNode.StartAsync("forwarding-", id, replication, extra: extra, grpc: true);
        nodes.Add(node);
        return node;
    }
}

/// <summary><c>cluster.advertise_grpc_address</c> is enforced or refused, never ignored.</summary>
public sealed class ReplicationForwardingConfigTests
{
    [Theory]
    [InlineData("cluster:\n  advertise_grpc_address: \"host:6334\"\n", "cluster.advertise_grpc_address", "not an http(s) URL")]
    [InlineData("cluster:\n  advertise_grpc_address: \"http://host:6334/qdrant\"\n", "cluster.advertise_grpc_address", "without a path")]
    [InlineData("server:\n  grpc_enabled: false\nreplication:\n  enabled: true\ncluster:\n  advertise_grpc_address: \"http://host:6334\"\n", "cluster.advertise_grpc_address", "gRPC is off")]
    [InlineData("cluster:\n  advertise_grpc_address: \"http://host:6334\"\n", "cluster.advertise_grpc_address", "only replication uses")]
    public void AnAdvertisedGrpcAddressThatCannotBeUsedStopsTheServer(string yaml, string key, string fragment)
    {
        var issues = Vectorizer.Server.Configuration.ConfigLoader.ValidateYaml(yaml).Where(i => !i.IsWarning).ToList();
        Assert.Contains(issues, i => i.Key == key && i.Message.Contains(fragment, StringComparison.Ordinal));
    }

    [Fact]
    public void AReplicationNodeMayAdvertiseItsGrpcAddress()
    {
        var issues = Vectorizer.Server.Configuration.ConfigLoader.ValidateYaml(
            "replication:\n  enabled: true\ncluster:\n  advertise_address: \"http://10.0.0.5:15002\"\n  advertise_grpc_address: \"http://10.0.0.5:6334\"\n");
        Assert.DoesNotContain(issues, i => !i.IsWarning);
    }
}
