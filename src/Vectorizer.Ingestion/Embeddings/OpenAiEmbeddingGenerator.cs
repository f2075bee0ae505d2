using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Timeout;
using Vectorizer.Engine.Errors;

namespace Vectorizer.Ingestion.Embeddings;

/// <summary>
/// Any OpenAI-compatible <c>POST {base_url}/embeddings</c> endpoint. Texts already in the <see cref="EmbeddingCache"/>
/// are not sent; the rest go in batches of <c>batch_size</c>. 429, 408 and 5xx answers, connection failures and
/// timeouts (<c>timeout_seconds</c> per attempt) are retried up to <c>max_retries</c> times by a resilience pipeline
/// (<c>Microsoft.Extensions.Http.Resilience</c>: exponential backoff from 0.5 s with jitter, or after
/// <c>Retry-After</c> / OpenAI's <c>retry-after-ms</c> when the server says; at most 60 s), whose clock is the
/// <see cref="TimeProvider"/> given (tests advance a fake one). Tokens come from the response's <c>usage</c>; cost is
/// tokens × <c>cost_per_1k_tokens</c> / 1000.
/// </summary>
public sealed class OpenAiEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    private static readonly TimeSpan InitialBackoff = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(60);

    private readonly DenseEmbedderConfig config;
    private readonly HttpClient http;
    private readonly EmbeddingCache? cache;
    private readonly ILogger logger;
    private readonly Uri endpoint;
    private readonly EmbeddingGeneratorMetadata metadata;
    private readonly Lock sync = new();
    private readonly int batchSize;
    private readonly int timeoutSeconds;
    private readonly int maxRetries;
    private readonly double costPer1kTokens;
    private readonly ResiliencePipeline<HttpResponseMessage> pipeline;
    private ProviderUsage usage = new(0, 0, 0, 0, 0);

    public OpenAiEmbeddingGenerator(DenseEmbedderConfig config, HttpClient http, EmbeddingCache? cache, ILogger logger, TimeProvider? time = null)
    {
        this.config = config;
        batchSize = config.BatchSize ?? DenseEmbedderConfig.DefaultBatchSize;
        timeoutSeconds = config.TimeoutSeconds ?? DenseEmbedderConfig.DefaultTimeoutSeconds;
        maxRetries = config.MaxRetries ?? DenseEmbedderConfig.DefaultMaxRetries;
        costPer1kTokens = config.CostPer1kTokens ?? 0;
        this.http = http;
        this.cache = cache;
        this.logger = logger;
        endpoint = new Uri(config.BaseUrl!.TrimEnd('/') + "/embeddings");
        metadata = new EmbeddingGeneratorMetadata("openai-compatible", endpoint, config.Model, config.Dimensions);
        pipeline = BuildPipeline(time ?? TimeProvider.System);
    }

    /// <summary>Retries (when <c>max_retries</c> &gt; 0) around a timeout per attempt.</summary>
    private ResiliencePipeline<HttpResponseMessage> BuildPipeline(TimeProvider time)
    {
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = time };
        if (maxRetries > 0)
        {
            // 429, 408, 5xx, HttpRequestException and a timed-out attempt are transient; Retry-After is honoured.
            var retry = new HttpRetryStrategyOptions
            {
                MaxRetryAttempts = maxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = InitialBackoff,
                MaxDelay = MaxDelay,
                OnRetry = args =>
                {
                    var failure = args.Outcome.Exception?.Message ?? $"{(int)args.Outcome.Result!.StatusCode} {args.Outcome.Result.ReasonPhrase}";
                    logger.LogWarning("Embedding request to {Endpoint} failed ({Failure}); retry {Attempt} of {Max} in {Delay} ms",
                        endpoint, failure, args.AttemptNumber + 1, maxRetries, (int)args.RetryDelay.TotalMilliseconds);
                    return ValueTask.CompletedTask;
                },
            };
            var retryAfter = retry.DelayGenerator;
            retry.DelayGenerator = args => RetryAfterMs(args.Outcome.Result) is { } delay ? ValueTask.FromResult<TimeSpan?>(delay)
                : retryAfter is null ? ValueTask.FromResult<TimeSpan?>(null)
                : retryAfter(args);
            builder.AddRetry(retry);
        }

        return builder.AddTimeout(TimeSpan.FromSeconds(timeoutSeconds)).Build();
    }

    /// <summary>Everything this generator has done since it was created.</summary>
    public ProviderUsage Usage
    {
        get
        {
            lock (sync)
            {
                return usage;
            }
        }
    }

    public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(
        IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        var texts = values as IReadOnlyList<string> ?? [.. values];
        var vectors = new float[]?[texts.Count];
        var missing = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        var hits = 0;
        for (var i = 0; i < texts.Count; i++)
        {
            if (cache is not null && cache.TryGet(CacheKeyOf(texts[i]), out var cached))
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
        var requests = 0;
        var budget = options?.AdditionalProperties?.TryGetValue(IngestionService.BudgetPropertyName, out var b) == true ? b as IEmbeddingBudget : null;
        var query = options?.AdditionalProperties?.ContainsKey(IngestionService.QueryPropertyName) == true;
        for (var start = 0; start < pending.Count; start += batchSize)
        {
            var batch = pending.GetRange(start, Math.Min(batchSize, pending.Count - start));
            if (!query && costPer1kTokens > 0)
            {
                budget?.Check(EstimateTokens(batch) * costPer1kTokens / 1000.0);
            }

            var (embeddings, used, attempts) = await RequestAsync(batch, cancellationToken).ConfigureAwait(false);
            budget?.Record(used, used * costPer1kTokens / 1000.0);
            tokens += used;
            requests += attempts;
            for (var j = 0; j < batch.Count; j++)
            {
                foreach (var position in missing[batch[j]])
                {
                    vectors[position] = embeddings[j];
                }

                cache?.Add(CacheKeyOf(batch[j]), embeddings[j]);
            }
        }

        var cost = tokens * costPer1kTokens / 1000.0;
        lock (sync)
        {
            usage = new ProviderUsage(usage.Requests + requests, usage.Embedded + pending.Count, usage.CacheHits + hits, usage.Tokens + tokens, usage.Cost + cost);
        }

        var result = new GeneratedEmbeddings<Embedding<float>>(texts.Count)
        {
            Usage = new UsageDetails { InputTokenCount = tokens, TotalTokenCount = tokens },
            AdditionalProperties = new AdditionalPropertiesDictionary { ["cached"] = hits, ["embedded"] = pending.Count, ["cost"] = cost, ["requests"] = requests },
        };
        foreach (var vector in vectors)
        {
            result.Add(new Embedding<float>(vector!) { ModelId = config.Model });
        }

        return result;
    }

    /// <summary>What a batch will cost before it is sent: 4 characters a token (OpenAI's rule of thumb for English), rounded up per text.</summary>
    public static long EstimateTokens(IEnumerable<string> texts) => texts.Sum(t => (long)Math.Max(1, (t.Length + 3) / 4));

    private CacheKey CacheKeyOf(string text) => EmbeddingCache.Key(endpoint.AbsoluteUri, config.Model!, config.Dimensions, text);

    /// <summary>One batch, retried; returns the vectors in input order, the tokens used and the HTTP attempts made.</summary>
    private async Task<(float[][] Vectors, long Tokens, int Attempts)> RequestAsync(List<string> batch, CancellationToken cancellationToken)
    {
        var body = RequestBody(batch);
        var key = ApiKey();
        var attempts = 0;
        HttpResponseMessage response;
        try
        {
            response = await pipeline.ExecuteAsync(
                async token =>
                {
                    attempts++;
                    using var request = new HttpRequestMessage(HttpMethod.Post, endpoint) { Content = new ByteArrayContent(body) };
                    request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                    if (key is not null)
                    {
                        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
                    }

                    return await http.SendAsync(request, token).ConfigureAwait(false); // the body is read within the attempt's timeout
                },
                cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or TimeoutRejectedException && !cancellationToken.IsCancellationRequested)
        {
            var failure = e is TimeoutRejectedException ? $"no answer within {timeoutSeconds} s" : e.Message;
            throw Failed($"{endpoint} failed after {attempts} attempt{(attempts == 1 ? "" : "s")}: {failure}");
        }

        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                var failure = $"{(int)response.StatusCode} {Truncate(text)}";
                throw Failed(attempts == 1 ? $"{endpoint} answered {failure}" : $"{endpoint} failed after {attempts} attempts: {failure}");
            }

            var (vectors, tokens) = ParseResponse(text, batch.Count);
            return (vectors, tokens, attempts);
        }
    }

    private byte[] RequestBody(List<string> batch)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("model", config.Model);
            writer.WriteStartArray("input");
            foreach (var text in batch)
            {
                writer.WriteStringValue(text);
            }

            writer.WriteEndArray();
            writer.WriteString("encoding_format", "float");
            if (config.Dimensions is { } dimensions)
            {
                writer.WriteNumber("dimensions", dimensions);
            }

            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private string? ApiKey()
    {
        if (config.ApiKeyEnv is not { Length: > 0 } name)
        {
            return null;
        }

        var value = Environment.GetEnvironmentVariable(name);
        return string.IsNullOrEmpty(value)
            ? throw Failed($"the environment variable `{name}` (api_key_env) is not set")
            : value;
    }

    private (float[][] Vectors, long Tokens) ParseResponse(string text, int expected)
    {
        try
        {
            using var document = JsonDocument.Parse(text);
            var root = document.RootElement;
            var vectors = new float[expected][];
            foreach (var item in root.GetProperty("data").EnumerateArray())
            {
                var index = item.TryGetProperty("index", out var i) ? i.GetInt32() : Array.IndexOf(vectors, null);
                if (index < 0 || index >= expected || vectors[index] is not null)
                {
                    throw Failed($"{endpoint} returned an embedding with an unexpected index {index}");
                }

                var embedding = item.GetProperty("embedding");
                var vector = new float[embedding.GetArrayLength()];
                var k = 0;
                foreach (var value in embedding.EnumerateArray())
                {
                    vector[k++] = value.GetSingle();
                }

                if (config.Dimensions is { } dimensions && vector.Length != dimensions)
                {
                    throw Failed($"{endpoint} returned {vector.Length} dimensions, configured `dimensions` is {dimensions}");
                }

                vectors[index] = vector;
            }

            if (Array.IndexOf(vectors, null) is var gap and >= 0)
            {
                throw Failed($"{endpoint} returned no embedding for input {gap}");
            }

            long tokens = 0;
            if (root.TryGetProperty("usage", out var used) && used.ValueKind == JsonValueKind.Object)
            {
                tokens = used.TryGetProperty("total_tokens", out var total) ? total.GetInt64()
                    : used.TryGetProperty("prompt_tokens", out var prompt) ? prompt.GetInt64() : 0;
            }

            return (vectors, tokens);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw Failed($"{endpoint} returned a response that is not an embeddings list: {e.Message}");
        }
    }

    /// <summary>OpenAI's <c>retry-after-ms</c> header (the standard <c>Retry-After</c> is the resilience pipeline's).</summary>
    private static TimeSpan? RetryAfterMs(HttpResponseMessage? response) =>
        response is not null && response.Headers.TryGetValues("retry-after-ms", out var values)
        && double.TryParse(values.FirstOrDefault(), NumberStyles.Float, CultureInfo.InvariantCulture, out var milliseconds) && milliseconds >= 0
            ? TimeSpan.FromMilliseconds(Math.Min(milliseconds, MaxDelay.TotalMilliseconds))
            : null;

    private static string Truncate(string text) => text.Length <= 300 ? text : text[..300] + "…";

    private static IngestionException Failed(string message) => new(IngestionErrorCode.EmbeddingProviderFailed, message);

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is not null ? null
        : serviceType == typeof(EmbeddingGeneratorMetadata) ? metadata
        : serviceType.IsInstanceOfType(this) ? this
        : null;

    public void Dispose()
    {
        // The HttpClient and the cache are shared and owned by the ingestion service.
    }
}

/// <summary>HTTP attempts, texts sent, cache hits, tokens and cost of a provider.</summary>
public sealed record ProviderUsage(long Requests, long Embedded, long CacheHits, long Tokens, double Cost);
