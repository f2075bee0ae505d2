using System.Text.Json.Nodes;

namespace Vectorizer.Server.Tests;

/// <summary>
/// The API's <c>config</c> and <c>payload_schema</c> objects are rendered by the server from the engine's typed settings.
/// The golden files under <c>Fixtures/collection-info</c> are what the code before that change (main at ff4e969, which
/// echoed the stored JSON) answered to the same requests: the rendering must not drift from them.
/// </summary>
public class CollectionConfigApiTests
{
    private static readonly (string Name, string Create, string[] Indexes)[] Collections =
    [
        ("rich", """
            {"vectors": {"image": {"size": 4, "distance": "Dot", "hnsw_config": {"m": 8, "ef_construct": 64}, "quantization_config": {"binary": {"always_ram": true}}, "on_disk": true, "datatype": "float32"},
                         "text": {"size": 3, "distance": "Cosine"}},
             "sparse_vectors": {"bm25": {"modifier": "idf", "index": {"full_scan_threshold": 1234, "on_disk": false}}, "plain": {}},
             "shard_number": 1, "replication_factor": 1, "on_disk_payload": true,
             "hnsw_config": {"m": 24, "ef_construct": 120, "full_scan_threshold": 5000, "ef": 300, "payload_m": 12},
             "optimizers_config": {"deleted_threshold": 0.3, "vacuum_min_vector_number": 500, "indexing_threshold": 0, "max_segment_size": 100000},
             "wal_config": {"wal_capacity_mb": 16, "wal_segments_ahead": 1},
             "quantization_config": {"scalar": {"type": "int8", "quantile": 0.99, "always_ram": true}},
             "strict_mode_config": {"enabled": false, "max_query_limit": 100},
             "metadata": {"owner": "team-a", "tags": ["x", "y"], "nested": {"n": 1.5}}}
            """,
            [
                """{"field_name": "title", "field_schema": {"type": "text", "tokenizer": "prefix", "min_token_len": 2, "max_token_len": 10, "lowercase": true, "ascii_folding": true, "stopwords": {"custom": ["the", "a"]}, "phrase_matching": true}}""",
                """{"field_name": "year", "field_schema": {"type": "integer", "lookup": true, "range": false}}""",
                """{"field_name": "tenant", "field_schema": {"type": "keyword", "is_tenant": true}}""",
                """{"field_name": "meta.city", "field_schema": "keyword"}""",
                """{"field_name": "price", "field_schema": "float"}""",
            ]),
        ("single", """{"vectors": {"size": 8, "distance": "Euclid"}, "quantization_config": {"product": {"compression": "x16"}}}""", []),
        ("docs", """{"embedding": {"dense": {"provider": "hash", "dimension": 64}, "sparse": {"provider": "bm25"}}}""", []),
    ];

    [Fact]
    public async Task ConfigAndPayloadSchemaRenderAsBeforeTheTypedSettings()
    {
        await using var server = await TestServer.StartAsync();
        foreach (var (name, create, indexes) in Collections)
        {
            (await server.Put($"/collections/{name}", create)).AssertOk();
            foreach (var index in indexes)
            {
                (await server.Put($"/collections/{name}/index", index)).AssertOk();
            }

            var expected = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "collection-info", name + ".json")))!;
            var result = JsonNode.Parse((await server.Get($"/collections/{name}")).AssertOk().Result.GetRawText())!.AsObject();
            var actual = new JsonObject
            {
                ["config"] = result["config"]!.DeepClone(),
                ["payload_schema"] = result["payload_schema"]!.DeepClone(),
            };
            Assert.True(JsonNode.DeepEquals(expected, actual), $"{name}: expected\n{expected}\ngot\n{actual}");
        }
    }

    [Fact]
    public async Task PatchedSettingsRenderAsTyped()
    {
        await using var server = await TestServer.StartAsync();
        (await server.Put("/collections/c", """{"vectors": {"v": {"size": 4, "distance": "Dot", "quantization_config": {"scalar": {"type": "int8"}}}}, "metadata": {"a": 1, "b": 2}}""")).AssertOk();
        (await server.Patch("/collections/c", """{"vectors": {"v": {"quantization_config": "Disabled", "hnsw_config": {"m": 4}}}, "quantization_config": {"binary": {}}, "metadata": {"a": null, "c": [3]}}""")).AssertOk();
        var config = JsonNode.Parse((await server.Get("/collections/c")).AssertOk().Result.GetProperty("config").GetRawText())!;
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"size": 4, "distance": "Dot", "hnsw_config": {"m": 4}}"""), config["params"]!["vectors"]!["v"]));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"binary": {}}"""), config["quantization_config"]));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"b": 2, "c": [3]}"""), config["metadata"]));
    }

    [Theory]
    [InlineData("""{"type": "text", "max_token_len": 1.5}""", "max_token_len")]
    [InlineData("""{"type": "text", "stopwords": {"languages": ["english"]}}""", "not supported yet")]
    [InlineData("""{"type": "keyword", "is_tenant": "yes"}""", "expected a boolean")]
    [InlineData("""{"type": "integer", "range": 1}""", "expected a boolean")]
    public async Task BadIndexParametersAreRefusedAndChangeNothing(string schema, string message)
    {
        await using var server = await TestServer.StartAsync();
        await server.CreateCollection("c");
        (await server.Put("/collections/c/index", $$"""{"field_name": "f", "field_schema": {{schema}}}""")).AssertError(400, message);
        var info = (await server.Get("/collections/c")).AssertOk().Result;
        Assert.False(info.GetProperty("payload_schema").TryGetProperty("f", out _));
    }
}
