using System.Text.Json;

namespace Vectorizer.Server.Tests;

/// <summary>
/// Recommendation (average vector, best score, sum of scores), discovery and context queries over HTTP, on the
/// collection of Qdrant's REST suite: the universal query, a root query re-scoring a prefetch, and the legacy
/// <c>recommend</c> and <c>discover</c> endpoints must agree (Qdrant's <c>test_query.py</c>), and the scores must be
/// Qdrant's formulas, computed here independently from the vectors.
/// </summary>
public sealed class ExampleQueryTests : IAsyncLifetime
{
    private static readonly IReadOnlyDictionary<int, float[]> V = QdrantBasicCollection.Vectors;
    private TestServer server = null!;

    public async Task InitializeAsync()
    {
        server = await TestServer.StartAsync();
        await QdrantBasicCollection.CreateAsync(server, "c");
    }

    public async Task DisposeAsync() => await server.DisposeAsync();

    private async Task<List<(int Id, double Score)>> Points(string path, string body)
    {
        var result = (await server.Post(path, body)).AssertOk().Result;
        var points = result.ValueKind == JsonValueKind.Array ? result : result.GetProperty("points");
        return [.. points.EnumerateArray().Select(p => (p.GetProperty("id").GetInt32(), p.GetProperty("score").GetDouble()))];
    }

    /// <summary>The query's answer three ways: at the root, re-scoring a prefetch of every point, and (when given) a legacy endpoint.</summary>
    private async Task<List<(int Id, double Score)>> ThreeWays(string query, string? legacyPath = null, string? legacyBody = null, int limit = 10)
    {
        var root = await Points("/collections/c/points/query", $$"""{"query": {{query}}, "limit": {{limit}}}""");
        var rescored = await Points("/collections/c/points/query", $$"""{"prefetch": {"limit": 1000}, "query": {{query}}, "limit": {{limit}}}""");
        Assert.Equal(root, rescored);
        if (legacyPath is not null)
        {
            Assert.Equal(root, await Points(legacyPath, legacyBody!));
        }

        return root;
    }

    private static void AssertRanking(IEnumerable<(int Id, double Score)> expected, List<(int Id, double Score)> actual)
    {
        var ordered = expected.OrderByDescending(e => e.Score).ThenBy(e => e.Id).ToList();
        Assert.Equal(ordered.Select(e => e.Id), actual.Select(a => a.Id));
        for (var i = 0; i < ordered.Count; i++)
        {
            Assert.Equal(ordered[i].Score, actual[i].Score, 4);
        }
    }

    private static float Sigmoid(float x) => 0.5f * ((x / (1 + Math.Abs(x))) + 1);

    private static readonly int[] Candidates = [5, 6, 7, 8];

    [Fact]
    public async Task RecommendAverageVectorSearchesTwiceThePositiveMeanMinusTheNegativeMean()
    {
        var average = new float[4];
        for (var i = 0; i < 4; i++)
        {
            average[i] = (2 * (V[1][i] + V[2][i] + V[3][i] + V[4][i]) / 4) - V[3][i];
        }

        var found = await ThreeWays(
            """{"recommend": {"positive": [1, 2, 3, 4], "negative": [3]}}""",
            "/collections/c/points/recommend",
            """{"positive": [1, 2, 3, 4], "negative": [3], "limit": 10}""");
        AssertRanking(Candidates.Select(c => (c, (double)QdrantBasicCollection.Dot(average, V[c]))), found);
    }

