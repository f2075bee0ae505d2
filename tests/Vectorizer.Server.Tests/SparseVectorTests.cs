namespace Vectorizer.Server.Tests;

/// <summary>Sparse vectors over HTTP: upsert (both forms), exact dot-product search with and without IDF, hybrid fusion, persistence.</summary>
public sealed class SparseVectorTests
{
    private const string Create = """
        {"vectors": {"dense": {"size": 2, "distance": "Dot"}},
         "sparse_vectors": {"text": {"modifier": "idf"}, "plain": {}}}
        """;

    // text/plain: 1 = {1: 1, 2: 1}, 2 = {2: 1, 3: 1}, 3 = {3: 3}, 4 = {4: 1}; dense: id / 10 on x.
    private const string Points = """
        {"points": [
          {"id": 1, "vector": {"dense": [0.1, 0], "text": {"indices": [2, 1], "values": [1, 1]}, "plain": {"indices": [1, 2], "values": [1, 1]}}},
          {"id": 2, "vector": {"dense": [0.2, 0], "text": {"indices": [2, 3], "values": [1, 1]}, "plain": {"indices": [2, 3], "values": [1, 1]}}}
        ]}
        """;

    private const string Batch = """
        {"batch": {"ids": [3, 4], "vectors": {
          "dense": [[0.3, 0], [0.4, 0]],
          "text": [{"indices": [3], "values": [3]}, {"indices": [4], "values": [1]}],
          "plain": [{"indices": [3], "values": [3]}, {"indices": [4], "values": [1]}]}}}
        """;

    private static async Task<List<(string Id, double Score)>> Query(TestServer server, string body)
    {
        var points = (await server.Post("/collections/s/points/query", body)).AssertOk().Result.GetProperty("points");
        return points.EnumerateArray().Select(p => (p.GetProperty("id").ToString(), Math.Round(p.GetProperty("score").GetDouble(), 4))).ToList();
    }

    [Fact]
    public async Task SparseSearchIdfHybridAndRestart()
    {
        var dataDir = TestServer.NewDataDir();
        try
        {
            // idf(n) = ln(1 + (N - n + 0.5) / (n + 0.5)) with N = 4: n = 2 → ln 2 = 0.6931.
            const string idfQuery = """{"query": {"indices": [3, 2], "values": [1, 1]}, "using": "text"}""";
            List<(string, double)> idfExpected = [("3", 2.0794), ("2", 1.3863), ("1", 0.6931)];
            await using (var server = await TestServer.StartAsync(dataDir: dataDir))
            {
                (await server.Put("/collections/s", Create)).AssertOk();
                (await server.Put("/collections/s/points?wait=true", Points)).AssertOk();
                (await server.Put("/collections/s/points?wait=true", Batch)).AssertOk();

                Assert.Equal(idfExpected, await Query(server, idfQuery));
                Assert.Equal([("3", 3.0), ("2", 2.0), ("1", 1.0)], await Query(server, """{"query": {"indices": [2, 3], "values": [1, 1]}, "using": "plain"}"""));
                Assert.Equal([("3", 3.0)], await Query(server, """{"query": {"nearest": {"indices": [2, 3], "values": [1, 1]}}, "using": "plain", "limit": 1}"""));
                Assert.Equal([("2", 2.0)], await Query(server, """{"query": {"indices": [2, 3], "values": [1, 1]}, "using": "plain", "filter": {"must": [{"has_id": [1, 2]}]}, "limit": 1, "offset": 0, "score_threshold": 1.5}"""));
                Assert.Equal([("3", 3.0), ("1", 1.0)], await Query(server, """{"query": 2, "using": "plain"}"""));

                // Stored sorted by index; returned with the dense vectors.
                var point = (await server.Get("/collections/s/points/1")).AssertOk().Result.GetProperty("vector");
                Assert.Equal("[1,2]", point.GetProperty("text").GetProperty("indices").GetRawText());
                Assert.Equal(0.1, point.GetProperty("dense")[0].GetDouble(), 5);

                // Hybrid: dense ranks 4, 3, 2, 1; sparse (plain) ranks 3, 2, 1 → RRF 3 = 1/3 + 1/2, 2 = 1/4 + 1/3, 4 = 1/2, 1 = 1/5 + 1/4.
                Assert.Equal(
                    [("3", 0.8333), ("2", 0.5833), ("4", 0.5), ("1", 0.45)],
                    await Query(server, """
                        {"prefetch": [{"query": [1, 0], "using": "dense", "limit": 4},
                                      {"query": {"indices": [2, 3], "values": [1, 1]}, "using": "plain", "limit": 4}],
                         "query": {"fusion": "rrf"}}
                        """));

                // Bad input changes nothing.
                (await server.Put("/collections/s/points", """{"points": [{"id": 9, "vector": {"text": {"indices": [1, 1], "values": [1, 2]}}}]}""")).AssertError(422, "indices: must be unique");
                (await server.Put("/collections/s/points", """{"points": [{"id": 9, "vector": {"text": {"indices": [1, 2], "values": [1]}}}]}""")).AssertError(422, "same length");
                (await server.Put("/collections/s/points", """{"points": [{"id": 9, "vector": {"text": {"indices": [-1], "values": [1]}}}]}""")).AssertError(400, "unsigned 32-bit");
                (await server.Put("/collections/s/points", """{"points": [{"id": 9, "vector": {"nope": {"indices": [1], "values": [1]}}}]}""")).AssertError(400, "nope");
                (await server.Post("/collections/s/points/query", """{"query": {"indices": [1], "values": [1]}, "using": "dense"}""")).AssertError(400, "is a dense vector");
                (await server.Post("/collections/s/points/query", """{"query": [1, 0], "using": "text"}""")).AssertError(400, "is a sparse vector");
                Assert.Equal(4, (await server.Post("/collections/s/points/count", "{}")).Result.GetProperty("count").GetInt32());
            }

            await using (var server = await TestServer.StartAsync(dataDir: dataDir))
            {
                Assert.Equal(idfExpected, await Query(server, idfQuery));

                // Deleting a point and a vector updates the statistics: N = 2 (points 2 and 3), so
                // idf(2) = ln(1 + 1.5/1.5) = 0.6931 and idf(3) = ln(1 + 0.5/2.5) = 0.1823.
                (await server.Post("/collections/s/points/delete?wait=true", """{"points": [4]}""")).AssertOk();
                (await server.Post("/collections/s/points/vectors/delete?wait=true", """{"points": [1], "vector": ["text"]}""")).AssertOk();
                Assert.Equal([("2", 0.8755), ("3", 0.547)], await Query(server, idfQuery));

                // Updating only the dense vector keeps the sparse ones.
                (await server.Put("/collections/s/points/vectors?wait=true", """{"points": [{"id": 2, "vector": {"dense": [0.9, 0]}}]}""")).AssertOk();
                Assert.Equal([("3", 3.0), ("2", 2.0), ("1", 1.0)], await Query(server, """{"query": {"indices": [2, 3], "values": [1, 1]}, "using": "plain"}"""));
            }
        }
        finally
        {
            TestServer.TryDelete(dataDir);
        }
    }
}
