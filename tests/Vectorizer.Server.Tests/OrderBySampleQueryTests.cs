using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Vectorizer.Server.Tests;

/// <summary>
/// <c>query: {"order_by": ...}</c> and <c>query: {"sample": "random"}</c> over HTTP: on their own, with filter, limit,
/// offset and output options, inside prefetch trees and in <c>query/batch</c>. Point i (1..30) has vector [i / 30, 1]
/// (so the Dot query [1, 0] ranks by id, highest first), <c>n</c> = 7i mod 30 (a permutation of 0..29),
/// <c>price</c> = 1.5 (i mod 5) (ties), <c>group</c> "a" when i is a multiple of 3, and a datetime <c>at</c>.
/// </summary>
public sealed class OrderBySampleQueryTests : IAsyncLifetime
{
    private const int Count = 30;

    private TestServer server = null!;

    private static int N(int i) => 7 * i % Count;

    private static double Price(int i) => 1.5 * (i % 5);

    private static bool GroupA(int i) => i % 3 == 0;

    public async Task InitializeAsync()
    {
        server = await TestServer.StartAsync();
        await server.CreateCollection("p", size: 2, distance: "Dot");
        var body = new StringBuilder("""{"points": [""");
        for (var i = 1; i <= Count; i++)
        {
            body.Append(i == 1 ? "" : ",").Append(CultureInfo.InvariantCulture, $$$"""
                {"id": {{{i}}}, "vector": [{{{(i / 30.0).ToString("R", CultureInfo.InvariantCulture)}}}, 1],
                 "payload": {"n": {{{N(i)}}}, "price": {{{Price(i).ToString(CultureInfo.InvariantCulture)}}}, "group": "{{{(GroupA(i) ? "a" : "b")}}}", "at": "2026-03-{{{i:D2}}}T12:00:00Z"}}
                """);
        }

        (await server.Put("/collections/p/points?wait=true", body.Append("]}").ToString())).AssertOk();
    }

    public async Task DisposeAsync() => await server.DisposeAsync();

    private async Task<JsonElement> Query(string body) =>
        (await server.Post("/collections/p/points/query", body)).AssertOk().Result.GetProperty("points");

    private static List<int> Ids(JsonElement points) => points.EnumerateArray().Select(p => p.GetProperty("id").GetInt32()).ToList();

    private async Task Index(string field, string schema) =>
        (await server.Put("/collections/p/index?wait=true", $$"""{"field_name": "{{field}}", "field_schema": {{schema}}}""")).AssertOk();

    [Fact]
    public async Task OrderByNeedsARangeIndex()
    {
        const string error = "No range index for `order_by` key: `n`";
        (await server.Post("/collections/p/points/query", """{"query": {"order_by": "n"}}""")).AssertError(400, error);
        (await server.Post("/collections/p/points/query", """{"prefetch": {"query": [1, 0]}, "query": {"order_by": "n"}}""")).AssertError(400, error);
        (await server.Post("/collections/p/points/query", """{"prefetch": {"query": {"order_by": "n"}}, "query": [1, 0]}""")).AssertError(400, error);
        (await server.Post("/collections/p/points/query/batch", """{"searches": [{"query": {"order_by": {"key": "n"}}}]}""")).AssertError(400, error);
        (await server.Post("/collections/p/points/scroll", """{"order_by": "n"}""")).AssertError(400, error);

        await Index("group", "\"keyword\"");
        (await server.Post("/collections/p/points/query", """{"query": {"order_by": "group"}}""")).AssertError(400, "No range index for `order_by` key: `group`");
        await Index("n", """{"type": "integer", "lookup": true, "range": false}""");
        (await server.Post("/collections/p/points/query", """{"query": {"order_by": "n"}}""")).AssertError(400, error);
        await Index("n", """{"type": "integer", "range": true}""");
        Assert.Equal(10, (await Query("""{"query": {"order_by": "n"}}""")).GetArrayLength());

        (await server.Post("/collections/p/points/query", """{"query": {"order_by": {"key": "n", "direction": "up"}}}""")).AssertError(400, "unknown variant `up`");
        (await server.Post("/collections/p/points/query", """{"query": {"order_by": {"direction": "asc"}}}""")).AssertError(400, "key");
    }

