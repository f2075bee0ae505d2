using System.Text.Json;

namespace Vectorizer.Server.Tests;

public class PointsApiTests
{
    private static async Task<TestServer> ServerWithCities()
    {
        var server = await TestServer.StartAsync();
        await server.CreateCollection("cities");
        (await server.Put("/collections/cities/points?wait=true", """
            {"points": [
              {"id": 1, "vector": [0.05, 0.61, 0.76, 0.74], "payload": {"city": "Berlin", "pop": 3.7, "tags": ["eu", "capital"], "founded": "1237-01-01T00:00:00Z"}},
              {"id": 2, "vector": [0.19, 0.81, 0.75, 0.11], "payload": {"city": "London", "pop": 8.9, "tags": ["uk", "capital"]}},
              {"id": 3, "vector": [0.36, 0.55, 0.47, 0.94], "payload": {"city": "Moscow", "pop": 12.5}},
              {"id": 4, "vector": [0.18, 0.01, 0.85, 0.80], "payload": {"city": "New York", "pop": 8.3}},
              {"id": 5, "vector": [0.24, 0.18, 0.22, 0.44], "payload": {"city": "Beijing", "pop": 21.5}},
              {"id": "3fa85f64-5717-4562-b3fc-2c963f66afa6", "vector": [0.35, 0.08, 0.11, 0.44], "payload": {"city": "Mumbai"}}
            ]}
            """)).AssertOk();
        return server;
    }

    private static List<string> Ids(JsonElement points) =>
        points.EnumerateArray().Select(p => p.GetProperty("id").ToString()).ToList();

    [Fact]
    public async Task UpsertListAndBatchFormsThenRetrieve()
    {
        await using var server = await TestServer.StartAsync();
        await server.CreateCollection("c", size: 2, distance: "Dot");
        var list = (await server.Put("/collections/c/points", """{"points": [{"id": 1, "vector": [1, 2], "payload": {"a": 1}}]}""")).AssertOk().Result;
        Assert.Equal("acknowledged", list.GetProperty("status").GetString());
        var batch = (await server.Put("/collections/c/points?wait=true&ordering=strong", """
            {"batch": {"ids": [2, "11111111-2222-3333-4444-555555555555"], "vectors": [[3, 4], [5, 6]], "payloads": [{"b": 2}, null]}}
            """)).AssertOk().Result;
        Assert.Equal("completed", batch.GetProperty("status").GetString());
        Assert.True(batch.GetProperty("operation_id").GetInt64() > list.GetProperty("operation_id").GetInt64());

        var records = (await server.Post("/collections/c/points", """{"ids": [2, 1, "11111111-2222-3333-4444-555555555555", 99], "with_vector": true}""")).AssertOk().Result;
        Assert.Equal(["2", "1", "11111111-2222-3333-4444-555555555555"], Ids(records));
        Assert.Equal(2, records[0].GetProperty("payload").GetProperty("b").GetInt32());
        Assert.Equal([3f, 4f], records[0].GetProperty("vector").EnumerateArray().Select(v => v.GetSingle()));
        Assert.Empty(records[2].GetProperty("payload").EnumerateObject());

        var one = (await server.Get("/collections/c/points/1")).AssertOk().Result;
        Assert.Equal(1, one.GetProperty("payload").GetProperty("a").GetInt32());
        Assert.Equal(2, one.GetProperty("vector").GetArrayLength());
        (await server.Get("/collections/c/points/42")).AssertError(404, "Point with id 42 does not exists!");
        (await server.Get("/collections/c/points/not-an-id")).AssertError(400, "Can not recognize \"not-an-id\" as point id");
        Assert.Equal("11111111-2222-3333-4444-555555555555", (await server.Get("/collections/c/points/{11111111-2222-3333-4444-555555555555}")).AssertOk().Result.GetProperty("id").GetString());

        // Upsert replaces the whole point, payload included.
        (await server.Put("/collections/c/points?wait=true", """{"points": [{"id": 1, "vector": [9, 9]}]}""")).AssertOk();
        var replaced = (await server.Get("/collections/c/points/1")).Result;
        Assert.Empty(replaced.GetProperty("payload").EnumerateObject());
        Assert.Equal(9, replaced.GetProperty("vector")[0].GetSingle());
    }

