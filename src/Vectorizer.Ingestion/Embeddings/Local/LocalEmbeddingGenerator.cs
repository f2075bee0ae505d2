using Microsoft.Extensions.AI;

namespace Vectorizer.Ingestion.Embeddings.Local;

/// <summary>
/// The <c>local</c> dense provider: a sentence-embedding model run in-process by ONNX Runtime (<see cref="LocalModel"/>,
/// shared per process through <see cref="LocalModels"/>). No service, no key, no cost. Texts already in the
/// <see cref="EmbeddingCache"/> (keyed by the model's identity, the pooling, normalisation and truncation) are not
/// encoded again, and duplicates within a call are encoded once. The model is loaded at the first call, so a
/// collection that is never written or searched costs nothing.
/// </summary>
public sealed class LocalEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    private readonly DenseEmbedderConfig config;
    private readonly Func<EmbeddingCache>? cache;
    private readonly int threads;
    private readonly LocalEncoding encoding;
    private readonly EmbeddingGeneratorMetadata metadata;

    public LocalEmbeddingGenerator(DenseEmbedderConfig config, Func<EmbeddingCache>? cache, int threads)
    {
        this.config = config;
        this.cache = cache;
        this.threads = threads;
        encoding = new LocalEncoding(
            config.MaxTokens ?? LocalModels.BuiltinMaxTokens,
            config.Pooling == "cls" ? LocalPooling.Cls : LocalPooling.Mean,
            config.Normalize ?? true,
            config.BatchSize ?? DenseEmbedderConfig.DefaultLocalBatchSize);
        metadata = new EmbeddingGeneratorMetadata("local", null, config.ModelPath ?? config.Model ?? LocalModels.BuiltinName, config.Dimension);
    }

    /// <summary>The shared model (loaded on first use).</summary>
    public LocalModel Model => LocalModels.Get(config.ModelPath, config.VocabPath, config.Lowercase ?? true, threads);

    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(
        IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        var texts = values as IReadOnlyList<string> ?? [.. values];
        var model = Model;
        // Queries are cheap to embed again and each distinct one would stay in the on-disk cache forever.
        var store = options?.AdditionalProperties?.ContainsKey(IngestionService.QueryPropertyName) == true ? null : cache?.Invoke();
        var vectors = new float[]?[texts.Count];
        var missing = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        var hits = 0;
        for (var i = 0; i < texts.Count; i++)
        {
            if (store is not null && store.TryGet(KeyOf(model, texts[i]), out var cached))
            {
                vectors[i] = cached;
                hits++;
            }
            else if (missing.TryGetValue(texts[i], out var positions))
            {
                positions.Add(i);
            }
            else
            {
                missing[texts[i]] = [i];
            }
        }

        var pending = new List<string>(missing.Keys);
        long tokens = 0;
        if (pending.Count > 0)
        {
            float[][] encoded;
            try
            {
                (encoded, tokens) = model.Encode(pending, encoding, cancellationToken);
                (options?.AdditionalProperties?.TryGetValue(IngestionService.BudgetPropertyName, out var budget) == true ? budget as IEmbeddingBudget : null)?.Record(tokens, 0);
            }
            catch (Exception e) when (e is Microsoft.ML.OnnxRuntime.OnnxRuntimeException or InvalidDataException)
            {
                throw new IngestionException(IngestionErrorCode.EmbeddingProviderFailed, $"the local model failed: {e.Message}", e);
            }

            for (var j = 0; j < pending.Count; j++)
            {
                if (config.Dimension is { } dimension && encoded[j].Length != dimension)
                {
                    throw new IngestionException(IngestionErrorCode.EmbeddingProviderFailed,
                        $"the local model makes {encoded[j].Length}-dimensional vectors, but `dimension` is {dimension}");
                }

                foreach (var position in missing[pending[j]])
                {
                    vectors[position] = encoded[j];
                }

                store?.Add(KeyOf(model, pending[j]), encoded[j]);
            }
        }

        var result = new GeneratedEmbeddings<Embedding<float>>(texts.Count)
        {
            Usage = new UsageDetails { InputTokenCount = tokens, TotalTokenCount = tokens },
            AdditionalProperties = new AdditionalPropertiesDictionary { ["cached"] = hits, ["embedded"] = pending.Count, ["cost"] = 0.0 },
        };
        foreach (var vector in vectors)
        {
            result.Add(new Embedding<float>(vector!) { ModelId = metadata.DefaultModelId });
        }

        return Task.FromResult(result);
    }

    private CacheKey KeyOf(LocalModel model, string text) =>
        EmbeddingCache.Key("local:" + model.Identity, $"{encoding.Pooling}/{encoding.Normalize}/{encoding.MaxTokens}/{config.Lowercase ?? true}", null, text);

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is not null ? null
        : serviceType == typeof(EmbeddingGeneratorMetadata) ? metadata
        : serviceType.IsInstanceOfType(this) ? this
        : null;

    public void Dispose()
    {
        // The model is shared by the process (LocalModels); the cache is the ingestion service's.
    }
}
