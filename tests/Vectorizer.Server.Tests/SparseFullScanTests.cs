using System.Globalization;
using System.Text;

namespace Vectorizer.Server.Tests;

/// <summary>
/// <c>sparse_vectors.{name}.index.full_scan_threshold</c>: a filtered sparse query expected to match fewer points than
/// the threshold scores them one by one, otherwise it walks the inverted index. Two collections with the same points,
/// one that always walks the index (threshold 0) and one that always scores point by point (a threshold above the
/// collection), must answer every query identically: same ids, same scores to the last bit.
/// </summary>
public sealed class SparseFullScanTests
{
    private const int Count = 400;

    private static string Points()
    {
        var random = new Random(21);
        var body = new StringBuilder("""{"points": [""");
        for (var i = 1; i <= Count; i++)
        {
            var dimensions = Enumerable.Range(0, 1 + random.Next(6)).Select(_ => random.Next(40)).Distinct().ToList();
            var values = dimensions.Select(_ => (random.NextDouble() * 2).ToString("R", CultureInfo.InvariantCulture));
            body.Append(i == 1 ? "" : ",").Append(CultureInfo.InvariantCulture, $$$"""
                {"id": {{{i}}}, "vector": {"dense": [1, 0], "words": {"indices": [{{{string.Join(",", dimensions)}}}], "values": [{{{string.Join(",", values)}}}]}},
                 "payload": {"shard": {{{i % 7}}}, "tag": "t{{{i % 3}}}"}}
                """);
        }

        return body.Append("]}").ToString();
    }

    [Fact]
    public async Task BothPathsGiveIdenticalResults()
    {
        await using var server = await TestServer.StartAsync();
        var points = Points();
        foreach (var (name, threshold) in new[] { ("index", 0), ("scan", 1_000_000) })
        {
            (await server.Put($"/collections/{name}", $$"""
                {"vectors": {"dense": {"size": 2, "distance": "Dot"} },
                 "sparse_vectors": {"words": {"modifier": "idf", "index": {"full_scan_threshold": {{threshold}} } } } }
                """)).AssertOk();
            (await server.Put($"/collections/{name}/points?wait=true", points)).AssertOk();
            (await server.Post($"/collections/{name}/points/delete?wait=true", """{"points": [5, 6, 7]}""")).AssertOk();
        }

        var info = (await server.Get("/collections/scan")).AssertOk().Result.GetProperty("config").GetProperty("params").GetProperty("sparse_vectors");
        Assert.Equal(1_000_000, info.GetProperty("words").GetProperty("index").GetProperty("full_scan_threshold").GetInt32());

        string[] queries =
        [
            """{"query": {"indices": [1, 5, 9], "values": [1, 0.5, 2]}, "using": "words", "limit": 15, "filter": {"must": [{"key": "shard", "match": {"value": 3}}]}}""",
            """{"query": {"indices": [2, 3, 30, 39], "values": [0.3, 1, 1, 4]}, "using": "words", "limit": 25, "filter": {"must_not": [{"key": "tag", "match": {"value": "t1"}}]}}""",
            """{"query": {"indices": [0, 10, 20], "values": [1, 1, 1]}, "using": "words", "limit": 5, "filter": {"must": [{"key": "shard", "range": {"gte": 2, "lte": 4}}]}}""",
            """{"query": {"indices": [7], "values": [1]}, "using": "words", "limit": 50, "filter": {"should": [{"has_id": [10, 20, 30, 40]}, {"key": "tag", "match": {"value": "t2"}}]}}""",
            """{"query": 12, "using": "words", "limit": 10, "filter": {"must": [{"key": "tag", "match": {"value": "t0"}}]}}""",
            """{"query": {"indices": [1, 2, 3, 4, 5], "values": [1, 1, 1, 1, 1]}, "using": "words", "limit": 10}""",
            """{"prefetch": {"query": {"indices": [4, 8], "values": [1, 2]}, "using": "words", "limit": 30}, "query": {"order_by": "shard"}, "filter": {"must": [{"key": "tag", "match": {"value": "t1"}}]}, "limit": 10}""",
        ];

        async Task<string> Answers(string collection)
        {
            var text = new StringBuilder();
            foreach (var query in queries)
            {
                var found = (await server.Post($"/collections/{collection}/points/query", query)).AssertOk().Result.GetProperty("points");
                text.AppendJoin(' ', found.EnumerateArray().Select(p => $"{p.GetProperty("id")}:{p.GetProperty("score").GetRawText()}")).Append('\n');
            }

            return text.ToString();
        }

        foreach (var name in new[] { "index", "scan" })
        {
            (await server.Put($"/collections/{name}/index?wait=true", """{"field_name": "shard", "field_schema": "integer"}""")).AssertOk();
        }

        var expected = await Answers("index");
        Assert.DoesNotContain("\n\n", "\n" + expected, StringComparison.Ordinal); // every query finds something
        Assert.Equal(expected, await Answers("scan"));

        // With a keyword index the estimate is the candidate count: still identical.
        foreach (var name in new[] { "index", "scan" })
        {
            (await server.Put($"/collections/{name}/index?wait=true", """{"field_name": "tag", "field_schema": "keyword"}""")).AssertOk();
        }

        Assert.Equal(expected, await Answers("index"));
        Assert.Equal(expected, await Answers("scan"));
    }
}
