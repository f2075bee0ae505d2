using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Vectorizer.Engine.Errors;

namespace Vectorizer.Ingestion.Embeddings;

/// <summary>Builds embedders from their configuration. An unknown provider is an error, never a fallback.</summary>
public static class EmbedderFactory
{
    /// <summary><paramref name="localThreads"/>: ONNX Runtime's intra-op threads for <c>local</c> models (0: one per physical core).</summary>
    public static IEmbeddingGenerator<string, Embedding<float>> CreateDense(
        DenseEmbedderConfig config, HttpClient http, Func<EmbeddingCache> cache, ILogger logger, TimeProvider? time = null, int localThreads = 0) => config.Provider switch
        {
            "hash" => new HashEmbeddingGenerator(config.Dimension ?? HashEmbeddingGenerator.DefaultDimension),
            "local" => new Local.LocalEmbeddingGenerator(config, cache, localThreads),
            "openai" => new OpenAiEmbeddingGenerator(config, http, cache(), logger, time),
            var other => throw VectorizerException.BadRequest($"unknown dense embedding provider `{other}`, expected one of `local`, `hash`, `openai`"),
        };

    /// <summary>A sparse embedder whose state (BM25 statistics) lives in <paramref name="stateDirectory"/>.</summary>
    public static ISparseEmbedder CreateSparse(SparseEmbedderConfig config, string stateDirectory) => config.Provider switch
    {
        "bm25" => new Bm25SparseEmbedder(Path.Combine(stateDirectory, $"bm25.{Uri.EscapeDataString(config.Vector)}.json"), config.K1, config.B),
        var other => throw VectorizerException.BadRequest($"unknown sparse embedding provider `{other}`, expected `bm25`"),
    };
}
