using System.Text;
using System.Text.Json;
using Grpc.Core;
using Qdrant.Client;
using Qdrant.Client.Grpc;
using static Qdrant.Client.Grpc.Conditions;

namespace Vectorizer.Server.Tests;

/// <summary>
/// Qdrant's gRPC API driven by the official .NET client (Qdrant.Client) against a real server, and the same data read
/// back through REST: both transports call the same application services, so they must give the same answers.
/// </summary>
public class GrpcApiTests
{
    private static QdrantClient Client(TestServer server) => new(new Uri(server.GrpcUrl!));

    private static readonly string[] Cities = ["Berlin", "Paris", "Rome", "Oslo"];

    /// <summary>Named dense ("dense", 4 dims, cosine) and sparse ("sparse") vectors, 40 points with payloads.</summary>
    private static async Task<string> CreateAndFillAsync(QdrantClient client, string name = "grpc")
    {
        await client.CreateCollectionAsync(
            name,
            new VectorParamsMap { Map = { ["dense"] = new VectorParams { Size = 4, Distance = Distance.Cosine } } },
            sparseVectorsConfig: new SparseVectorConfig { Map = { ["sparse"] = new SparseVectorParams() } });
        var points = new List<PointStruct>();
        for (var i = 1; i <= 40; i++)
        {
            points.Add(new PointStruct
            {
                Id = (ulong)i,
                Vectors = new Dictionary<string, Vector>
                {
                    ["dense"] = new[] { i % 7 + 1f, i % 3 + 0.5f, i % 5 * 0.25f, 1f },
                    ["sparse"] = (new[] { 1f, i / 10f }, new uint[] { (uint)(i % 4), 10u + (uint)(i % 3) }),
                },
                Payload =
                {
                    ["city"] = Cities[i % 4],
                    ["n"] = i,
                    ["price"] = i * 1.5,
                    ["tags"] = new[] { "t" + (i % 2), "all" },
                    ["nested"] = new Dictionary<string, Value> { ["ok"] = i % 2 == 0 },
                },
            });
        }

        var result = await client.UpsertAsync(name, points, wait: true);
        Assert.Equal(UpdateStatus.Completed, result.Status);
        return name;
    }

    [Fact]
    public async Task HealthCheckAnswersTitleAndVersionAsRestDoes()
    {
        await using var server = await TestServer.StartAsync();
        using var client = Client(server);
        var health = await client.HealthAsync();
        using var rest = JsonDocument.Parse(await server.Client.GetStringAsync("/"));
        Assert.Equal(rest.RootElement.GetProperty("title").GetString(), health.Title);
        Assert.Equal(rest.RootElement.GetProperty("version").GetString(), health.Version);
    }

