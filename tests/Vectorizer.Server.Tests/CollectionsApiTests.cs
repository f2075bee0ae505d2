namespace Vectorizer.Server.Tests;

public class CollectionsApiTests
{
    [Fact]
    public async Task ServiceEndpointsAnswer()
    {
        await using var server = await TestServer.StartAsync();
        var root = await server.Get("/");
        Assert.Equal(200, root.Status);
        Assert.False(string.IsNullOrEmpty(root.Body.GetProperty("version").GetString()));
        foreach (var probe in new[] { "/healthz", "/livez", "/readyz" })
        {
            var response = await server.Client.GetAsync(probe);
            Assert.Equal(200, (int)response.StatusCode);
            Assert.NotEmpty(await response.Content.ReadAsStringAsync());
        }

        var health = await server.Get("/health");
        Assert.Equal("healthy", health.Body.GetProperty("status").GetString());
        Assert.True(health.Body.GetProperty("uptime_seconds").GetDouble() >= 0);

        await server.CreateCollection("a");
        await server.Put("/collections/a/points?wait=true", """{"points": [{"id": 1, "vector": [1, 0, 0, 0]}]}""");
        var status = await server.Get("/api/status");
        Assert.Equal(200, status.Status);
        Assert.Equal(1, status.Body.GetProperty("collections_count").GetInt32());
        Assert.Equal(1, status.Body.GetProperty("collections")[0].GetProperty("points_count").GetInt64());
        Assert.Equal(Path.GetFullPath(server.DataDir), status.Body.GetProperty("data_dir").GetString());
        Assert.True(status.Body.GetProperty("memory").GetProperty("process_working_set_bytes").GetInt64() > 0);
    }

    [Fact]
    public async Task CreateGetListExistsPatchDelete()
    {
        await using var server = await TestServer.StartAsync();
        (await server.Put("/collections/docs", """
            {"vectors": {"size": 8, "distance": "Dot"}, "hnsw_config": {"m": 24, "ef_construct": 64},
             "optimizers_config": {"indexing_threshold": 500}, "on_disk_payload": false}
            """)).AssertOk();
        var info = (await server.Get("/collections/docs")).AssertOk().Result;
        Assert.Equal("green", info.GetProperty("status").GetString());
        Assert.Equal(0, info.GetProperty("points_count").GetInt64());
        var config = info.GetProperty("config");
        Assert.Equal(8, config.GetProperty("params").GetProperty("vectors").GetProperty("size").GetInt32());
        Assert.Equal("Dot", config.GetProperty("params").GetProperty("vectors").GetProperty("distance").GetString());
        Assert.Equal(24, config.GetProperty("hnsw_config").GetProperty("m").GetInt32());
        Assert.Equal(10000, config.GetProperty("hnsw_config").GetProperty("full_scan_threshold").GetInt32());
        Assert.Equal(500, config.GetProperty("optimizer_config").GetProperty("indexing_threshold").GetInt32());
        Assert.False(config.GetProperty("params").GetProperty("on_disk_payload").GetBoolean());

        (await server.Put("/collections/docs", """{"vectors": {"size": 8, "distance": "Dot"}}""")).AssertError(409, "already exists");

        var list = (await server.Get("/collections")).AssertOk().Result.GetProperty("collections");
        Assert.Equal("docs", list[0].GetProperty("name").GetString());
        Assert.True((await server.Get("/collections/docs/exists")).Result.GetProperty("exists").GetBoolean());
        Assert.False((await server.Get("/collections/nope/exists")).Result.GetProperty("exists").GetBoolean());

        (await server.Patch("/collections/docs", """{"hnsw_config": {"ef_construct": 128}, "optimizers_config": {"deleted_threshold": 0.5}}""")).AssertOk();
        config = (await server.Get("/collections/docs")).Result.GetProperty("config");
        Assert.Equal(128, config.GetProperty("hnsw_config").GetProperty("ef_construct").GetInt32());
        Assert.Equal(24, config.GetProperty("hnsw_config").GetProperty("m").GetInt32());
        Assert.Equal(0.5, config.GetProperty("optimizer_config").GetProperty("deleted_threshold").GetDouble());

        Assert.True((await server.Delete("/collections/docs")).AssertOk().Result.GetBoolean());
        Assert.False((await server.Delete("/collections/docs")).AssertOk().Result.GetBoolean());
        (await server.Get("/collections/docs")).AssertError(404, "Collection `docs` doesn't exist!");
        Assert.Empty(Directory.GetDirectories(Path.Combine(server.DataDir, "collections")));
    }