    [Fact]
    public async Task PayloadOperations()
    {
        await using var server = await ServerWithCities();
        (await server.Post("/collections/cities/points/payload?wait=true", """{"payload": {"visited": true, "pop": 4.0}, "points": [1]}""")).AssertOk();
        var p1 = (await server.Get("/collections/cities/points/1")).Result.GetProperty("payload");
        Assert.True(p1.GetProperty("visited").GetBoolean());
        Assert.Equal(4.0, p1.GetProperty("pop").GetDouble());
        Assert.Equal("Berlin", p1.GetProperty("city").GetString());

        (await server.Post("/collections/cities/points/payload?wait=true", """{"payload": {"lat": 52.5}, "points": [1], "key": "geo.center"}""")).AssertOk();
        Assert.Equal(52.5, (await server.Get("/collections/cities/points/1")).Result.GetProperty("payload").GetProperty("geo").GetProperty("center").GetProperty("lat").GetDouble());

        (await server.Post("/collections/cities/points/payload?wait=true", """{"payload": {"region": "asia"}, "filter": {"must": [{"key": "pop", "range": {"gt": 12}}]}}""")).AssertOk();
        Assert.Equal(2, (await server.Post("/collections/cities/points/count", """{"filter": {"must": [{"key": "region", "match": {"value": "asia"}}]}}""")).Result.GetProperty("count").GetInt32());

        (await server.Put("/collections/cities/points/payload?wait=true", """{"payload": {"only": 1}, "points": [2]}""")).AssertOk();
        Assert.Equal(["only"], (await server.Get("/collections/cities/points/2")).Result.GetProperty("payload").EnumerateObject().Select(p => p.Name));

        (await server.Post("/collections/cities/points/payload/delete?wait=true", """{"keys": ["tags", "geo.center"], "points": [1]}""")).AssertOk();
        var after = (await server.Get("/collections/cities/points/1")).Result.GetProperty("payload");
        Assert.False(after.TryGetProperty("tags", out _));
        Assert.Empty(after.GetProperty("geo").EnumerateObject());

        (await server.Post("/collections/cities/points/payload/clear?wait=true", """{"points": [3]}""")).AssertOk();
        Assert.Empty((await server.Get("/collections/cities/points/3")).Result.GetProperty("payload").EnumerateObject());

        (await server.Post("/collections/cities/points/payload?wait=true", """{"payload": {"x": 1}, "points": [777]}""")).AssertError(404, "No point with id 777 found");
        (await server.Post("/collections/cities/points/payload?wait=true", """{"payload": {"x": 1}}""")).AssertError(400, "Either list of point ids or filter must be provided");
    }