    [Fact]
    public async Task CollectionsAndAliasesThroughTheOfficialClient()
    {
        await using var server = await TestServer.StartAsync();
        using var client = Client(server);
        var name = await CreateAndFillAsync(client);

        Assert.True(await client.CollectionExistsAsync(name));
        Assert.False(await client.CollectionExistsAsync("nope"));
        Assert.Contains(name, await client.ListCollectionsAsync());

        var info = await client.GetCollectionInfoAsync(name);
        Assert.Equal(40ul, info.PointsCount);
        Assert.Equal(CollectionStatus.Green, info.Status);
        Assert.Equal(4ul, info.Config.Params.VectorsConfig.ParamsMap.Map["dense"].Size);
        Assert.Equal(Distance.Cosine, info.Config.Params.VectorsConfig.ParamsMap.Map["dense"].Distance);
        Assert.True(info.Config.Params.SparseVectorsConfig.Map.ContainsKey("sparse"));

        await client.CreatePayloadIndexAsync(name, "city", PayloadSchemaType.Keyword);
        info = await client.GetCollectionInfoAsync(name);
        Assert.Equal(PayloadSchemaType.Keyword, info.PayloadSchema["city"].DataType);
        Assert.Equal(40ul, info.PayloadSchema["city"].Points);

        await client.UpdateCollectionAsync(name, hnswConfig: new HnswConfigDiff { EfConstruct = 123 });
        Assert.Equal(123ul, (await client.GetCollectionInfoAsync(name)).Config.HnswConfig.EfConstruct);

        await client.CreateAliasAsync("grpc-alias", name);
        Assert.Contains(await client.ListAliasesAsync(), a => a.AliasName == "grpc-alias" && a.CollectionName == name);
        Assert.Single(await client.ListCollectionAliasesAsync(name));
        Assert.Equal(40ul, await client.CountAsync("grpc-alias"));
        await client.RenameAliasAsync("grpc-alias", "grpc-alias-2");
        Assert.Equal(40ul, await client.CountAsync("grpc-alias-2"));
        await client.DeleteAliasAsync("grpc-alias-2");
        Assert.Empty(await client.ListAliasesAsync());

        var cluster = await client.GetCollectionClusterSetupInfoAsync(name);
        Assert.Equal(1ul, cluster.ShardCount);
        Assert.Equal(40ul, cluster.LocalShards.Single().PointsCount);

        // The REST view of the same collection.
        using var rest = JsonDocument.Parse(await server.Client.GetStringAsync($"/collections/{name}"));
        Assert.Equal(40, rest.RootElement.GetProperty("result").GetProperty("points_count").GetInt32());
        Assert.Equal(123, rest.RootElement.GetProperty("result").GetProperty("config").GetProperty("hnsw_config").GetProperty("ef_construct").GetInt32());

        await client.DeleteCollectionAsync(name);
        Assert.False(await client.CollectionExistsAsync(name));
    }

