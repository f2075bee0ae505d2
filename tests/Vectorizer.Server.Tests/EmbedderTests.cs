using System.Numerics.Tensors;
using Vectorizer.Ingestion.Embeddings;
using Vectorizer.Ingestion.Text;

namespace Vectorizer.Server.Tests;

/// <summary>The hash and BM25 embedders on their own: determinism, normalisation, ranking, persisted statistics.</summary>
public sealed class EmbedderTests
{
    private static float Cosine(float[] a, float[] b) => TensorPrimitives.CosineSimilarity(a, b);

    [Fact]
    public async Task HashEmbeddingsAreDeterministicNormalisedAndSimilarForSimilarTexts()
    {
        using var generator = new HashEmbeddingGenerator();
        var texts = new[]
        {
            "The HNSW index is rebuilt in the background after a vacuum",
            "After a vacuum the background indexer rebuilds the HNSW graph",
            "Bake the bread at 220 degrees for thirty minutes",
        };
        var first = await generator.GenerateAsync(texts);
        var again = await new HashEmbeddingGenerator().GenerateAsync(texts);
        for (var i = 0; i < texts.Length; i++)
        {
            Assert.Equal(512, first[i].Vector.Length);
            Assert.Equal(first[i].Vector.ToArray(), again[i].Vector.ToArray());
            Assert.Equal(1f, TensorPrimitives.Norm(first[i].Vector.Span), 4);
        }

        var related = Cosine(first[0].Vector.ToArray(), first[1].Vector.ToArray());
        var unrelated = Cosine(first[0].Vector.ToArray(), first[2].Vector.ToArray());
        Assert.True(related > unrelated + 0.2, $"related {related}, unrelated {unrelated}");

        // Word pieces count: an inflected form is closer than an unrelated word.
        Assert.True(Cosine(generator.Embed("indexing"), generator.Embed("indexes")) > Cosine(generator.Embed("indexing"), generator.Embed("bread")));
        Assert.Equal(64, new HashEmbeddingGenerator(64).Embed("any text").Length);
        Assert.All(generator.Embed("the of and"), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void StableHashIsFnv1aOverUtf8()
    {
        // Published FNV-1a 64 test vectors; these ids are persisted, so they must never change.
        Assert.Equal(0xcbf29ce484222325UL, StableHash.Fnv1a64(""));
        Assert.Equal(0xaf63dc4c8601ec8cUL, StableHash.Fnv1a64("a"));
        Assert.Equal(0x85944171f73967e8UL, StableHash.Fnv1a64("foobar"));
        Assert.Equal(StableHash.Fnv1a64("héllo"u8.ToArray()), StableHash.Fnv1a64("héllo"));
        Assert.Equal(StableHash.Fnv1a64(new string('é', 1000)), StableHash.Fnv1a64(System.Text.Encoding.UTF8.GetBytes(new string('é', 1000))));
    }

    [Fact]
    public async Task Bm25RanksAndKeepsItsStatisticsOnDisk()
    {
        var directory = TestServer.NewDataDir();
        try
        {
            var path = Path.Combine(directory, "bm25.text.json");
            var bm25 = new Bm25SparseEmbedder(path);
            string[] documents = ["rust borrow checker lifetimes", "python garbage collector", "rust rust rust compiler errors explained at length in a long document"];
            var vectors = await bm25.EmbedDocumentsAsync(documents, v => Task.FromResult(v), CancellationToken.None);
            Assert.Equal(new Bm25Stats(3, 16), bm25.Stats);
            var query = bm25.EmbedQuery("Rust compiler");
            Assert.Equal(2, query.Count);
            Assert.Equal(0f, query.Dot(vectors[1]));
            Assert.True(query.Dot(vectors[2]) > query.Dot(vectors[0]));

            // tf saturates: three occurrences weigh less than three times one.
            var rust = StableHash.TermId("rust");
            float ValueOf(Vectorizer.Engine.Sparse.SparseVector v) => v.Values[Array.IndexOf(v.Indices, rust)];
            Assert.True(ValueOf(vectors[2]) < 3 * ValueOf(vectors[0]));

            // A failed write commits nothing; a new instance reads what the last successful one wrote.
            await Assert.ThrowsAsync<InvalidOperationException>(() => bm25.EmbedDocumentsAsync<int>(["lost"], _ => throw new InvalidOperationException(), CancellationToken.None));
            Assert.Equal(new Bm25Stats(3, 16), new Bm25SparseEmbedder(path).Stats);
        }
        finally
        {
            TestServer.TryDelete(directory);
        }
    }

    [Fact]
    public void EmbeddingSectionIsValidated()
    {
        static System.Text.Json.JsonElement Json(string text) => System.Text.Json.JsonDocument.Parse(text).RootElement;
        var config = EmbeddingConfig.Parse(Json("""{"dense": {"provider": "hash"}, "sparse": {"provider": "bm25"}}"""));
        Assert.Equal(512, config.Dense!.Dimension);
        Assert.Equal("dense", config.Dense.Vector);
        Assert.Equal("text", config.Sparse!.Vector);
        Assert.Equal(config, EmbeddingConfig.FromStored(config.ToStored()));
        var unknown = Assert.Throws<Vectorizer.Engine.Errors.VectorizerException>(() => EmbeddingConfig.Parse(Json("""{"dense": {"provider": "word2vec"}}""")));
        Assert.Contains("unknown dense embedding provider `word2vec`", unknown.Message, StringComparison.Ordinal);
        Assert.Throws<Vectorizer.Engine.Errors.VectorizerException>(() => EmbeddingConfig.Parse(Json("""{"dense": {"provider": "hash", "dimensions": 3}}""")));
        Assert.Throws<Vectorizer.Engine.Errors.VectorizerException>(() => EmbeddingConfig.Parse(Json("""{"sparse": {"provider": "splade"}}""")));
        Assert.Throws<Vectorizer.Engine.Errors.VectorizerException>(() => EmbeddingConfig.Parse(Json("""{"dense": {"provider": "openai", "model": "m"}}""")));
    }
}
