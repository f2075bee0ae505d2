using System.Text.Json;
using System.Text.Json.Serialization;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Vectors;

namespace Vectorizer.Ingestion.Embeddings;

/// <summary>
/// How a collection turns text into vectors: the optional <c>embedding</c> section of collection creation
/// (our extension; Qdrant clients never send it and are unaffected). Stored normalised, defaults filled in,
/// with the collection's config, so a later change of defaults never changes how an existing collection embeds.
/// <code>
/// "embedding": {
///   "dense":  {"provider": "hash", "vector": "dense", "dimension": 512},
///   "sparse": {"provider": "bm25", "vector": "text", "k1": 1.2, "b": 0.75}
/// }
/// </code>
/// </summary>
public sealed record EmbeddingConfig
{
    public static readonly string[] DenseProviders = ["local", "hash", "openai"];
    public static readonly string[] SparseProviders = ["bm25"];

    [JsonPropertyName("dense")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public DenseEmbedderConfig? Dense { get; init; }

    [JsonPropertyName("sparse")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public SparseEmbedderConfig? Sparse { get; init; }

    /// <summary>
    /// A page vector per indexed file (<c>"page": {"vector": "page"}</c>): the dense embedder's vector of the file's
    /// title and summary line, on one extra point per file, fused per document into hybrid text search
    /// (<see cref="PageVectorConfig"/>). Null (collections made before it, or without it): none, search as before.
    /// </summary>
    [JsonPropertyName("page")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public PageVectorConfig? Page { get; init; }

    public JsonElement ToJson() => JsonSerializer.SerializeToElement(this);

    /// <summary>The section as the engine stores it with the collection (opaque to the engine).</summary>
    public OpaqueJson ToStored() => OpaqueJson.FromElement(ToJson());

    /// <summary>Reads a stored (already validated) section.</summary>
    public static EmbeddingConfig FromStored(OpaqueJson stored) =>
        JsonSerializer.Deserialize<EmbeddingConfig>(stored.Utf8) ?? throw new VectorizerException(ErrorCode.StorageFailure, "The stored embedding section is empty");

    /// <summary>Parses and validates a request's <c>embedding</c> section: unknown providers and fields are errors (400).</summary>
    public static EmbeddingConfig Parse(JsonElement element, string path = "embedding")
    {
        var input = Expect(element, path);
        Allow(input, path, "dense", "sparse", "page");
        var dense = Optional(input, "dense") is { } d ? ParseDense(d, path + ".dense") : null;
        var sparse = Optional(input, "sparse") is { } s ? ParseSparse(s, path + ".sparse") : null;
        if (dense is null && sparse is null)
        {
            throw Bad(path, "configure at least one of `dense` and `sparse`");
        }

        PageVectorConfig? page = null;
        if (Optional(input, "page") is { } p)
        {
            Expect(p, path + ".page");
            Allow(p, path + ".page", "vector");
            if (dense is null)
            {
                throw Bad(path + ".page", "a page vector is made by the dense embedder; configure `dense` too");
            }

            var vector = String(p, "vector", path + ".page") ?? PageVectorConfig.DefaultVector;
            if (vector.Length == 0 || vector == dense.Vector)
            {
                throw Bad(path + ".page.vector", $"`{vector}` must be a name of its own (not empty, not the dense vector `{dense.Vector}`)");
            }

            page = new PageVectorConfig { Vector = vector };
        }

        return new EmbeddingConfig { Dense = dense, Sparse = sparse, Page = page };
    }

    private static DenseEmbedderConfig ParseDense(JsonElement element, string path)
    {
        Expect(element, path);
        var provider = String(element, "provider", path) ?? throw Bad(path, "missing field `provider`");
        var vector = String(element, "vector", path) ?? DenseEmbedderConfig.DefaultVector;
        switch (provider)
        {
            case "hash":
                Allow(element, path, "provider", "vector", "dimension");
                return new DenseEmbedderConfig
                {
                    Provider = provider,
                    Vector = vector,
                    Dimension = Int(element, "dimension", path, 1, 65536) ?? HashEmbeddingGenerator.DefaultDimension,
                };
            case "local":
                return ParseLocal(element, path, vector);
            case "openai":
                Allow(element, path, "provider", "vector", "base_url", "model", "api_key_env", "dimensions", "batch_size", "timeout_seconds", "max_retries", "cost_per_1k_tokens");
                var baseUrl = String(element, "base_url", path) ?? throw Bad(path, "missing field `base_url`");
                if (!Uri.TryCreate(baseUrl, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                {
                    throw Bad(path + ".base_url", $"`{baseUrl}` is not an http(s) URL");
                }

                var cost = Optional(element, "cost_per_1k_tokens") is { } c
                    ? (c.ValueKind == JsonValueKind.Number && c.GetDouble() >= 0 ? c.GetDouble() : throw Bad(path + ".cost_per_1k_tokens", "expected a number, 0 or larger"))
                    : 0;
                return new DenseEmbedderConfig
                {
                    Provider = provider,
                    Vector = vector,
                    BaseUrl = baseUrl,
                    Model = String(element, "model", path) ?? throw Bad(path, "missing field `model`"),
                    ApiKeyEnv = String(element, "api_key_env", path),
                    Dimensions = Int(element, "dimensions", path, 1, 65536),
                    BatchSize = Int(element, "batch_size", path, 1, 2048) ?? DenseEmbedderConfig.DefaultBatchSize,
                    TimeoutSeconds = Int(element, "timeout_seconds", path, 1, 3600) ?? DenseEmbedderConfig.DefaultTimeoutSeconds,
                    MaxRetries = Int(element, "max_retries", path, 0, 20) ?? DenseEmbedderConfig.DefaultMaxRetries,
                    CostPer1kTokens = cost,
                };
            default:
                throw Bad(path + ".provider", $"unknown dense embedding provider `{provider}`, expected one of {Names(DenseProviders)}");
        }
    }

    /// <summary>
    /// <c>local</c>: the built-in model (all-MiniLM-L6-v2), or any sentence-transformers ONNX export with its WordPiece
    /// vocabulary (<c>model_path</c> and <c>vocab_path</c>, both files, and its <c>dimension</c>).
    /// </summary>
    private static DenseEmbedderConfig ParseLocal(JsonElement element, string path, string vector)
    {
        Allow(element, path, "provider", "vector", "model", "model_path", "vocab_path", "dimension", "max_tokens", "pooling", "normalize", "lowercase", "batch_size");
        var modelPath = String(element, "model_path", path);
        var vocabPath = String(element, "vocab_path", path);
        var model = String(element, "model", path);
        var dimension = Int(element, "dimension", path, 1, 65536);
        if (modelPath is null != vocabPath is null)
        {
            throw Bad(path, "set both `model_path` and `vocab_path` (an ONNX model and its WordPiece vocab.txt), or neither for the built-in model");
        }

        if (modelPath is null)
        {
            if (model is not null && model != Local.LocalModels.BuiltinName)
            {
                throw Bad(path + ".model", $"the built-in model is `{Local.LocalModels.BuiltinName}`; for `{model}` set `model_path` and `vocab_path`");
            }

            if (dimension is { } size && size != Local.LocalModels.BuiltinDimension)
            {
                throw Bad(path + ".dimension", $"{Local.LocalModels.BuiltinName} makes {Local.LocalModels.BuiltinDimension}-dimensional vectors, not {size}");
            }

            model = Local.LocalModels.BuiltinName;
            dimension = Local.LocalModels.BuiltinDimension;
        }
        else
        {
            foreach (var (key, file) in new[] { ("model_path", modelPath), ("vocab_path", vocabPath!) })
            {
                if (!Path.IsPathFullyQualified(file) || !File.Exists(file))
                {
                    throw Bad($"{path}.{key}", $"`{file}` is not an existing file given by its absolute path");
                }
            }

            if (dimension is null)
            {
                throw Bad(path, "missing field `dimension` (the size of the model's vectors)");
            }
        }

        var pooling = String(element, "pooling", path) ?? "mean";
        if (pooling is not ("mean" or "cls"))
        {
            throw Bad(path + ".pooling", $"unknown pooling `{pooling}`, expected `mean` or `cls`");
        }

        return new DenseEmbedderConfig
        {
            Provider = "local",
            Vector = vector,
            Model = modelPath is null ? model : null,
            ModelPath = modelPath,
            VocabPath = vocabPath,
            Dimension = dimension,
            MaxTokens = Int(element, "max_tokens", path, 2, 8192) ?? Local.LocalModels.BuiltinMaxTokens,
            Pooling = pooling,
            Normalize = Bool(element, "normalize", path) ?? true,
            Lowercase = Bool(element, "lowercase", path) ?? true,
            BatchSize = Int(element, "batch_size", path, 1, 1024) ?? DenseEmbedderConfig.DefaultLocalBatchSize,
        };
    }

    private static SparseEmbedderConfig ParseSparse(JsonElement element, string path)
    {
        Expect(element, path);
        var provider = String(element, "provider", path) ?? throw Bad(path, "missing field `provider`");
        if (provider != "bm25")
        {
            throw Bad(path + ".provider", $"unknown sparse embedding provider `{provider}`, expected one of {Names(SparseProviders)}");
        }

        Allow(element, path, "provider", "vector", "k1", "b");
        var k1 = Number(element, "k1", path, 0, 100) ?? Bm25SparseEmbedder.DefaultK1;
        var b = Number(element, "b", path, 0, 1) ?? Bm25SparseEmbedder.DefaultB;
        return new SparseEmbedderConfig { Provider = provider, Vector = String(element, "vector", path) ?? SparseEmbedderConfig.DefaultVector, K1 = k1, B = b };
    }

    /// <summary>
    /// Checks the section against the collection's vectors and adds what is missing: a Cosine dense vector of the
    /// provider's dimension, a sparse vector with <c>modifier: idf</c>. A declared vector whose size differs from
    /// the provider's output, or a BM25 sparse vector without the IDF modifier, is a 400: never a silent fallback.
    /// </summary>
    public CollectionConfig ApplyTo(CollectionConfig config)
    {
        var vectors = new Dictionary<string, VectorParams>(config.Vectors, StringComparer.Ordinal);
        var sparseVectors = config.SparseVectors;
        if (Dense is { } dense)
        {
            var dimension = dense.OutputDimension;
            if (vectors.TryGetValue(dense.Vector, out var declared))
            {
                if (dimension is { } size && size != declared.Size)
                {
                    throw VectorizerException.BadRequest(
                        $"embedding.dense: the `{dense.Provider}` provider makes {size}-dimensional vectors but vector `{dense.Vector}` has size {declared.Size}");
                }
            }
            else if (!config.NamedVectors || dense.Vector.Length == 0)
            {
                throw VectorizerException.BadRequest(
                    $"embedding.dense.vector: `{dense.Vector}` is not a vector of this collection" + (config.NamedVectors ? "" : "; it has one unnamed vector, use \"vector\": \"\""));
            }
            else
            {
                vectors[dense.Vector] = new VectorParams
                {
                    Size = dimension ?? throw VectorizerException.BadRequest($"embedding.dense: set `dimensions` or declare vector `{dense.Vector}` in `vectors`"),
                    Distance = Distance.Cosine,
                };
            }
        }

        if (Sparse is { } sparse)
        {
            if (config.SparseVectors.TryGetValue(sparse.Vector, out var existing))
            {
                if (!existing.Idf)
                {
                    throw VectorizerException.BadRequest($"embedding.sparse: bm25 needs `\"modifier\": \"idf\"` on sparse vector `{sparse.Vector}`");
                }
            }
            else
            {
                sparseVectors = new Dictionary<string, SparseVectorParams>(config.SparseVectors, StringComparer.Ordinal)
                {
                    [sparse.Vector] = new SparseVectorParams { Modifier = SparseVectorModifier.Idf },
                };
            }
        }

        if (Page is { } page)
        {
            var size = vectors[Dense!.Vector].Size;
            if (vectors.TryGetValue(page.Vector, out var declared))
            {
                if (declared.Size != size)
                {
                    throw VectorizerException.BadRequest($"embedding.page: vector `{page.Vector}` has size {declared.Size}, the dense embedder makes {size}-dimensional vectors");
                }
            }
            else
            {
                vectors[page.Vector] = new VectorParams { Size = size, Distance = Distance.Cosine };
            }
        }

        return config with { Vectors = vectors, SparseVectors = sparseVectors, Embedding = ToStored() };
    }

    // ------------------------------------------------------------------ JSON helpers (errors name the field)

    private static JsonElement Expect(JsonElement element, string path) =>
        element.ValueKind == JsonValueKind.Object ? element : throw Malformed(path, "expected an object");

    private static JsonElement? Optional(JsonElement parent, string name) =>
        parent.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    private static void Allow(JsonElement element, string path, params string[] names)
    {
        foreach (var property in element.EnumerateObject())
        {
            if (Array.IndexOf(names, property.Name) < 0)
            {
                throw Malformed(path, $"unknown field `{property.Name}`, expected one of {Names(names)}");
            }
        }
    }

    private static string? String(JsonElement parent, string name, string path) => Optional(parent, name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.String } value => value.GetString(),
        _ => throw Malformed($"{path}.{name}", "expected a string"),
    };

    private static bool? Bool(JsonElement parent, string name, string path) => Optional(parent, name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.True } => true,
        { ValueKind: JsonValueKind.False } => false,
        _ => throw Malformed($"{path}.{name}", "expected true or false"),
    };

    private static int? Int(JsonElement parent, string name, string path, int min, int max)
    {
        if (Optional(parent, name) is not { } value)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out var number))
        {
            throw Malformed($"{path}.{name}", "expected an integer");
        }

        return number >= min && number <= max ? number : throw Bad($"{path}.{name}", $"value {number} invalid, must be from {min} to {max}");
    }

    private static double? Number(JsonElement parent, string name, string path, double min, double max)
    {
        if (Optional(parent, name) is not { } value)
        {
            return null;
        }

        var number = value.ValueKind == JsonValueKind.Number ? value.GetDouble() : throw Malformed($"{path}.{name}", "expected a number");
        return number >= min && number <= max ? number : throw Bad($"{path}.{name}", $"value {number} invalid, must be from {min} to {max}");
    }

    private static string Names(IEnumerable<string> names) => string.Join(", ", names.Select(n => $"`{n}`"));

    private static VectorizerException Bad(string path, string message) => VectorizerException.BadRequest($"{path}: {message}");

    private static VectorizerException Malformed(string path, string message) => VectorizerException.BadRequest($"{path}: {message}");
}

/// <summary>
/// The dense embedder of a collection. <c>hash</c> uses <see cref="Dimension"/>; <c>local</c> the model fields,
/// <see cref="Dimension"/> and <see cref="BatchSize"/>; <c>openai</c> the endpoint fields.
/// </summary>
public sealed record DenseEmbedderConfig
{
    public const string DefaultVector = "dense";
    public const int DefaultBatchSize = 64;