    [Fact]
    public async Task OrderByAscDescStartFromFilterOffset()
    {
        await Index("n", "\"integer\"");
        var all = Enumerable.Range(1, Count).ToList();

        var asc = await Query("""{"query": {"order_by": "n"}, "limit": 5}""");
        Assert.Equal(all.OrderBy(N).Take(5), Ids(asc));
        Assert.All(asc.EnumerateArray(), p => Assert.Equal(1.0, p.GetProperty("score").GetDouble()));
        Assert.Equal([0, 1, 2, 3, 4], asc.EnumerateArray().Select(p => p.GetProperty("order_value").GetInt32()));
        Assert.False(asc[0].TryGetProperty("payload", out _));

        var desc = await Query("""{"query": {"order_by": {"key": "n", "direction": "desc", "start_from": 20}}, "limit": 4}""");
        Assert.Equal(all.Where(i => N(i) <= 20).OrderByDescending(N).Take(4), Ids(desc));
        Assert.Equal(20, desc[0].GetProperty("order_value").GetInt32());

        var filtered = await Query("""
            {"query": {"order_by": {"key": "n", "direction": "asc", "start_from": 10}}, "limit": 3,
             "filter": {"must": [{"key": "group", "match": {"value": "a"}}]}, "with_payload": true, "with_vector": true}
            """);
        var expected = all.Where(i => GroupA(i) && N(i) >= 10).OrderBy(N).Take(3).ToList();
        Assert.Equal(expected, Ids(filtered));
        Assert.Equal("a", filtered[0].GetProperty("payload").GetProperty("group").GetString());
        Assert.Equal(2, filtered[0].GetProperty("vector").GetArrayLength());

        // A keyword index on the filter lets the planner sort just its candidates: same answer.
        await Index("group", "\"keyword\"");
        Assert.Equal(expected, Ids(await Query("""{"query": {"order_by": {"key": "n", "start_from": 10}}, "limit": 3, "filter": {"must": [{"key": "group", "match": {"value": "a"}}]}}""")));

        Assert.Equal(all.OrderBy(N).Skip(2).Take(3), Ids(await Query("""{"query": {"order_by": "n"}, "limit": 3, "offset": 2}""")));
        // Every point scores 1 in payload order: Qdrant refuses a score threshold rather than ignore it.
        (await server.Post("/collections/p/points/query", """{"query": {"order_by": "n"}, "score_threshold": 5}"""))
            .AssertError(400, "Can't use score_threshold with an order_by query.");

        // An overwritten value moves the point: its old index entry is stale and skipped.
        (await server.Post("/collections/p/points/payload?wait=true", """{"payload": {"n": 100}, "points": [30]}""")).AssertOk();
        Assert.Equal([13, 26], Ids(await Query("""{"query": {"order_by": "n"}, "limit": 2}""")));
        var top = await Query("""{"query": {"order_by": {"key": "n", "direction": "desc"}}, "limit": 1}""");
        Assert.Equal(30, top[0].GetProperty("id").GetInt32());
        Assert.Equal(100, top[0].GetProperty("order_value").GetInt32());
        (await server.Post("/collections/p/points/delete?wait=true", """{"points": [30, 13]}""")).AssertOk();
        Assert.Equal([26, 9], Ids(await Query("""{"query": {"order_by": "n"}, "limit": 2}""")));
    }

