using System.Text.Json.Nodes;

namespace Vectorizer.Server.Tests;

/// <summary>
/// Qdrant's strict mode: every limit the server accepts is enforced on client requests (403, nothing changed), the
/// limits it cannot enforce are refused when the collection is created or patched, and the settings survive a restart.
/// </summary>
public class StrictModeTests
{
    private const string Points = """
        {"points": [
          {"id": 1, "vector": [1, 0, 0, 0], "payload": {"city": "Paris", "n": 1}},
          {"id": 2, "vector": [0, 1, 0, 0], "payload": {"city": "Rome", "n": 2}},
          {"id": 3, "vector": [0, 0, 1, 0], "payload": {"city": "Oslo", "n": 3}}
        ]}
        """;

    [Fact]
    public async Task EveryEnforcedLimitRefusesTheRequestAndChangesNothing()
    {
        await using var server = await TestServer.StartAsync();
        await server.CreateCollection("c", extra: """
            , "strict_mode_config": {"enabled": true, "max_query_limit": 5, "search_max_hnsw_ef": 64, "search_allow_exact": false,
                                     "search_max_oversampling": 2.0, "upsert_max_batchsize": 3, "search_max_batchsize": 2,
                                     "max_points_count": 4, "filter_max_conditions": 2, "condition_max_size": 2,
                                     "unindexed_filtering_retrieve": false, "unindexed_filtering_update": false, "max_payload_index_count": 1}
            """);
        (await server.Put("/collections/c/points?wait=true", Points)).AssertOk();
        (await server.Put("/collections/c/index?wait=true", """{"field_name": "city", "field_schema": "keyword"}""")).AssertOk();

        var refused = new (HttpMethod Method, string Path, string Body, string Message)[]
        {
            (HttpMethod.Post, "/collections/c/points/query", """{"query": [1, 0, 0, 0], "limit": 6}""", "\"limit\""),
            (HttpMethod.Post, "/collections/c/points/scroll", """{"limit": 6}""", "\"limit\""),
            (HttpMethod.Post, "/collections/c/points/query", """{"query": [1, 0, 0, 0], "limit": 1, "params": {"hnsw_ef": 65}}""", "\"hnsw_ef\""),
            (HttpMethod.Post, "/collections/c/points/query", """{"query": [1, 0, 0, 0], "limit": 1, "params": {"exact": true}}""", "Exact search disabled"),
            (HttpMethod.Post, "/collections/c/points/query", """{"query": [1, 0, 0, 0], "limit": 1, "params": {"quantization": {"oversampling": 3.0}}}""", "oversampling"),
            (HttpMethod.Post, "/collections/c/points/query", """{"prefetch": [{"query": [1, 0, 0, 0], "limit": 50}], "query": {"fusion": "rrf"}, "limit": 1}""", "\"limit\""),
            (HttpMethod.Post, "/collections/c/points/query/batch", """{"searches": [{"query": [1, 0, 0, 0], "limit": 1}, {"query": [1, 0, 0, 0], "limit": 1}, {"query": [1, 0, 0, 0], "limit": 1}]}""", "batch size"),
            (HttpMethod.Post, "/collections/c/points/count", """{"filter": {"must": [{"key": "n", "match": {"value": 1}}]}}""", "Index required but not found for \"n\""),
            (HttpMethod.Post, "/collections/c/points/scroll", """{"limit": 1, "filter": {"must": [{"key": "city", "match": {"value": "Rome"}}, {"key": "city", "match": {"value": "Rome"}}, {"key": "city", "match": {"value": "Rome"}}]}}""", "filter conditions"),
            (HttpMethod.Post, "/collections/c/points/scroll", """{"limit": 1, "filter": {"must": [{"key": "city", "match": {"any": ["a", "b", "c"]}}]}}""", "condition size"),
            (HttpMethod.Post, "/collections/c/points/delete?wait=true", """{"filter": {"must": [{"key": "n", "range": {"gte": 0}}]}}""", "Index required but not found for \"n\""),
            (HttpMethod.Put, "/collections/c/points?wait=true", """{"points": [{"id": 7, "vector": [1, 1, 0, 0]}, {"id": 8, "vector": [1, 1, 0, 0]}]}""", "Max points count exceeded"),
            (HttpMethod.Put, "/collections/c/points?wait=true", """{"points": [{"id": 1, "vector": [1, 1, 0, 0]}, {"id": 2, "vector": [1, 1, 0, 0]}, {"id": 3, "vector": [1, 1, 0, 0]}, {"id": 4, "vector": [1, 1, 0, 0]}]}""", "upsert batch size"),
            (HttpMethod.Put, "/collections/c/index?wait=true", """{"field_name": "n", "field_schema": "integer"}""", "max_payload_index_count"),
        };
        foreach (var (method, path, body, message) in refused)
        {
            (await server.Send(method, path, body)).AssertError(403, message);
        }

        // Nothing changed: the same three points, one index.
        Assert.Equal(3, (await server.Post("/collections/c/points/count", "{}")).AssertOk().Result.GetProperty("count").GetInt32());
        var info = (await server.Get("/collections/c")).AssertOk().Result;
        Assert.Equal(["city"], info.GetProperty("payload_schema").EnumerateObject().Select(p => p.Name));

        // Within the limits everything works, including a filter on the indexed field.
        (await server.Post("/collections/c/points/query", """{"query": [1, 0, 0, 0], "limit": 5, "params": {"hnsw_ef": 64}, "filter": {"must": [{"key": "city", "match": {"any": ["Paris", "Rome"]}}]}}""")).AssertOk();
        (await server.Post("/collections/c/points/delete?wait=true", """{"filter": {"must": [{"key": "city", "match": {"value": "Oslo"}}]}}""")).AssertOk();
        (await server.Put("/collections/c/points?wait=true", """{"points": [{"id": 9, "vector": [1, 1, 0, 0]}, {"id": 10, "vector": [1, 1, 0, 0]}]}""")).AssertOk();
        Assert.Equal(4, (await server.Post("/collections/c/points/count", "{}")).AssertOk().Result.GetProperty("count").GetInt32());
    }

