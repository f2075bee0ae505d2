using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Vectorizer.Server.Tests;

public class QueryApiTests
{
    private static List<string> Ids(JsonElement points) => points.EnumerateArray().Select(p => p.GetProperty("id").ToString()).ToList();

    private static List<double> Scores(JsonElement points) => points.EnumerateArray().Select(p => p.GetProperty("score").GetDouble()).ToList();

    [Theory]
    [InlineData("Euclid", new[] { 1.0, 1.414214, 2.828427 })]
    [InlineData("Manhattan", new[] { 1.0, 2.0, 4.0 })]
    public async Task DistanceScoresAreAscendingDistances(string distance, double[] expected)
    {
        // The same data as Qdrant's own test_euclid_dist.py / test_manhattan_dist.py.
        await using var server = await TestServer.StartAsync();
        await server.CreateCollection("d", size: 2, distance: distance);
        (await server.Put("/collections/d/points?wait=true", """
            {"points": [{"id": 1, "vector": [0, 1]}, {"id": 2, "vector": [0, 0]}, {"id": 3, "vector": [-1, -1]}]}
            """)).AssertOk();
        var points = (await server.Post("/collections/d/points/query", """{"query": [1, 1]}""")).AssertOk().Result.GetProperty("points");
        Assert.Equal(["1", "2", "3"], Ids(points));
        var scores = Scores(points);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], scores[i], 5);
        }

        // score_threshold keeps distances strictly below the threshold.
        var threshold = expected[1] + 0.01;
        var kept = (await server.Post("/collections/d/points/query", $$"""{"query": [1, 1], "score_threshold": {{threshold.ToString(CultureInfo.InvariantCulture)}}}""")).Result.GetProperty("points");
        Assert.Equal(["1", "2"], Ids(kept));
    }

    [Fact]
    public async Task CosineAndDotScores()
    {
        await using var server = await TestServer.StartAsync();
        await server.CreateCollection("c", size: 2, distance: "Cosine");
        await server.CreateCollection("d", size: 2, distance: "Dot");
        const string points = """{"points": [{"id": 1, "vector": [3, 4]}, {"id": 2, "vector": [1, 0]}, {"id": 3, "vector": [0, -2]}]}""";
        (await server.Put("/collections/c/points?wait=true", points)).AssertOk();
        (await server.Put("/collections/d/points?wait=true", points)).AssertOk();
        var cosine = (await server.Post("/collections/c/points/query", """{"query": [2, 0], "with_vector": true}""")).Result.GetProperty("points");
        Assert.Equal(["2", "1", "3"], Ids(cosine));
        Assert.Equal([1.0, 0.6, 0.0], Scores(cosine).Select(s => Math.Round(s, 5)));
        Assert.Equal(0.6f, cosine[1].GetProperty("vector")[0].GetSingle(), 5); // stored normalised, as Qdrant does
        var dot = (await server.Post("/collections/d/points/query", """{"query": [2, 0]}""")).Result.GetProperty("points");
        Assert.Equal(["1", "2", "3"], Ids(dot));
        Assert.Equal([6.0, 2.0, 0.0], Scores(dot));
        var above = (await server.Post("/collections/d/points/query", """{"query": [2, 0], "score_threshold": 2}""")).Result.GetProperty("points");
        Assert.Equal(["1"], Ids(above));
    }

    [Fact]
    public async Task QueryByIdWithoutQueryOffsetAndBatch()
    {
        await using var server = await TestServer.StartAsync();
        await server.CreateCollection("q", size: 2, distance: "Euclid");
        var body = new StringBuilder("""{"points": [""");
        for (var i = 0; i < 20; i++)
        {
            body.Append(i == 0 ? "" : ",").Append(CultureInfo.InvariantCulture, $$$"""{"id": {{{i}}}, "vector": [{{{i}}}, 0], "payload": {"n": {{{i}}}}}""");
        }

        (await server.Put("/collections/q/points?wait=true", body.Append("]}").ToString())).AssertOk();
        var byId = (await server.Post("/collections/q/points/query", """{"query": 10, "limit": 4, "with_payload": true}""")).AssertOk().Result.GetProperty("points");
        Assert.Equal(4, byId.GetArrayLength());
        Assert.DoesNotContain("10", Ids(byId));
        Assert.Equal([1.0, 1.0, 2.0, 2.0], Scores(byId));
        Assert.Contains(byId[0].GetProperty("payload").GetProperty("n").GetInt32(), new[] { 9, 11 });
        (await server.Post("/collections/q/points/query", """{"query": 12345}""")).AssertError(404, "No point with id 12345 found");

        var noQuery = (await server.Post("/collections/q/points/query", """{"limit": 3, "offset": 5}""")).AssertOk().Result.GetProperty("points");
        Assert.Equal(["5", "6", "7"], Ids(noQuery));
        Assert.All(Scores(noQuery), s => Assert.Equal(1.0, s));
        Assert.False(noQuery[0].TryGetProperty("payload", out _), "query returns no payload by default");

        var paged = (await server.Post("/collections/q/points/query", """{"query": [0, 0], "limit": 3, "offset": 2}""")).Result.GetProperty("points");
        Assert.Equal(["2", "3", "4"], Ids(paged));

        var batch = (await server.Post("/collections/q/points/query/batch", """
            {"searches": [{"query": [0, 0], "limit": 1}, {"query": [19, 0], "limit": 2, "filter": {"must": [{"key": "n", "range": {"lt": 15}}]}}]}
            """)).AssertOk().Result;
        Assert.Equal(2, batch.GetArrayLength());
        Assert.Equal(["0"], Ids(batch[0].GetProperty("points")));
        Assert.Equal(["14", "13"], Ids(batch[1].GetProperty("points")));
        var nearest = (await server.Post("/collections/q/points/query", """{"query": {"nearest": [19, 0]}, "limit": 1}""")).Result.GetProperty("points");
        Assert.Equal(["19"], Ids(nearest));
    }

    [Fact]
    public async Task IndexedSearchSeesUpdatesAndDeletesImmediatelyAndKeepsTheFilterLimit()
    {
        await using var server = await TestServer.StartAsync();
        await server.CreateCollection("big", size: 8, extra: """, "hnsw_config": {"full_scan_threshold": 0}, "optimizers_config": {"indexing_threshold": 1}""");
        var random = new Random(7);
        for (var batch = 0; batch < 4; batch++)
        {
            var body = new StringBuilder("""{"points": [""");
            for (var i = 0; i < 500; i++)
            {
                var id = (batch * 500) + i;
                var vector = string.Join(",", Enumerable.Range(0, 8).Select(_ => (random.NextDouble() - 0.5).ToString("F4", CultureInfo.InvariantCulture)));
                body.Append(i == 0 ? "" : ",").Append(CultureInfo.InvariantCulture, $$$"""{"id": {{{id}}}, "vector": [{{{vector}}}], "payload": {"bucket": {{{id % 40}}}}}""");
            }

            (await server.Put("/collections/big/points?wait=true", body.Append("]}").ToString())).AssertOk();
        }

        // Wait for the background indexer to cover everything.
        for (var i = 0; i < 200; i++)
        {
            var info = (await server.Get("/collections/big")).Result;
            if (info.GetProperty("indexed_vectors_count").GetInt32() == 2000 && info.GetProperty("status").GetString() == "green")
            {
                break;
            }

            await Task.Delay(50);
        }

        Assert.Equal(2000, (await server.Get("/collections/big")).Result.GetProperty("indexed_vectors_count").GetInt32());
        const string probe = """{"query": [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5], "limit": 5}""";
        var top = Ids((await server.Post("/collections/big/points/query", probe)).Result.GetProperty("points"));
        var exact = Ids((await server.Post("/collections/big/points/query", """{"query": [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5], "limit": 5, "params": {"exact": true}}""")).Result.GetProperty("points"));
        Assert.Equal(exact, top);

        // Delete the best hit and move another point onto the query: both show up in the very next query.
        (await server.Post("/collections/big/points/delete?wait=true", $$"""{"points": [{{top[0]}}]}""")).AssertOk();
        (await server.Put("/collections/big/points?wait=true", """{"points": [{"id": 1999, "vector": [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]}]}""")).AssertOk();
        var after = Ids((await server.Post("/collections/big/points/query", probe)).Result.GetProperty("points"));
        Assert.Equal("1999", after[0]);
        Assert.DoesNotContain(top[0], after);

        // 50 points have bucket 7 (49 after the delete above if it was one of them): every query returns them all.
        var expected = (await server.Post("/collections/big/points/count", """{"filter": {"must": [{"key": "bucket", "match": {"value": 7}}]}}""")).Result.GetProperty("count").GetInt32();
        var filtered = (await server.Post("/collections/big/points/query", """
            {"query": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8], "limit": 100, "params": {"hnsw_ef": 8}, "with_payload": true,
             "filter": {"must": [{"key": "bucket", "match": {"value": 7}}]}}
            """)).Result.GetProperty("points");
        Assert.Equal(expected, filtered.GetArrayLength());
        Assert.All(filtered.EnumerateArray(), p => Assert.Equal(7, p.GetProperty("payload").GetProperty("bucket").GetInt32()));
    }
}