    [Fact]
    public async Task VectorOperationsAndDeletes()
    {
        await using var server = await TestServer.StartAsync();
        (await server.Put("/collections/m", """{"vectors": {"a": {"size": 2, "distance": "Dot"}, "b": {"size": 2, "distance": "Dot"}}}""")).AssertOk();
        (await server.Put("/collections/m/points?wait=true", """{"points": [{"id": 1, "vector": {"a": [1, 0], "b": [0, 1]}, "payload": {"k": "v"}}, {"id": 2, "vector": {"a": [0, 1]}}]}""")).AssertOk();
        (await server.Put("/collections/m/points/vectors?wait=true", """{"points": [{"id": 1, "vector": {"a": [5, 5]}}]}""")).AssertOk();
        var p1 = (await server.Get("/collections/m/points/1")).Result;
        Assert.Equal(5, p1.GetProperty("vector").GetProperty("a")[0].GetSingle());
        Assert.Equal(1, p1.GetProperty("vector").GetProperty("b")[1].GetSingle());
        Assert.Equal("v", p1.GetProperty("payload").GetProperty("k").GetString());

        (await server.Post("/collections/m/points/vectors/delete?wait=true", """{"vector": ["b"], "points": [1]}""")).AssertOk();
        Assert.False((await server.Get("/collections/m/points/1")).Result.GetProperty("vector").TryGetProperty("b", out _));
        Assert.Equal(0, (await server.Post("/collections/m/points/query", """{"query": [0, 1], "using": "b"}""")).Result.GetProperty("points").GetArrayLength());
        (await server.Put("/collections/m/points/vectors?wait=true", """{"points": [{"id": 9, "vector": {"a": [1, 1]}}]}""")).AssertError(404, "No point with id 9 found");

        (await server.Post("/collections/m/points/delete?wait=true", """{"points": [2, 99]}""")).AssertOk();
        Assert.Equal(1, (await server.Post("/collections/m/points/count", "{}")).Result.GetProperty("count").GetInt32());
        (await server.Post("/collections/m/points/delete?wait=true", """{"filter": {"must": [{"key": "k", "match": {"value": "v"}}]}}""")).AssertOk();
        Assert.Equal(0, (await server.Post("/collections/m/points/count", "{}")).Result.GetProperty("count").GetInt32());
    }

    [Fact]
    public async Task BatchAppliesOperationsInOrder()
    {
        await using var server = await TestServer.StartAsync();
        await server.CreateCollection("b", size: 2);
        var results = (await server.Post("/collections/b/points/batch?wait=true", """
            {"operations": [
              {"upsert": {"points": [{"id": 1, "vector": [1, 0]}, {"id": 2, "vector": [0, 1]}]}},
              {"upsert": {"batch": {"ids": [3], "vectors": [[1, 1]]}}},
              {"set_payload": {"payload": {"x": 1}, "points": [1, 3]}},
              {"overwrite_payload": {"payload": {"y": 2}, "points": [3]}},
              {"delete_payload": {"keys": ["x"], "points": [1]}},
              {"delete": {"points": [2]}},
              {"clear_payload": {"points": [3]}},
              {"update_vectors": {"points": [{"id": 1, "vector": [0.5, 0.5]}]}}
            ]}
            """)).AssertOk().Result;
        Assert.Equal(8, results.GetArrayLength());
        Assert.All(results.EnumerateArray(), r => Assert.Equal("completed", r.GetProperty("status").GetString()));
        var records = (await server.Post("/collections/b/points/scroll", """{"with_vector": true}""")).Result.GetProperty("points");
        Assert.Equal(["1", "3"], Ids(records));
        Assert.Empty(records[0].GetProperty("payload").EnumerateObject());
        Assert.Empty(records[1].GetProperty("payload").EnumerateObject());
        Assert.Equal(0.70710677f, records[0].GetProperty("vector")[0].GetSingle(), 5);

        // One invalid operation rejects the whole batch before anything is written.
        (await server.Post("/collections/b/points/batch?wait=true", """
            {"operations": [{"delete": {"points": [1]}}, {"upsert": {"points": [{"id": 5, "vector": [1, 2, 3]}]}}]}
            """)).AssertError(400, "expected dim: 2, got 3");
        Assert.Equal(2, (await server.Post("/collections/b/points/count", "{}")).Result.GetProperty("count").GetInt32());
    }