    [Fact]
    public async Task DisabledStrictModeLimitsNothingAndPatchTurnsItOn()
    {
        await using var server = await TestServer.StartAsync();
        await server.CreateCollection("c", extra: """, "strict_mode_config": {"enabled": false, "max_query_limit": 1}""");
        (await server.Put("/collections/c/points?wait=true", Points)).AssertOk();
        (await server.Post("/collections/c/points/query", """{"query": [1, 0, 0, 0], "limit": 3}""")).AssertOk();

        (await server.Patch("/collections/c", """{"strict_mode_config": {"enabled": true}}""")).AssertOk();
        (await server.Post("/collections/c/points/query", """{"query": [1, 0, 0, 0], "limit": 3}""")).AssertError(403, "Limit exceeded 3 > 1");
        var strict = JsonNode.Parse((await server.Get("/collections/c")).AssertOk().Result.GetProperty("config").GetProperty("strict_mode_config").GetRawText())!;
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"enabled": true, "max_query_limit": 1}"""), strict));
    }

    [Theory]
    [InlineData("""{"enabled": true, "read_rate_limit": 10}""", 400, "read_rate_limit: this limit is not enforced")]
    [InlineData("""{"enabled": true, "max_collection_vector_size_bytes": 1000}""", 400, "not enforced")]
    [InlineData("""{"enabled": true, "no_such_limit": 1}""", 400, "unknown field `no_such_limit`")]
    [InlineData("""{"max_query_limit": 0}""", 422, "must be 1 or more")]
    [InlineData("""{"max_query_limit": "ten"}""", 400, "expected an integer")]
    [InlineData("""{"enabled": "yes"}""", 400, "expected a boolean")]
    public async Task LimitsThatCannotBeEnforcedOrAreMalformedAreRefused(string strict, int status, string message)
    {
        await using var server = await TestServer.StartAsync();
        (await server.Put("/collections/c", $$"""{"vectors": {"size": 4, "distance": "Dot"}, "strict_mode_config": {{strict}}}""")).AssertError(status, message);
        (await server.Get("/collections/c")).AssertError(404, "c");

        await server.CreateCollection("d");
        (await server.Patch("/collections/d", $$"""{"strict_mode_config": {{strict}}}""")).AssertError(status, message);
        Assert.False((await server.Get("/collections/d")).AssertOk().Result.GetProperty("config").TryGetProperty("strict_mode_config", out _));
    }

    [Fact]
    public async Task StrictModeSurvivesARestart()
    {
        var dataDir = TestServer.NewDataDir();
        await using (var server = await TestServer.StartAsync(dataDir: dataDir))
        {
            await server.CreateCollection("c", extra: """, "strict_mode_config": {"enabled": true, "max_query_limit": 2, "search_max_oversampling": 1.5}""");
        }

        await using var reopened = await TestServer.StartAsync(dataDir: dataDir);
        (await reopened.Post("/collections/c/points/scroll", """{"limit": 3}""")).AssertError(403, "Limit exceeded 3 > 2");
        var strict = JsonNode.Parse((await reopened.Get("/collections/c")).AssertOk().Result.GetProperty("config").GetProperty("strict_mode_config").GetRawText())!;
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"enabled": true, "max_query_limit": 2, "search_max_oversampling": 1.5}"""), strict));
    }
}
