using System.ClientModel;
using System.ClientModel.Primitives;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Logging;
using OpenAI;
using Polly;

namespace Vectorizer.Ingestion.Expansion;

/// <summary>What happened to a query's expansion.</summary>
public enum QueryExpansionStatus : byte
{
    /// <summary>The LLM wrote the hypothetical answer for this request.</summary>
    Applied = 1,

    /// <summary>The hypothetical answer came from the cache (the same question was expanded before).</summary>
    Cached = 2,

    /// <summary>The LLM did not answer within <c>llm.timeout_seconds</c>: the search ran without expansion.</summary>
    TimedOut = 3,

    /// <summary>The LLM failed (after its retries): the search ran without expansion.</summary>
    Failed = 4,
}

/// <summary>The expansion of one search: its status, the hypothetical answer when there is one, and why not when there is none.</summary>
public sealed record QueryExpansion(QueryExpansionStatus Status, string? Text, string? Message)
{
    public bool Expanded => Text is not null;
}

/// <summary>The <c>llm:</c> section: any OpenAI-compatible chat endpoint.</summary>
public sealed record LlmOptions
{
    public required string BaseUrl { get; init; }

    public required string Model { get; init; }

    /// <summary>The environment variable holding the API key (none: no key is sent, as local servers expect).</summary>
    public string? ApiKeyEnv { get; init; }

    /// <summary>The whole expansion, retries included; then the search goes on without it.</summary>
    public double TimeoutSeconds { get; init; } = 10;

    public int MaxTokens { get; init; } = 200;

    public int MaxRetries { get; init; } = 2;

    /// <summary>How long a generated text stays cached.</summary>
    public TimeSpan CacheDuration { get; init; } = TimeSpan.FromDays(1);
}

/// <summary>
/// HyDE (hypothetical document embeddings): an LLM writes a short passage that would answer the question, and that
/// passage (alone, or averaged with the question) is embedded for the dense part of the search, so a question in a
/// user's words meets documents in the documents' words. The LLM is any OpenAI-compatible chat endpoint, through
/// Microsoft.Extensions.AI's <see cref="IChatClient"/> (the OpenAI SDK's client, <c>AsIChatClient</c>) over our own
/// HttpClient: retries of 429, 408, 5xx and connection failures by the same resilience pipeline as the embedders
/// (<c>Microsoft.Extensions.Http.Resilience</c>, the SDK's own retries off), all within <c>timeout_seconds</c>, after
/// which the search proceeds without expansion and says so. Generated texts are cached by question, model and
/// settings in the server's HybridCache (so a Redis second level shares them across restarts and servers); failures
/// are not cached. Time is a <see cref="TimeProvider"/> (a fake one in tests).
/// </summary>
public sealed class HydeExpander : IDisposable
{
    /// <summary>Changing it changes every cache key (the prompt is part of what a cached text means).</summary>
    public const string Prompt =
        "Write a short passage, as it would appear in technical documentation, that answers the user's question. " +
        "Answer directly, with the words such documentation would use; no preamble, no mention of the question.";

    private readonly IChatClient client;
    private readonly HttpClient http;
    private readonly LlmOptions options;
    private readonly HybridCache cache;
    private readonly TimeProvider time;
    private readonly ILogger logger;
    private readonly string keyPrefix;

    public HydeExpander(LlmOptions options, HybridCache cache, ILogger logger, HttpMessageHandler? handler = null, TimeProvider? time = null)
    {
        this.options = options;
        this.cache = cache;
        this.logger = logger;
        this.time = time ?? TimeProvider.System;
        var resilience = new ResilienceHandler(Pipeline(options.MaxRetries, this.time, logger))
        {
            InnerHandler = handler ?? new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) },
        };
        http = new HttpClient(resilience, disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
        var key = options.ApiKeyEnv is { Length: > 0 } name ? Environment.GetEnvironmentVariable(name) : null;
        var clientOptions = new OpenAIClientOptions
        {
            Endpoint = new Uri(options.BaseUrl),
            Transport = new HttpClientPipelineTransport(http),
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            NetworkTimeout = Timeout.InfiniteTimeSpan,
        };
        client = new OpenAI.Chat.ChatClient(options.Model, new ApiKeyCredential(key is { Length: > 0 } ? key : "none"), clientOptions).AsIChatClient();
        keyPrefix = Hex($"{options.BaseUrl}\n{options.Model}\n{options.MaxTokens}\n{Prompt}\n");
    }

    /// <summary>The hypothetical answer to <paramref name="question"/>, or why there is none.</summary>
    public async Task<QueryExpansion> ExpandAsync(string question, CancellationToken cancellationToken)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(options.TimeoutSeconds), time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        var generated = false;
        try
        {
            var text = await cache.GetOrCreateAsync(
                $"hyde:{keyPrefix}:{Hex(question)}",
                async token =>
                {
                    generated = true;
                    return await GenerateAsync(question, token).ConfigureAwait(false);
                },
                new HybridCacheEntryOptions { Expiration = options.CacheDuration, LocalCacheExpiration = options.CacheDuration },
                cancellationToken: linked.Token).ConfigureAwait(false);
            return new QueryExpansion(generated ? QueryExpansionStatus.Applied : QueryExpansionStatus.Cached, text, null);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            logger.LogWarning("HyDE: {Endpoint} gave no answer within {Seconds} s; searching without expansion", options.BaseUrl, options.TimeoutSeconds);
            return new QueryExpansion(QueryExpansionStatus.TimedOut, null, $"the LLM gave no answer within {options.TimeoutSeconds:0.###} s (llm.timeout_seconds)");
        }
        catch (Exception e) when (e is HttpRequestException or ClientResultException or InvalidDataException && !cancellationToken.IsCancellationRequested)
        {
            logger.LogWarning("HyDE: {Endpoint} failed ({Failure}); searching without expansion", options.BaseUrl, e.Message);
            return new QueryExpansion(QueryExpansionStatus.Failed, null, "the LLM failed: " + e.Message);
        }
    }

    private async Task<string> GenerateAsync(string question, CancellationToken cancellationToken)
    {
        var response = await client.GetResponseAsync(
            [new ChatMessage(ChatRole.System, Prompt), new ChatMessage(ChatRole.User, question)],
            new ChatOptions { MaxOutputTokens = options.MaxTokens, Temperature = 0.2f },
            cancellationToken).ConfigureAwait(false);
        var text = response.Text.Trim();
        return text.Length > 0 ? text : throw new InvalidDataException("it answered an empty text");
    }

    /// <summary>Retries of transient HTTP failures, as the OpenAI-compatible embedder does (exponential from 0.2 s, jitter, Retry-After).</summary>
    private static ResiliencePipeline<HttpResponseMessage> Pipeline(int maxRetries, TimeProvider time, ILogger logger)
    {
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = time };
        if (maxRetries > 0)
        {
            builder.AddRetry(new HttpRetryStrategyOptions
            {
                MaxRetryAttempts = maxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(200),
                MaxDelay = TimeSpan.FromSeconds(5),
                OnRetry = args =>
                {
                    logger.LogInformation("HyDE: the LLM request failed ({Failure}); retry {Attempt} of {Max}",
                        args.Outcome.Exception?.Message ?? ((int?)args.Outcome.Result?.StatusCode)?.ToString(System.Globalization.CultureInfo.InvariantCulture), args.AttemptNumber + 1, maxRetries);
                    return ValueTask.CompletedTask;
                },
            });
        }

        return builder.Build();
    }

    private static string Hex(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    public void Dispose()
    {
        client.Dispose();
        http.Dispose();
    }
}