    [Fact]
    public async Task PointsReadAndWrittenOverGrpcMatchRest()
    {
        await using var server = await TestServer.StartAsync();
        using var client = Client(server);
        var name = await CreateAndFillAsync(client);
        var query = new[] { 3f, 1.5f, 0.5f, 1f };

        // Query with a filter: same ids and scores as REST.
        var found = await client.QueryAsync(name, query, usingVector: "dense", filter: MatchKeyword("city", "Berlin"), limit: 5, payloadSelector: true);
        Assert.Equal(5, found.Count);
        Assert.All(found, p => Assert.Equal("Berlin", p.Payload["city"].StringValue));
        var restFound = await RestAsync(server, $"/collections/{name}/points/query",
            """{"query": [3, 1.5, 0.5, 1], "using": "dense", "filter": {"must": [{"key": "city", "match": {"value": "Berlin"}}]}, "limit": 5, "with_payload": true}""");
        var restPoints = restFound.GetProperty("points").EnumerateArray().ToList();
        Assert.Equal(restPoints.Select(p => p.GetProperty("id").GetUInt64()), found.Select(p => p.Id.Num));
        Assert.Equal(restPoints.Select(p => p.GetProperty("score").GetSingle()), found.Select(p => p.Score));
        Assert.Equal(restPoints[0].GetProperty("payload").GetProperty("n").GetInt64(), found[0].Payload["n"].IntegerValue);
        Assert.Equal(restPoints[0].GetProperty("payload").GetProperty("price").GetDouble(), found[0].Payload["price"].DoubleValue);

        // Prefetch dense and sparse, fused by RRF.
        var fused = await client.QueryAsync(
            name,
            prefetch:
            [
                new PrefetchQuery { Query = query, Using = "dense", Limit = 20 },
                new PrefetchQuery { Query = (new[] { 1f, 1f }, new uint[] { 1, 11 }), Using = "sparse", Limit = 20 },
            ],
            query: Fusion.Rrf,
            limit: 10);
        var restFused = await RestAsync(server, $"/collections/{name}/points/query",
            """{"prefetch": [{"query": [3, 1.5, 0.5, 1], "using": "dense", "limit": 20}, {"query": {"indices": [1, 11], "values": [1, 1]}, "using": "sparse", "limit": 20}], "query": {"fusion": "rrf"}, "limit": 10}""");
        Assert.Equal(10, fused.Count);
        Assert.Equal(restFused.GetProperty("points").EnumerateArray().Select(p => p.GetProperty("id").GetUInt64()), fused.Select(p => p.Id.Num));

        // The deprecated Search rpc (what older code calls).
#pragma warning disable CS0618 // the deprecated rpc is what older code calls
        var searched = await client.SearchAsync(name, query, vectorName: "dense", limit: 3, filter: Range("n", new Qdrant.Client.Grpc.Range { Gte = 10 }));
#pragma warning restore CS0618
        Assert.Equal(3, searched.Count);
        Assert.All(searched, p => Assert.True(p.Id.Num >= 10));

        // Scroll in pages of 15: every point once, in id order.
        var seen = new List<ulong>();
        PointId? offset = null;
        do
        {
            var page = await client.ScrollAsync(name, limit: 15, offset: offset);
            seen.AddRange(page.Result.Select(p => p.Id.Num));
            offset = page.NextPageOffset;
        }
        while (offset is not null);
        Assert.Equal(Enumerable.Range(1, 40).Select(i => (ulong)i), seen);

        // Count with a filter, as REST counts.
        var restCount = await RestAsync(server, $"/collections/{name}/points/count", """{"filter": {"must": [{"key": "tags", "match": {"value": "t1"}}]}}""");
        Assert.Equal((ulong)restCount.GetProperty("count").GetInt64(), await client.CountAsync(name, MatchKeyword("tags", "t1")));
        Assert.Equal(20ul, await client.CountAsync(name, MatchKeyword("tags", "t1")));

        // Retrieve with vectors and payload.
        var retrieved = await client.RetrieveAsync(name, [7ul, 8ul], withPayload: true, withVectors: true);
        Assert.Equal([7ul, 8ul], retrieved.Select(p => p.Id.Num).Order());
        var seven = retrieved.Single(p => p.Id.Num == 7);
        Assert.Equal(new[] { 1f, 1.5f, 0.5f, 1f }.Select(v => v / MathF.Sqrt(4.5f)), seven.Vectors.Vectors.Vectors["dense"].Dense.Data, new ToleranceComparer());
        Assert.Equal([3u, 11u], seven.Vectors.Vectors.Vectors["sparse"].Sparse.Indices);
        Assert.True(seven.Payload["nested"].StructValue.Fields["ok"].BoolValue is false);

        // Set payload, then read it back through REST.
        await client.SetPayloadAsync(name, new Dictionary<string, Value> { ["color"] = "red" }, 7ul);
        var restPoint = await RestGetAsync(server, $"/collections/{name}/points/7");
        Assert.Equal("red", restPoint.GetProperty("payload").GetProperty("color").GetString());

        // Delete by filter.
        await client.DeleteAsync(name, MatchKeyword("city", "Rome"));
        Assert.Equal(30ul, await client.CountAsync(name));
        var restAfter = await RestAsync(server, $"/collections/{name}/points/count", "{}");
        Assert.Equal(30, restAfter.GetProperty("count").GetInt32());
    }