    [Fact]
    public async Task OrderByFloatTiesAndDatetime()
    {
        await Index("price", "\"float\"");
        await Index("at", "\"datetime\"");
        var all = Enumerable.Range(1, Count).ToList();

        // Ties go by id: ascending with asc, descending with desc (Qdrant's (value, id) order).
        Assert.Equal(all.OrderBy(Price).ThenBy(i => i).Take(8), Ids(await Query("""{"query": {"order_by": "price"}, "limit": 8}""")));
        var desc = await Query("""{"query": {"order_by": {"key": "price", "direction": "desc"}}, "limit": 8}""");
        Assert.Equal(all.OrderByDescending(Price).ThenByDescending(i => i).Take(8), Ids(desc));
        Assert.Equal(6.0, desc[0].GetProperty("order_value").GetDouble());
        Assert.Equal(4.5, (await Query("""{"query": {"order_by": {"key": "price", "start_from": 4.1}}, "limit": 1}"""))[0].GetProperty("order_value").GetDouble());

        var late = await Query("""{"query": {"order_by": {"key": "at", "direction": "desc", "start_from": "2026-03-10T12:00:00Z"}}, "limit": 2}""");
        Assert.Equal([10, 9], Ids(late));
        var micros = (new DateTimeOffset(2026, 3, 10, 12, 0, 0, TimeSpan.Zero) - DateTimeOffset.UnixEpoch).Ticks / 10;
        Assert.Equal(micros, late[0].GetProperty("order_value").GetInt64());
    }

    [Fact]
    public async Task OrderByMultipleValues()
    {
        await server.CreateCollection("m", size: 2);
        (await server.Put("/collections/m/points?wait=true", """
            {"points": [
              {"id": 1, "vector": [1, 0], "payload": {"v": [5, 1]}},
              {"id": 2, "vector": [1, 0], "payload": {"v": 3}},
              {"id": 3, "vector": [1, 0], "payload": {"v": [2, 2]}},
              {"id": 4, "vector": [1, 0], "payload": {"v": "not a number"}}
            ]}
            """)).AssertOk();
        (await server.Put("/collections/m/index?wait=true", """{"field_name": "v", "field_schema": "integer"}""")).AssertOk();

        // Query lists each point once, at its first value in the order; scroll lists it once per distinct value.
        var asc = (await server.Post("/collections/m/points/query", """{"query": {"order_by": "v"}}""")).AssertOk().Result.GetProperty("points");
        Assert.Equal([1, 3, 2], Ids(asc));
        Assert.Equal([1, 2, 3], asc.EnumerateArray().Select(p => p.GetProperty("order_value").GetInt32()));
        Assert.Equal([1, 2, 3], Ids((await server.Post("/collections/m/points/query", """{"query": {"order_by": {"key": "v", "direction": "desc"}}}""")).Result.GetProperty("points")));
        var scroll = (await server.Post("/collections/m/points/scroll", """{"order_by": "v"}""")).AssertOk().Result.GetProperty("points");
        Assert.Equal([1, 3, 2, 1], Ids(scroll));
        Assert.Equal([1, 2, 3, 5], scroll.EnumerateArray().Select(p => p.GetProperty("order_value").GetInt32()));
    }

    [Fact]
    public async Task OrderByInPrefetchTreesAndBatch()
    {
        await Index("n", "\"integer\"");

        // Re-order the ten nearest (ids 21..30) by n, descending.
        var rescored = await Query("""{"prefetch": {"query": [1, 0], "limit": 10}, "query": {"order_by": {"key": "n", "direction": "desc"}}, "limit": 4}""");
        Assert.Equal(Enumerable.Range(21, 10).OrderByDescending(N).Take(4), Ids(rescored));
        Assert.True(rescored[0].TryGetProperty("order_value", out _));

        // The five lowest n, re-ranked by vector.
        var lowest = Enumerable.Range(1, Count).OrderBy(N).Take(5).ToList();
        var byVector = await Query("""{"prefetch": {"query": {"order_by": "n"}, "limit": 5}, "query": [1, 0], "limit": 10}""");
        Assert.Equal(lowest.OrderByDescending(i => i), Ids(byVector));
        Assert.False(byVector[0].TryGetProperty("order_value", out _));

        // Fused with RRF: both ends of the order.
        var fused = await Query("""
            {"prefetch": [{"query": {"order_by": "n"}, "limit": 2}, {"query": {"order_by": {"key": "n", "direction": "desc"}}, "limit": 2}],
             "query": {"fusion": "rrf"}, "filter": {"must": [{"key": "group", "match": {"value": "b"}}]}}
            """);
        var groupB = Enumerable.Range(1, Count).Where(i => !GroupA(i)).ToList();
        Assert.Equal(groupB.OrderBy(N).Take(2).Concat(groupB.OrderByDescending(N).Take(2)).Order(), Ids(fused).Order());

        var batch = (await server.Post("/collections/p/points/query/batch", """
            {"searches": [{"query": {"order_by": "n"}, "limit": 2}, {"query": {"order_by": {"key": "n", "direction": "desc"}}, "limit": 1, "with_payload": ["n"]}]}
            """)).AssertOk().Result;
        Assert.Equal(lowest.Take(2), Ids(batch[0].GetProperty("points")));
        Assert.Equal(29, batch[1].GetProperty("points")[0].GetProperty("payload").GetProperty("n").GetInt32());
    }

