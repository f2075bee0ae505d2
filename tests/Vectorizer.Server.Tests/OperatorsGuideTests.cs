using System.Globalization;
using System.Text;

namespace Vectorizer.Server.Tests;

/// <summary>The operators' guide's V1 collection configuration and its hybrid query, as its Qdrant client sends them.</summary>
public sealed class OperatorsGuideTests
{
    private const string V1Collection = """
        {
          "vectors": {"dense": {"size": 768, "distance": "Cosine", "on_disk": false}},
          "sparse_vectors": {"sparse": {"index": {"on_disk": false, "full_scan_threshold": 5000}}},
          "hnsw_config": {"m": 16, "ef_construct": 200, "full_scan_threshold": 10000, "max_indexing_threads": 0},
          "quantization_config": {"scalar": {"type": "int8", "quantile": 0.99, "always_ram": true}},
          "optimizers_config": {
            "deleted_threshold": 0.2, "vacuum_min_vector_number": 1000, "default_segment_number": 4,
            "max_segment_size": 200000, "memmap_threshold": 50000, "indexing_threshold": 20000,
            "flush_interval_sec": 5, "max_optimization_threads": 0
          }
        }
        """;

    private static string Dense(int seed)
    {
        var random = new Random(seed);
        return "[" + string.Join(',', Enumerable.Range(0, 768).Select(_ => (random.NextDouble() - 0.5).ToString("F4", CultureInfo.InvariantCulture))) + "]";
    }

    [Fact]
    public async Task V1ConfigurationIsAcceptedAndItsHybridQueryRuns()
    {
        await using var server = await TestServer.StartAsync();
        (await server.Put("/collections/docs", V1Collection)).AssertOk();
        var config = (await server.Get("/collections/docs")).AssertOk().Result.GetProperty("config");
        Assert.Equal(5000, config.GetProperty("params").GetProperty("sparse_vectors").GetProperty("sparse").GetProperty("index").GetProperty("full_scan_threshold").GetInt32());
        Assert.Equal("int8", config.GetProperty("quantization_config").GetProperty("scalar").GetProperty("type").GetString());
        Assert.Equal(200, config.GetProperty("hnsw_config").GetProperty("ef_construct").GetInt32());

        var points = new StringBuilder("""{"points": [""");
        for (var i = 0; i < 40; i++)
        {
            points.Append(i == 0 ? "" : ",").Append(CultureInfo.InvariantCulture, $$"""
                {"id": {{i}}, "vector": {"dense": {{Dense(i)}}, "sparse": {"indices": [{{i % 7}}, {{7 + (i % 5)}}], "values": [1.0, 0.5]} },
                 "payload": {"file_path": "docs/{{i}}.md"} }
                """);
        }

        (await server.Put("/collections/docs/points?wait=true", points.Append("]}").ToString())).AssertOk();
        var hybrid = $$"""
            {"prefetch": [
               {"query": {{Dense(3)}}, "using": "dense", "limit": 100, "params": {"hnsw_ef": 128, "quantization": {"rescore": true, "oversampling": 2.0} } },
               {"query": {"indices": [3, 10], "values": [1.0, 1.0]}, "using": "sparse", "limit": 50}],
             "query": {"fusion": "rrf"}, "limit": 10, "with_payload": true}
            """;
        var result = (await server.Post("/collections/docs/points/query", hybrid)).AssertOk().Result.GetProperty("points");
        Assert.Equal(10, result.GetArrayLength());
        // Point 3 is first in both lists (its own dense vector; both sparse dimensions): 1/2 + 1/2.
        Assert.Equal(3, result[0].GetProperty("id").GetInt32());
        Assert.Equal(1.0, result[0].GetProperty("score").GetDouble(), 4);
        Assert.Equal("docs/3.md", result[0].GetProperty("payload").GetProperty("file_path").GetString());
    }
}
