using System.Globalization;
using System.Text;

namespace Vectorizer.Server.Tests;

/// <summary>
/// Payload indexes over HTTP: create/delete in both schema forms, <c>payload_schema</c> with point counts, filtered
/// query/count answers identical to an unindexed twin collection (also after updates, deletes and a restart).
/// </summary>
public sealed class PayloadIndexTests
{
    private const int Points = 600;

    private static string Body(int from, int count, Func<int, int> category)
    {
        var builder = new StringBuilder("""{"points": [""");
        for (var i = from; i < from + count; i++)
        {
            var angle = i * 0.37;
            builder.Append(i == from ? "" : ",").Append(CultureInfo.InvariantCulture, $$$"""
                {"id": {{{i}}}, "vector": [{{{Math.Cos(angle).ToString("R", CultureInfo.InvariantCulture)}}}, {{{Math.Sin(angle).ToString("R", CultureInfo.InvariantCulture)}}}, {{{(i % 7) / 7.0}}}],
                 "payload": {"category": "c{{{category(i)}}}", "price": {{{i % 50}}}, "rating": {{{(i % 10) / 2.0}}}, "in_stock": {{{(i % 3 == 0 ? "true" : "false")}}},
                             "created": "2026-01-{{{1 + (i % 28):D2}}}T00:00:00Z", "tags": ["t{{{i % 4}}}", "t{{{i % 5}}}"], "meta": {"owner": "o{{{i % 9}}}"} } }
                """);
        }

        return builder.Append("]}").ToString();
    }

    private static readonly string[] Filters =
    [
        """{"must": [{"key": "category", "match": {"value": "c3"}}]}""",
        """{"must": [{"key": "category", "match": {"any": ["c1", "c7"]}}, {"key": "in_stock", "match": {"value": true}}]}""",
        """{"must": [{"key": "price", "range": {"gte": 10, "lt": 12}}]}""",
        """{"must": [{"key": "price", "match": {"value": 7}}]}""",
        """{"must": [{"key": "rating", "range": {"gt": 3.5}}]}""",
        """{"must": [{"key": "created", "range": {"gte": "2026-01-05T00:00:00Z", "lte": "2026-01-06T00:00:00Z"}}]}""",
        """{"must": [{"key": "tags", "match": {"value": "t2"}}, {"key": "meta.owner", "match": {"value": "o4"}}]}""",
        """{"must": [{"key": "category", "match": {"value": "c3"}}], "must_not": [{"key": "price", "range": {"lt": 20}}]}""",
        """{"must": [{"key": "category", "match": {"value": "nope"}}]}""",
    ];

    private static async Task<string> Answers(TestServer server, string collection)
    {
        var text = new StringBuilder();
        foreach (var filter in Filters)
        {
            var count = (await server.Post($"/collections/{collection}/points/count", $$"""{"filter": {{filter}}, "exact": true}""")).AssertOk().Result.GetProperty("count").GetInt64();
            var points = (await server.Post($"/collections/{collection}/points/query", $$"""{"query": [0.6, 0.8, 0.1], "filter": {{filter}}, "limit": 7}""")).AssertOk().Result.GetProperty("points");
            text.Append(count).Append(':').AppendJoin(',', points.EnumerateArray().Select(p => p.GetProperty("id").ToString())).Append('\n');
        }

        return text.ToString();
    }