    [Fact]
    public async Task RecommendDiscoverGroupsFacetMatrixAndNamedVectorsMatchRest()
    {
        await using var server = await TestServer.StartAsync();
        using var client = Client(server);
        var name = await CreateAndFillAsync(client);
        await client.CreatePayloadIndexAsync(name, "city", PayloadSchemaType.Keyword);

        // Recommend (the deprecated rpc and the query form), best score, as REST answers.
#pragma warning disable CS0618 // the deprecated rpc is what older code calls
        var recommended = await client.RecommendAsync(name, [1ul, 2ul], negative: [3ul], strategy: RecommendStrategy.BestScore, usingVector: "dense", limit: 5);
#pragma warning restore CS0618
        var restRecommended = await RestAsync(server, $"/collections/{name}/points/recommend",
            """{"positive": [1, 2], "negative": [3], "strategy": "best_score", "using": "dense", "limit": 5}""");
        Assert.Equal(restRecommended.EnumerateArray().Select(p => p.GetProperty("id").GetUInt64()), recommended.Select(p => p.Id.Num));
        Assert.Equal(restRecommended.EnumerateArray().Select(p => p.GetProperty("score").GetSingle()), recommended.Select(p => p.Score));
        Assert.DoesNotContain(recommended, p => p.Id.Num is 1 or 2 or 3);
        var queried = await client.QueryAsync(
            name,
            new Query { Recommend = new RecommendInput { Positive = { new VectorInput { Id = 1ul }, new VectorInput { Id = 2ul } }, Negative = { new VectorInput { Id = 3ul } }, Strategy = RecommendStrategy.BestScore } },
            usingVector: "dense",
            limit: 5);
        Assert.Equal(recommended.Select(p => p.Id.Num), queried.Select(p => p.Id.Num));

        // Discover: a target and a context pair.
#pragma warning disable CS0618
        var discovered = await client.DiscoverAsync(
            name,
            new TargetVector { Single = new VectorExample { Id = 4ul } },
            [new ContextExamplePair { Positive = new VectorExample { Id = 5ul }, Negative = new VectorExample { Id = 6ul } }],
            usingVector: "dense",
            limit: 4);
#pragma warning restore CS0618
        var restDiscovered = await RestAsync(server, $"/collections/{name}/points/discover",
            """{"target": 4, "context": [{"positive": 5, "negative": 6}], "using": "dense", "limit": 4}""");
        Assert.Equal(restDiscovered.EnumerateArray().Select(p => p.GetProperty("id").GetUInt64()), discovered.Select(p => p.Id.Num));

        // Query groups by city, two hits each.
        var groups = await client.QueryGroupsAsync(name, "city", query: new[] { 3f, 1.5f, 0.5f, 1f }, usingVector: "dense", limit: 3, groupSize: 2, payloadSelector: true);
        var restGroups = await RestAsync(server, $"/collections/{name}/points/query/groups",
            """{"query": [3, 1.5, 0.5, 1], "using": "dense", "group_by": "city", "limit": 3, "group_size": 2, "with_payload": true}""");
        Assert.Equal(restGroups.GetProperty("groups").EnumerateArray().Select(g => g.GetProperty("id").GetString()), groups.Select(g => g.Id.StringValue));
        Assert.All(groups, g =>
        {
            Assert.Equal(2, g.Hits.Count);
            Assert.All(g.Hits, h => Assert.Equal(g.Id.StringValue, h.Payload["city"].StringValue));
        });

        // Facet counts of the indexed field.
        var facet = (await client.FacetAsync(name, "city")).Hits;
        Assert.Equal(Cities.Order(StringComparer.Ordinal), facet.Select(h => h.Value.StringValue).Order(StringComparer.Ordinal));
        Assert.All(facet, h => Assert.Equal(10ul, h.Count));

        // The search matrix: 5 sampled points, 2 neighbours each.
        var pairs = await client.SearchMatrixPairsAsync(name, sample: 5, limit: 2, usingVector: "dense");
        Assert.Equal(10, pairs.Pairs.Count);
        var offsets = await client.SearchMatrixOffsetsAsync(name, sample: 5, limit: 2, usingVector: "dense");
        Assert.Equal(5, offsets.Ids.Count);
        Assert.Equal(10, offsets.Scores.Count);
        Assert.All(offsets.OffsetsRow.Zip(offsets.OffsetsCol), rc => Assert.NotEqual(rc.First, rc.Second));

        // Named vectors: created, filled, read back through REST, deleted.
        await client.CreateVectorNameAsync(new CreateVectorNameRequest { CollectionName = name, VectorName = "extra", DenseConfig = new DenseVectorCreationConfig { Size = 2, Distance = Distance.Euclid }, Wait = true });
        var restConfig = await RestGetAsync(server, $"/collections/{name}");
        Assert.Equal(2, restConfig.GetProperty("config").GetProperty("params").GetProperty("vectors").GetProperty("extra").GetProperty("size").GetInt32());
        await client.UpdateVectorsAsync(name, [new PointVectors { Id = 1ul, Vectors = new Dictionary<string, Vector> { ["extra"] = new[] { 3f, 4f } } }]);
        var restPoint = await RestGetAsync(server, $"/collections/{name}/points/1");
        Assert.Equal([3f, 4f], restPoint.GetProperty("vector").GetProperty("extra").EnumerateArray().Select(v => v.GetSingle()));
        await client.DeleteVectorNameAsync(new DeleteVectorNameRequest { CollectionName = name, VectorName = "extra", Wait = true });
        restConfig = await RestGetAsync(server, $"/collections/{name}");
        Assert.False(restConfig.GetProperty("config").GetProperty("params").GetProperty("vectors").TryGetProperty("extra", out _));

        // Errors as REST words them: an unknown example point is NotFound.
        var missing = await Assert.ThrowsAsync<RpcException>(() => client.QueryAsync(
            name,
            new Query { Recommend = new RecommendInput { Positive = { new VectorInput { Id = 4242ul } } } },
            usingVector: "dense"));
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task ErrorsBecomeQdrantsStatusCodesWithRestsMessages()
    {
        await using var server = await TestServer.StartAsync();
        using var client = Client(server);
        var missing = await Assert.ThrowsAsync<RpcException>(() => client.GetCollectionInfoAsync("missing"));
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
        using var rest = JsonDocument.Parse(await (await server.Client.GetAsync("/collections/missing")).Content.ReadAsStringAsync());
        Assert.Equal(rest.RootElement.GetProperty("status").GetProperty("error").GetString(), missing.Status.Detail);

        var name = await CreateAndFillAsync(client);
        var exists = await Assert.ThrowsAsync<RpcException>(() => client.CreateCollectionAsync(name, new VectorParams { Size = 4, Distance = Distance.Dot }));
        Assert.Equal(StatusCode.AlreadyExists, exists.StatusCode);

        var wrongDimension = await Assert.ThrowsAsync<RpcException>(() => client.UpsertAsync(name, [new PointStruct { Id = 99, Vectors = new Dictionary<string, Vector> { ["dense"] = new[] { 1f, 2f } } }]));
        Assert.Equal(StatusCode.InvalidArgument, wrongDimension.StatusCode);
        Assert.Equal(40ul, await client.CountAsync(name));

        var badUuid = await Assert.ThrowsAsync<RpcException>(() => client.RetrieveAsync(name, [new PointId { Uuid = "not-a-uuid" }]));
        Assert.Equal(StatusCode.InvalidArgument, badUuid.StatusCode);

        var unsupported = await Assert.ThrowsAsync<RpcException>(() => client.CreateCollectionAsync("multi", new VectorParams { Size = 4, Distance = Distance.Dot, MultivectorConfig = new MultiVectorConfig() }));
        Assert.Equal(StatusCode.InvalidArgument, unsupported.StatusCode);
        Assert.False(await client.CollectionExistsAsync("multi"));

        var snapshot = await Assert.ThrowsAsync<RpcException>(() => client.DeleteSnapshotAsync(name, "missing.snapshot"));
        Assert.Equal(StatusCode.NotFound, snapshot.StatusCode);
    }

    [Fact]
    public async Task SnapshotsAreRestsSnapshots()
    {
        await using var server = await TestServer.StartAsync();
        using var client = Client(server);
        var name = await CreateAndFillAsync(client);

        var created = await client.CreateSnapshotAsync(name);
        Assert.EndsWith(".snapshot", created.Name, StringComparison.Ordinal);
        Assert.True(created.Size > 0);
        var listed = Assert.Single(await client.ListSnapshotsAsync(name));
        Assert.Equal(created.Name, listed.Name);
        Assert.Equal(created.Checksum, listed.Checksum);

        // The same archive REST lists and serves: its checksum is the SHA-256 of the bytes downloaded.
        var rest = (await server.Get($"/collections/{name}/snapshots")).AssertOk().Result;
        Assert.Equal(created.Name, Assert.Single(rest.EnumerateArray()).GetProperty("name").GetString());
        var bytes = await server.Client.GetByteArrayAsync($"/collections/{name}/snapshots/{created.Name}");
        Assert.Equal(created.Checksum, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)));