    [Fact]
    public async Task SampleReturnsDistinctMatchingPoints()
    {
        var sample = await Query("""{"query": {"sample": "random"}, "limit": 5}""");
        var ids = Ids(sample);
        Assert.Equal(5, ids.Distinct().Count());
        Assert.All(ids, id => Assert.InRange(id, 1, Count));
        Assert.All(sample.EnumerateArray(), p => Assert.Equal(1.0, p.GetProperty("score").GetDouble()));

        // The filter bounds the sample; a limit above the matches returns them all.
        var groupA = Enumerable.Range(1, Count).Where(GroupA).ToList();
        const string filterA = """ "filter": {"must": [{"key": "group", "match": {"value": "a"}}]} """;
        Assert.Equal(groupA, Ids(await Query("""{"query": {"sample": "random"}, "limit": 50, """ + filterA + "}")).Order());
        var four = Ids(await Query("""{"query": {"sample": "random"}, "limit": 4, "with_payload": true, """ + filterA + "}"));
        Assert.Equal(4, four.Distinct().Count());
        Assert.Subset(groupA.ToHashSet(), four.ToHashSet());

        // Random: twenty samples of three do not all pick the same three points.
        var seen = new HashSet<int>();
        for (var i = 0; i < 20; i++)
        {
            seen.UnionWith(Ids(await Query("""{"query": {"sample": "random"}, "limit": 3}""")));
        }

        Assert.True(seen.Count > 3, $"samples kept returning {string.Join(",", seen)}");

        // With a keyword index the planner samples its candidates: same guarantees.
        await Index("group", "\"keyword\"");
        Assert.Equal(groupA, Ids(await Query("""{"query": {"sample": "random"}, "limit": 50, """ + filterA + "}")).Order());

        (await server.Post("/collections/p/points/delete?wait=true", """{"points": [3, 6, 9, 10]}""")).AssertOk();
        Assert.Equal(groupA.Except([3, 6, 9]), Ids(await Query("""{"query": {"sample": "random"}, "limit": 50, """ + filterA + "}")).Order());
        Assert.Equal(Count - 4, Ids(await Query("""{"query": {"sample": "random"}, "limit": 100}""")).Distinct().Count());

        (await server.Post("/collections/p/points/query", """{"query": {"sample": "reservoir"}}""")).AssertError(400, "unknown variant `reservoir`");
    }

    [Fact]
    public async Task SampleInPrefetchTreesAndBatch()
    {
        // A sample of the ten nearest.
        var ids = Ids(await Query("""{"prefetch": {"query": [1, 0], "limit": 10}, "query": {"sample": "random"}, "limit": 4}"""));
        Assert.Equal(4, ids.Distinct().Count());
        Assert.All(ids, id => Assert.InRange(id, 21, 30));

        // A sample covering all of group "a", re-ranked by vector: deterministic.
        Assert.Equal([30, 27, 24], Ids(await Query("""
            {"prefetch": {"query": {"sample": "random"}, "limit": 30, "filter": {"must": [{"key": "group", "match": {"value": "a"}}]}},
             "query": [1, 0], "limit": 3}
            """)));

        var batch = (await server.Post("/collections/p/points/query/batch", """
            {"searches": [{"query": {"sample": "random"}, "limit": 2}, {"query": [1, 0], "limit": 1}]}
            """)).AssertOk().Result;
        Assert.Equal(2, batch[0].GetProperty("points").GetArrayLength());
        Assert.Equal([30], Ids(batch[1].GetProperty("points")));
    }
}