    [Fact]
    public async Task RecommendBestScoreTakesTheBestPositiveUnlessANegativeIsAsClose()
    {
        double Expected(int c)
        {
            var positive = new[] { 1, 2, 3, 4 }.Max(p => QdrantBasicCollection.Dot(V[p], V[c]));
            var negative = QdrantBasicCollection.Dot(V[3], V[c]);
            return positive > negative ? Sigmoid(positive) : -Sigmoid(negative);
        }

        var found = await ThreeWays(
            """{"recommend": {"positive": [1, 2, 3, 4], "negative": [3], "strategy": "best_score"}}""",
            "/collections/c/points/recommend",
            """{"positive": [1, 2, 3, 4], "negative": [3], "strategy": "best_score", "limit": 10}""");
        AssertRanking(Candidates.Select(c => (c, Expected(c))), found);

        // A negative only: the points least like it first, all scoring below zero.
        var onlyNegative = await ThreeWays("""{"recommend": {"negative": [[0.79, 0.53, 0.72, 0.15]], "strategy": "best_score"}}""");
        AssertRanking(V.Keys.Select(c => (c, (double)-Sigmoid(QdrantBasicCollection.Dot(V[8], V[c])))), onlyNegative);
    }

    [Fact]
    public async Task RecommendSumScoresAddsPositivesAndSubtractsNegatives()
    {
        double Expected(int c) => QdrantBasicCollection.Dot(V[1], V[c]) + QdrantBasicCollection.Dot(V[2], V[c]) - QdrantBasicCollection.Dot(V[4], V[c]);
        var found = await ThreeWays("""{"recommend": {"positive": [1, 2], "negative": [4], "strategy": "sum_scores"}}""");
        AssertRanking(new[] { 3, 5, 6, 7, 8 }.Select(c => (c, Expected(c))), found);
    }

    [Fact]
    public async Task DiscoverRanksByContextPairsThenByTheTarget()
    {
        double Expected(int c) =>
            Math.Sign(QdrantBasicCollection.Dot(V[3], V[c]).CompareTo(QdrantBasicCollection.Dot(V[4], V[c]))) + Sigmoid(QdrantBasicCollection.Dot(V[2], V[c]));
        var found = await ThreeWays(
            """{"discover": {"target": 2, "context": [{"positive": 3, "negative": 4}]}}""",
            "/collections/c/points/discover",
            """{"target": 2, "context": [{"positive": 3, "negative": 4}], "limit": 10}""");
        AssertRanking(new[] { 1, 5, 6, 7, 8 }.Select(c => (c, Expected(c))), found);
    }

    [Fact]
    public async Task ContextScoresTheLossOfEachPair()
    {
        double Expected(int c)
        {
            var difference = QdrantBasicCollection.Dot(V[2], V[c]) - QdrantBasicCollection.Dot(V[4], V[c]) - 1.1920929E-07f;
            var clipped = Math.Min(difference, 0f);
            return clipped / (1 + Math.Abs(clipped));
        }

        var found = await Points("/collections/c/points/query", """{"query": {"context": [{"positive": 2, "negative": 4}]}, "limit": 100}""");
        AssertRanking(new[] { 1, 3, 5, 6, 7, 8 }.Select(c => (c, Expected(c))), found);
        var legacy = await Points("/collections/c/points/discover", """{"context": [{"positive": 2, "negative": 4}], "limit": 100}""");
        Assert.Equal(found.Select(p => p.Id).Order(), legacy.Select(p => p.Id).Order());
    }

    [Fact]
    public async Task ExamplesMayBeVectorsAndSparseVectors()
    {
        // A vector example is not a stored point: nothing is excluded.
        var byVector = await Points("/collections/c/points/query", """{"query": {"recommend": {"positive": [[0.79, 0.53, 0.72, 0.15]]}}, "limit": 3}""");
        Assert.Equal(8, byVector[0].Id);

        var sparse = await Points("/collections/c/points/query", """{"query": {"recommend": {"positive": [{"indices": [1, 2], "values": [1, 1]}], "strategy": "best_score"}}, "using": "sparse-text", "limit": 3}""");
        Assert.Equal([10, 9], sparse.Select(p => p.Id));
        Assert.Equal(Sigmoid(0.3f), sparse[0].Score, 4);

        var sparseAverage = await Points("/collections/c/points/query", """{"query": {"recommend": {"positive": [10], "negative": [9]}}, "using": "sparse-text"}""");
        Assert.Empty(sparseAverage);
    }