        await client.DeleteSnapshotAsync(name, created.Name);
        Assert.Empty(await client.ListSnapshotsAsync(name));
        Assert.Equal(0, (await server.Get($"/collections/{name}/snapshots")).AssertOk().Result.GetArrayLength());

        var full = await client.CreateFullSnapshotAsync();
        Assert.StartsWith("full-snapshot-", full.Name, StringComparison.Ordinal);
        Assert.Equal(full.Name, Assert.Single(await client.ListFullSnapshotsAsync()).Name);
        await client.DeleteFullSnapshotAsync(full.Name);
        Assert.Empty(await client.ListFullSnapshotsAsync());
        Assert.Equal(StatusCode.NotFound, (await Assert.ThrowsAsync<RpcException>(() => client.DeleteFullSnapshotAsync(full.Name))).StatusCode);
        Assert.Equal(StatusCode.NotFound, (await Assert.ThrowsAsync<RpcException>(() => client.ListSnapshotsAsync("missing"))).StatusCode);
    }

    [Fact]
    public async Task UuidIdsUpdateBatchAndVectorsOnASingleVectorCollection()
    {
        await using var server = await TestServer.StartAsync();
        using var client = Client(server);
        await client.CreateCollectionAsync("single", new VectorParams { Size = 3, Distance = Distance.Euclid });
        var a = Guid.Parse("6f1c2e0b-2d4e-4b7a-9c1d-0a1b2c3d4e5f");
        var b = Guid.Parse("00000000-0000-4000-8000-000000000001");
        await client.UpsertAsync("single",
        [
            new PointStruct { Id = a, Vectors = new[] { 1f, 0f, 0f }, Payload = { ["k"] = "a" } },
            new PointStruct { Id = b, Vectors = new[] { 0f, 1f, 0f }, Payload = { ["k"] = "b" } },
        ]);
        var results = await client.UpdateBatchAsync("single",
        [
            new PointsUpdateOperation { UpdateVectors = new PointsUpdateOperation.Types.UpdateVectors { Points = { new PointVectors { Id = b, Vectors = new[] { 0f, 0f, 1f } } } } },
            new PointsUpdateOperation { DeletePayload = new PointsUpdateOperation.Types.DeletePayload { Keys = { "k" }, PointsSelector = new PointsSelector { Points = new PointsIdsList { Ids = { a } } } } },
        ]);
        Assert.Equal(2, results.Count);
        var points = await client.RetrieveAsync("single", [a, b], withPayload: true, withVectors: true);
        var pa = points.Single(p => p.Id.Uuid == a.ToString());
        var pb = points.Single(p => p.Id.Uuid == b.ToString());
        Assert.Empty(pa.Payload);
        Assert.Equal([0f, 0f, 1f], pb.Vectors.Vector.Dense.Data);

        var nearest = await client.QueryAsync("single", new[] { 0f, 0.1f, 0.9f }, limit: 1);
        Assert.Equal(b.ToString(), nearest.Single().Id.Uuid);
        var restPoint = await RestGetAsync(server, $"/collections/single/points/{b}");
        Assert.Equal([0f, 0f, 1f], restPoint.GetProperty("vector").EnumerateArray().Select(v => v.GetSingle()));
    }

    [Fact]
    public async Task GrpcCanBeTurnedOff()
    {
        await using var server = await TestServer.StartAsync(s => s.Server.GrpcEnabled = false);
        Assert.Null(server.GrpcUrl);
        Assert.Equal(System.Net.HttpStatusCode.OK, (await server.Client.GetAsync("/")).StatusCode);
    }

    private static async Task<JsonElement> RestAsync(TestServer server, string path, string body)
    {
        using var response = await server.Client.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        return JsonDocument.Parse(text).RootElement.GetProperty("result").Clone();
    }

    private static async Task<JsonElement> RestGetAsync(TestServer server, string path)
    {
        var text = await server.Client.GetStringAsync(path);
        return JsonDocument.Parse(text).RootElement.GetProperty("result").Clone();
    }

    private sealed class ToleranceComparer : IEqualityComparer<float>
    {
        public bool Equals(float x, float y) => MathF.Abs(x - y) < 1e-5f;

        public int GetHashCode(float obj) => 0;
    }
}