    [Fact]
    public async Task IndexedFiltersAnswerLikeUnindexedOnes()
    {
        var dataDir = TestServer.NewDataDir();
        try
        {
            string expected;
            await using (var server = await TestServer.StartAsync(dataDir: dataDir))
            {
                foreach (var name in new[] { "plain", "indexed" })
                {
                    await server.CreateCollection(name, size: 3, distance: "Cosine");
                    (await server.Put($"/collections/{name}/points?wait=true", Body(0, Points, i => i % 10))).AssertOk();
                }

                foreach (var (field, schema) in new[]
                {
                    ("category", "\"keyword\""), ("price", """{"type": "integer", "lookup": true, "range": true}"""), ("rating", "\"float\""),
                    ("in_stock", "\"bool\""), ("created", "\"datetime\""), ("tags", "\"keyword\""), ("meta.owner", """{"type": "keyword", "is_tenant": false}"""),
                })
                {
                    (await server.Put("/collections/indexed/index?wait=true", $$"""{"field_name": "{{field}}", "field_schema": {{schema}}}""")).AssertOk();
                }

                expected = await Answers(server, "plain");
                Assert.Contains("60:", expected, StringComparison.Ordinal); // c3: every tenth point
                Assert.Equal(expected, await Answers(server, "indexed"));

                var info = (await server.Get("/collections/indexed")).AssertOk().Result.GetProperty("payload_schema");
                Assert.Equal("keyword", info.GetProperty("category").GetProperty("data_type").GetString());
                Assert.Equal(Points, info.GetProperty("category").GetProperty("points").GetInt64());
                Assert.Equal("integer", info.GetProperty("price").GetProperty("data_type").GetString());
                Assert.True(info.GetProperty("price").GetProperty("params").GetProperty("range").GetBoolean());
                Assert.Equal(Points, info.GetProperty("meta.owner").GetProperty("points").GetInt64());
                Assert.Empty((await server.Get("/collections/plain")).Result.GetProperty("payload_schema").EnumerateObject());

                // Writes after the index exists: new points, moved categories, deletes, cleared payloads.
                foreach (var name in new[] { "plain", "indexed" })
                {
                    (await server.Put($"/collections/{name}/points?wait=true", Body(Points, 100, i => 3))).AssertOk();
                    (await server.Put($"/collections/{name}/points?wait=true", Body(0, 50, i => 5))).AssertOk();
                    (await server.Post($"/collections/{name}/points/payload?wait=true", """{"payload": {"category": "c3"}, "points": [101, 102, 104]}""")).AssertOk();
                    (await server.Post($"/collections/{name}/points/delete?wait=true", """{"points": [3, 13, 23, 603]}""")).AssertOk();
                    (await server.Post($"/collections/{name}/points/payload/clear?wait=true", """{"points": [33, 43]}""")).AssertOk();
                }

                expected = await Answers(server, "plain");
                Assert.Equal(expected, await Answers(server, "indexed"));
                Assert.Equal(Points + 100 - 4 - 2, (await server.Get("/collections/indexed")).Result.GetProperty("payload_schema").GetProperty("category").GetProperty("points").GetInt64());
            }

            // The schema is persisted with the collection and the indexes are rebuilt on open.
            await using (var server = await TestServer.StartAsync(dataDir: dataDir))
            {
                var info = (await server.Get("/collections/indexed")).AssertOk().Result.GetProperty("payload_schema");
                Assert.Equal(7, info.EnumerateObject().Count());
                Assert.Equal(expected, await Answers(server, "indexed"));

                (await server.Delete("/collections/indexed/index/category?wait=true")).AssertOk();
                (await server.Delete("/collections/indexed/index/not-indexed")).AssertOk();
                info = (await server.Get("/collections/indexed")).Result.GetProperty("payload_schema");
                Assert.False(info.TryGetProperty("category", out _));
                Assert.Equal(expected, await Answers(server, "indexed"));
            }
        }
        finally
        {
            TestServer.TryDelete(dataDir);
        }
    }

    [Fact]
    public async Task BadIndexRequests()
    {
        await using var server = await TestServer.StartAsync();
        await server.CreateCollection("c", size: 3);
        (await server.Put("/collections/c/index", """{"field_name": "x", "field_schema": "colour"}""")).AssertError(422, "unknown variant `colour`");
        (await server.Put("/collections/c/index", """{"field_name": "x", "field_schema": {"type": "Keyword"}}""")).AssertError(422, "unknown variant `Keyword`");
        (await server.Put("/collections/c/index", """{"field_schema": "keyword"}""")).AssertError(400, "missing field `field_name`");
        (await server.Put("/collections/c/index", """{"field_name": "x"}""")).AssertError(400, "field_schema is required");
        (await server.Put("/collections/c/index", """{"field_name": "a[", "field_schema": "keyword"}""")).AssertError(400, "Bad field_name");
        (await server.Put("/collections/missing/index", """{"field_name": "x", "field_schema": "keyword"}""")).AssertError(404, "doesn't exist");
        Assert.Empty((await server.Get("/collections/c")).Result.GetProperty("payload_schema").EnumerateObject());
    }
}