    [Fact]
    public async Task NamedVectorsRoundTrip()
    {
        await using var server = await TestServer.StartAsync();
        (await server.Put("/collections/multi", """
            {"vectors": {"image": {"size": 4, "distance": "Euclid"}, "text": {"size": 2, "distance": "Cosine", "hnsw_config": {"m": 8}}}}
            """)).AssertOk();
        var vectors = (await server.Get("/collections/multi")).Result.GetProperty("config").GetProperty("params").GetProperty("vectors");
        Assert.Equal("Euclid", vectors.GetProperty("image").GetProperty("distance").GetString());
        Assert.Equal(8, vectors.GetProperty("text").GetProperty("hnsw_config").GetProperty("m").GetInt32());
        (await server.Put("/collections/multi/points?wait=true", """
            {"points": [{"id": 1, "vector": {"image": [1, 2, 3, 4], "text": [1, 0]}}, {"id": 2, "vector": {"text": [0, 1]}}]}
            """)).AssertOk();
        var hits = (await server.Post("/collections/multi/points/query", """{"query": [1, 0], "using": "text", "with_vector": true}""")).AssertOk().Result.GetProperty("points");
        Assert.Equal(2, hits.GetArrayLength());
        Assert.Equal(1, hits[0].GetProperty("id").GetInt32());
        Assert.Equal(4, hits[0].GetProperty("vector").GetProperty("image").GetArrayLength());
        var image = (await server.Post("/collections/multi/points/query", """{"query": [1, 2, 3, 5], "using": "image"}""")).AssertOk().Result.GetProperty("points");
        Assert.Equal(1, image.GetArrayLength()); // point 2 has no image vector
        Assert.Equal(1.0, image[0].GetProperty("score").GetDouble(), 5);
        (await server.Post("/collections/multi/points/query", """{"query": [1, 0]}""")).AssertError(400, "Not existing vector name");
        (await server.Post("/collections/multi/points/query", """{"query": [1, 0], "using": "audio"}""")).AssertError(400, "Not existing vector name error: audio");
    }

    [Fact]
    public async Task AliasesSwitchAtomicallyAndResolveEverywhere()
    {
        await using var server = await TestServer.StartAsync();
        await server.CreateCollection("v1");
        await server.CreateCollection("v2");
        await server.Put("/collections/v1/points?wait=true", """{"points": [{"id": 1, "vector": [1, 0, 0, 0]}]}""");
        await server.Put("/collections/v2/points?wait=true", """{"points": [{"id": 2, "vector": [0, 1, 0, 0]}, {"id": 3, "vector": [0, 0, 1, 0]}]}""");
        (await server.Post("/collections/aliases", """{"actions": [{"create_alias": {"collection_name": "v1", "alias_name": "live"}}]}""")).AssertOk();
        Assert.Equal(1, (await server.Post("/collections/live/points/count", "{}")).Result.GetProperty("count").GetInt32());

        // A failing action leaves every earlier action of the same request unapplied.
        (await server.Post("/collections/aliases", """
            {"actions": [{"delete_alias": {"alias_name": "live"}}, {"create_alias": {"collection_name": "missing", "alias_name": "live"}}]}
            """)).AssertError(404, "Collection `missing` doesn't exist!");
        Assert.Equal(1, (await server.Post("/collections/live/points/count", "{}")).Result.GetProperty("count").GetInt32());

        (await server.Post("/collections/aliases", """
            {"actions": [{"delete_alias": {"alias_name": "live"}}, {"create_alias": {"collection_name": "v2", "alias_name": "live"}}]}
            """)).AssertOk();
        Assert.Equal(2, (await server.Post("/collections/live/points/count", "{}")).Result.GetProperty("count").GetInt32());
        (await server.Put("/collections/live/points?wait=true", """{"points": [{"id": 4, "vector": [0, 0, 0, 1]}]}""")).AssertOk();
        Assert.Equal(3, (await server.Post("/collections/v2/points/count", "{}")).Result.GetProperty("count").GetInt32());
        Assert.Equal(3, (await server.Get("/collections/live")).AssertOk().Result.GetProperty("points_count").GetInt32());

        (await server.Post("/collections/aliases", """{"actions": [{"rename_alias": {"old_alias_name": "live", "new_alias_name": "prod"}}]}""")).AssertOk();
        var all = (await server.Get("/aliases")).AssertOk().Result.GetProperty("aliases");
        Assert.Equal(1, all.GetArrayLength());
        Assert.Equal("prod", all[0].GetProperty("alias_name").GetString());
        Assert.Equal("v2", all[0].GetProperty("collection_name").GetString());
        Assert.Equal(1, (await server.Get("/collections/v2/aliases")).Result.GetProperty("aliases").GetArrayLength());
        Assert.Equal(0, (await server.Get("/collections/v1/aliases")).Result.GetProperty("aliases").GetArrayLength());
        (await server.Post("/collections/aliases", """{"actions": [{"rename_alias": {"old_alias_name": "nope", "new_alias_name": "x"}}]}""")).AssertError(404, "Alias nope does not exists!");
        (await server.Post("/collections/aliases", """{"actions": [{"create_alias": {"collection_name": "v2", "alias_name": "v1"}}]}""")).AssertError(409, "already exists");
        (await server.Put("/collections/prod", """{"vectors": {"size": 4, "distance": "Dot"}}""")).AssertError(400, "Alias with the same name already exists");
        (await server.Get("/collections/live")).AssertError(404, "doesn't exist");
    }
}
