namespace Vectorizer.Server.Tests;

/// <summary>
/// <c>prefetch</c> with RRF / DBSF fusion and re-scoring, pinned on a hand-checked example. Two named Dot vectors:
/// querying <c>a</c> with [1, 0] scores each point by its <c>a.x</c>, querying <c>b</c> with [0, 1] by its <c>b.y</c>.
/// </summary>
public sealed class FusionQueryTests : IAsyncLifetime
{
    // id: a.x, b.y →  prefetch a (limit 3): 1 (0.9), 2 (0.8), 4 (0.7);  prefetch b (limit 2): 2 (0.9), 3 (0.8)
    private const string Points = """
        {"points": [
          {"id": 1, "vector": {"a": [0.9, 0], "b": [0, 0.1]}},
          {"id": 2, "vector": {"a": [0.8, 0], "b": [0, 0.9]}},
          {"id": 3, "vector": {"a": [0.1, 0], "b": [0, 0.8]}},
          {"id": 4, "vector": {"a": [0.7, 0], "b": [0, 0.2]}}
        ]}
        """;

    private const string Prefetch = """
        "prefetch": [
          {"query": [1, 0], "using": "a", "limit": 3},
          {"query": [0, 1], "using": "b", "limit": 2}
        ]
        """;

    private TestServer server = null!;

    public async Task InitializeAsync()
    {
        server = await TestServer.StartAsync();
        (await server.Put("/collections/h", """{"vectors": {"a": {"size": 2, "distance": "Dot"}, "b": {"size": 2, "distance": "Dot"}}}""")).AssertOk();
        (await server.Put("/collections/h/points?wait=true", Points)).AssertOk();
    }

    public async Task DisposeAsync() => await server.DisposeAsync();

    private async Task<List<(string Id, double Score)>> Query(string body)
    {
        var points = (await server.Post("/collections/h/points/query", body)).AssertOk().Result.GetProperty("points");
        return points.EnumerateArray().Select(p => (p.GetProperty("id").ToString(), Math.Round(p.GetProperty("score").GetDouble(), 4))).ToList();
    }

    [Fact]
    public async Task RrfSumsReciprocalRanks()
    {
        // 1/(rank + 1) with k = 2: 2 = 1/3 + 1/2, 1 = 1/2, 3 = 1/3, 4 = 1/4.
        var expected = new List<(string, double)> { ("2", 0.8333), ("1", 0.5), ("3", 0.3333), ("4", 0.25) };
        Assert.Equal(expected, await Query("{" + Prefetch + """, "query": {"fusion": "rrf"}}"""));
        Assert.Equal(expected, await Query("{" + Prefetch + """, "query": {"rrf": {}}}"""));
        Assert.Equal(expected.Take(2), await Query("{" + Prefetch + """, "query": {"fusion": "rrf"}, "limit": 2}"""));
        Assert.Equal(expected.Skip(1).Take(2), await Query("{" + Prefetch + """, "query": {"fusion": "rrf"}, "limit": 2, "offset": 1}"""));
        Assert.Equal(expected.Take(2), await Query("{" + Prefetch + """, "query": {"fusion": "rrf"}, "score_threshold": 0.4}"""));
    }

    [Fact]
    public async Task RrfWithKAndWeights()
    {
        // 1 / ((rank + 1) / w + k - 1), k = 2, weights a = 1, b = 3: b's first place is worth 0.75, its second 0.6.
        Assert.Equal(
            [("2", 1.0833), ("3", 0.6), ("1", 0.5), ("4", 0.25)],
            await Query("{" + Prefetch + """, "query": {"rrf": {"k": 2, "weights": [1, 3]}}}"""));
        // k = 10, 1 / (rank + 9): 2 = 1/11 + 1/10, 1 = 1/10, 3 = 1/11, 4 = 1/12.
        Assert.Equal(
            [("2", 0.1909), ("1", 0.1), ("3", 0.0909), ("4", 0.0833)],
            await Query("{" + Prefetch + """, "query": {"rrf": {"k": 10}}}"""));
        (await server.Post("/collections/h/points/query", "{" + Prefetch + """, "query": {"rrf": {"weights": [1]}}}"""))
            .AssertError(400, "Number of weights in RRF should match number of pre-fetches: got 1, expected 2");
    }

    [Fact]
    public async Task DbsfNormalisesEachListByMeanAndThreeSigma()
    {
        // Qdrant's sample standard deviation (n − 1), no clamping:
        // a: mean 0.8, s 0.1 → 1 = 0.6667, 2 = 0.5, 4 = 0.3333; b: mean 0.85, s 0.0707 → 2 = 0.6179, 3 = 0.3821.
        Assert.Equal(
            [("2", 1.1179), ("1", 0.6667), ("3", 0.3821), ("4", 0.3333)],
            await Query("{" + Prefetch + """, "query": {"fusion": "dbsf"}}"""));
    }

    [Fact]
    public async Task VectorQueryRescoresThePrefetchedPoints()
    {
        // Candidates from a (1, 2, 4), ranked by b.y: 2 (0.9), 4 (0.2), 1 (0.1); 3 was never prefetched.
        Assert.Equal(
            [("2", 0.9), ("4", 0.2), ("1", 0.1)],
            await Query("""{"prefetch": {"query": [1, 0], "using": "a", "limit": 3}, "query": [0, 1], "using": "b"}"""));
        // Nested: the inner prefetch keeps 1, 2, 4; the middle one re-ranks by b and keeps two (2, 4); the top fuses.
        Assert.Equal(
            [("2", 0.5), ("4", 0.3333)],
            await Query("""
                {"prefetch": [{"prefetch": {"query": [1, 0], "using": "a", "limit": 3}, "query": [0, 1], "using": "b", "limit": 2}],
                 "query": {"fusion": "rrf"}}
                """));
    }

    [Fact]
    public async Task TopLevelFilterReachesEveryPrefetch()
    {
        // Without 2: a = 1, 4, 3 and b = 3, 4, so 3 = 1/4 + 1/2, 4 = 1/3 + 1/3, 1 = 1/2.
        Assert.Equal(
            [("3", 0.75), ("4", 0.6667), ("1", 0.5)],
            await Query("{" + Prefetch + """, "query": {"fusion": "rrf"}, "filter": {"must_not": [{"has_id": [2]}]}}"""));
    }

    [Fact]
    public async Task BadFusionRequests()
    {
        (await server.Post("/collections/h/points/query", """{"query": {"fusion": "rrf"}}""")).AssertError(400, "needs at least one `prefetch`");
        (await server.Post("/collections/h/points/query", "{" + Prefetch + """, "query": {"fusion": "max"}}""")).AssertError(400, "unknown variant `max`");
        (await server.Post("/collections/h/points/query", """{"prefetch": {"query": [1, 0, 0], "using": "a"}, "query": {"fusion": "rrf"}}""")).AssertError(400, "dim");
        (await server.Post("/collections/h/points/query", """{"prefetch": {"query": [1, 0], "using": "zz"}, "query": {"fusion": "rrf"}}""")).AssertError(400, "zz");
    }
}