    /// <summary>local: texts per forward pass (bench/results/embeddings-*.md: throughput flattens above 32 on 2 cores).</summary>
    public const int DefaultLocalBatchSize = 32;
    public const int DefaultTimeoutSeconds = 30;
    public const int DefaultMaxRetries = 5;

    [JsonPropertyName("provider")]
    public required string Provider { get; init; }

    /// <summary>The dense vector (name) the embeddings go to.</summary>
    [JsonPropertyName("vector")]
    public string Vector { get; init; } = DefaultVector;

    [JsonPropertyName("dimension")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Dimension { get; init; }

    [JsonPropertyName("base_url")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? BaseUrl { get; init; }

    /// <summary>local: an ONNX sentence-embedding model (absolute path); null for the built-in model.</summary>
    [JsonPropertyName("model_path")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? ModelPath { get; init; }

    /// <summary>local: the model's WordPiece vocabulary (<c>vocab.txt</c>, absolute path).</summary>
    [JsonPropertyName("vocab_path")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? VocabPath { get; init; }

    /// <summary>local: texts are cut to this many tokens, <c>[CLS]</c> and <c>[SEP]</c> included.</summary>
    [JsonPropertyName("max_tokens")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? MaxTokens { get; init; }

    /// <summary>local: <c>mean</c> or <c>cls</c>.</summary>
    [JsonPropertyName("pooling")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Pooling { get; init; }

    /// <summary>local: L2-normalise the vectors.</summary>
    [JsonPropertyName("normalize")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public bool? Normalize { get; init; }

    /// <summary>local: lowercase before tokenizing (uncased models, the built-in one among them).</summary>
    [JsonPropertyName("lowercase")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public bool? Lowercase { get; init; }

    [JsonPropertyName("model")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Model { get; init; }

    /// <summary>The name of the environment variable holding the API key (the key itself is never stored).</summary>
    [JsonPropertyName("api_key_env")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? ApiKeyEnv { get; init; }

    /// <summary>Sent to the endpoint as <c>dimensions</c> when set (models that can shorten their output).</summary>
    [JsonPropertyName("dimensions")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Dimensions { get; init; }

    [JsonPropertyName("batch_size")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? BatchSize { get; init; }

    [JsonPropertyName("timeout_seconds")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? TimeoutSeconds { get; init; }

    [JsonPropertyName("max_retries")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? MaxRetries { get; init; }

    [JsonPropertyName("cost_per_1k_tokens")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? CostPer1kTokens { get; init; }

    /// <summary>The size of the vectors the provider makes, when known before calling it.</summary>
    [JsonIgnore]
    public int? OutputDimension => Provider is "hash" or "local" ? Dimension : Dimensions;
}

/// <summary>The sparse embedder of a collection (BM25).</summary>
public sealed record SparseEmbedderConfig
{
    public const string DefaultVector = "text";

    [JsonPropertyName("provider")]
    public required string Provider { get; init; }

    [JsonPropertyName("vector")]
    public string Vector { get; init; } = DefaultVector;

    [JsonPropertyName("k1")]
    public double K1 { get; init; } = Bm25SparseEmbedder.DefaultK1;

    [JsonPropertyName("b")]
    public double B { get; init; } = Bm25SparseEmbedder.DefaultB;
}

/// <summary>
/// Where a collection's page vectors go. A page vector is the dense embedder's vector of an indexed file's title and
/// summary line (<see cref="Chunking.DocumentOutline"/>: <c>git-stash(1): git-stash - Stash the changes in a dirty
/// working directory away</c>), stored on one extra point per file whose payload has <c>"point_kind": "page"</c> and
/// only this named vector: the chunks' dense and sparse searches never see it. A file without a title gets none.
/// </summary>
public sealed record PageVectorConfig
{
    public const string DefaultVector = "page";

    [JsonPropertyName("vector")]
    public string Vector { get; init; } = DefaultVector;
}