    [Fact]
    public async Task LookupFromReadsExamplesFromAnotherCollection()
    {
        (await server.Put("/collections/other", """{"vectors": {"image": {"size": 4, "distance": "Dot"}}}""")).AssertOk();
        (await server.Put("/collections/other/points?wait=true", """{"points": [{"id": 100, "vector": {"image": [0.79, 0.53, 0.72, 0.15]}}]}""")).AssertOk();

        var found = await Points("/collections/c/points/query", """{"query": {"recommend": {"positive": [100]}}, "lookup_from": {"collection": "other", "vector": "image"}, "limit": 2}""");
        Assert.Equal(8, found[0].Id);
        Assert.Equal(found, await Points("/collections/c/points/recommend", """{"positive": [100], "lookup_from": {"collection": "other", "vector": "image"}, "limit": 2}"""));
        Assert.Equal(found, await Points("/collections/c/points/query", """{"query": 100, "lookup_from": {"collection": "other", "vector": "image"}, "limit": 2}"""));

        (await server.Post("/collections/c/points/query", """{"query": {"recommend": {"positive": [101]}}, "lookup_from": {"collection": "other", "vector": "image"}}"""))
            .AssertError(404, "No point with id 101 found");
        (await server.Post("/collections/c/points/query", """{"query": {"recommend": {"positive": [100]}}, "lookup_from": {"collection": "missing"}}"""))
            .AssertError(404, "Collection `missing` doesn't exist!");
    }

    [Fact]
    public async Task BadExamplesAreRefused()
    {
        (await server.Post("/collections/c/points/query", """{"query": {"recommend": {"negative": [1]}}}"""))
            .AssertError(400, "Positive vectors should not be empty with `average` strategy");
        (await server.Post("/collections/c/points/query", """{"query": {"recommend": {"positive": [1234]}}}"""))
            .AssertError(404, "No point with id 1234 found");
        (await server.Post("/collections/c/points/query", """{"query": {"recommend": {"positive": [[1, 2]]}}}"""))
            .AssertError(400, "Vector dimension error: expected dim: 4, got 2");
        (await server.Post("/collections/c/points/query", """{"query": {"recommend": {"positive": [1], "strategy": "best"}}}"""))
            .AssertError(400, "unknown variant `best`");
        (await server.Post("/collections/c/points/query", """{"query": {"context": []}}"""))
            .AssertError(422, "context: must contain at least 1 pair");
        (await server.Post("/collections/c/points/query", """{"query": {"discover": {"target": 9, "context": []}}}"""))
            .AssertError(404, "Vector with name `` for point 9 not found");
    }

    [Fact]
    public async Task PrefetchesNeedAQueryAndOrderByTakesNoThreshold()
    {
        (await server.Post("/collections/c/points/query", """{"prefetch": [{"query": {"recommend": {"positive": [1]}}}]}"""))
            .AssertError(400, "A query is needed to merge the prefetches. Can't have prefetches without defining a query.");
        (await server.Post("/collections/c/points/query", """{"score_threshold": 10}"""))
            .AssertError(400, "A query is needed to use the score_threshold. Can't have score_threshold without defining a query.");
        (await server.Put("/collections/c/index", """{"field_name": "price", "field_schema": "float"}""")).AssertOk();
        (await server.Post("/collections/c/points/query", """{"score_threshold": 10, "query": {"order_by": {"key": "price"}}}"""))
            .AssertError(400, "Can't use score_threshold with an order_by query.");
        (await server.Post("/collections/c/points/query", """{"query": {"recommend": {"positive": [1]}}, "limit": 0}"""))
            .AssertError(422, "limit: value 0 invalid, must be 1 or larger");
    }
}