    [Fact]
    public async Task ScrollPagesInIdOrderWithFiltersSelectorsAndOrderBy()
    {
        await using var server = await ServerWithCities();
        var first = (await server.Post("/collections/cities/points/scroll", """{"limit": 4}""")).AssertOk().Result;
        Assert.Equal(["1", "2", "3", "4"], Ids(first.GetProperty("points")));
        Assert.Equal(5, first.GetProperty("next_page_offset").GetInt32());
        Assert.True(first.GetProperty("points")[0].TryGetProperty("payload", out _), "scroll returns payload by default");
        Assert.False(first.GetProperty("points")[0].TryGetProperty("vector", out _));
        var second = (await server.Post("/collections/cities/points/scroll", """{"limit": 4, "offset": 5}""")).Result;
        Assert.Equal(["5", "3fa85f64-5717-4562-b3fc-2c963f66afa6"], Ids(second.GetProperty("points")));
        Assert.Equal(JsonValueKind.Null, second.GetProperty("next_page_offset").ValueKind);

        var filtered = (await server.Post("/collections/cities/points/scroll", """
            {"filter": {"must": [{"key": "tags", "match": {"value": "capital"}}]}, "with_payload": {"include": ["city"]}}
            """)).Result.GetProperty("points");
        Assert.Equal(["1", "2"], Ids(filtered));
        Assert.Equal(["city"], filtered[0].GetProperty("payload").EnumerateObject().Select(p => p.Name));
        var excluded = (await server.Post("/collections/cities/points/scroll", """{"limit": 1, "with_payload": {"exclude": ["tags", "founded"]}}""")).Result.GetProperty("points");
        Assert.Equal(["city", "pop"], excluded[0].GetProperty("payload").EnumerateObject().Select(p => p.Name));
        var listed = (await server.Post("/collections/cities/points/scroll", """{"limit": 1, "with_payload": ["pop"], "with_vector": true}""")).Result.GetProperty("points");
        Assert.Equal(["pop"], listed[0].GetProperty("payload").EnumerateObject().Select(p => p.Name));
        Assert.Equal(4, listed[0].GetProperty("vector").GetArrayLength());

        // order_by needs a range index on the key, as in Qdrant.
        (await server.Post("/collections/cities/points/scroll", """{"order_by": "pop"}""")).AssertError(400, "No range index for `order_by` key: `pop`");
        (await server.Put("/collections/cities/index?wait=true", """{"field_name": "pop", "field_schema": "float"}""")).AssertOk();
        var ordered = (await server.Post("/collections/cities/points/scroll", """{"order_by": {"key": "pop", "direction": "desc"}, "limit": 3}""")).AssertOk().Result;
        Assert.Equal(["5", "3", "2"], Ids(ordered.GetProperty("points")));
        Assert.Equal(21.5, ordered.GetProperty("points")[0].GetProperty("order_value").GetDouble());
        Assert.Equal(JsonValueKind.Null, ordered.GetProperty("next_page_offset").ValueKind);
        var from = (await server.Post("/collections/cities/points/scroll", """{"order_by": {"key": "pop", "start_from": 8.3}}""")).Result.GetProperty("points");
        Assert.Equal(["4", "2", "3", "5"], Ids(from));
        (await server.Post("/collections/cities/points/scroll", """{"order_by": "pop", "offset": 1}""")).AssertError(400, "Cannot use an `offset` when using `order_by`");
    }

    [Fact]
    public async Task CountIsExact()
    {
        await using var server = await ServerWithCities();
        Assert.Equal(6, (await server.Post("/collections/cities/points/count", "")).AssertOk().Result.GetProperty("count").GetInt32());
        Assert.Equal(3, (await server.Post("/collections/cities/points/count", """{"filter": {"must": [{"key": "pop", "range": {"gte": 8.3, "lt": 20}}]}, "exact": true}""")).Result.GetProperty("count").GetInt32());
        Assert.Equal(1, (await server.Post("/collections/cities/points/count", """{"filter": {"must": [{"key": "founded", "range": {"lt": "1800-01-01T00:00:00Z"}}]}}""")).Result.GetProperty("count").GetInt32());
        Assert.Equal(4, (await server.Post("/collections/cities/points/count", """{"filter": {"must_not": [{"has_id": [1, "3fa85f64-5717-4562-b3fc-2c963f66afa6"]}]}}""")).Result.GetProperty("count").GetInt32());
    }
}
