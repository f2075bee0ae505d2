using Microsoft.Extensions.Configuration;

namespace Vectorizer.Server.Configuration;

/// <summary>
/// The <c>cache:</c> section: the query cache (answers of vector queries and text searches, per collection, invalidated
/// by every write through the collection's version; see <c>Application/Caching/QueryCache</c>).
/// </summary>
public sealed class CacheSection
{
    /// <summary>Cache answers of reads. HyDE's generated texts are cached either way.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How long an entry lives at most (writes make entries unreachable at once; this bounds idle memory).</summary>
    [ConfigurationKeyName("ttl_seconds")]
    public int TtlSeconds { get; set; } = 300;

    /// <summary>The memory level's size bound, in MiB of serialized answers.</summary>
    [ConfigurationKeyName("max_mb")]
    public int MaxMb { get; set; } = 64;

    /// <summary>A Redis (or compatible) server as the second level, StackExchange.Redis syntax (<c>host:port,password=…</c>); empty: memory only.</summary>
    public string Redis { get; set; } = "";

    /// <summary>Prefix of the keys in Redis.</summary>
    [ConfigurationKeyName("redis_prefix")]
    public string RedisPrefix { get; set; } = "vectorizer:";

    /// <summary>Longest a Redis call may take before Redis counts as down (the circuit opens: memory level only).</summary>
    [ConfigurationKeyName("redis_timeout_ms")]
    public int RedisTimeoutMs { get; set; } = 1000;

    /// <summary>While Redis is down, how often one background probe checks whether it is back.</summary>
    [ConfigurationKeyName("redis_retry_seconds")]
    public int RedisRetrySeconds { get; set; } = 10;
}

public sealed class CacheValidator : SectionValidator<CacheSection>
{
    public override IEnumerable<(string Key, string Message)> Check(CacheSection s)
    {
        if (s.TtlSeconds is < 1 or > 7 * 24 * 3600)
        {
            yield return ("ttl_seconds", $"{s.TtlSeconds} is not from 1 to {7 * 24 * 3600} seconds");
        }

        if (s.MaxMb is < 1 or > 1 << 20)
        {
            yield return ("max_mb", $"{s.MaxMb} is not from 1 to {1 << 20} MiB");
        }

        if (s.RedisTimeoutMs is < 1 or > 60_000)
        {
            yield return ("redis_timeout_ms", $"{s.RedisTimeoutMs} is not from 1 to 60000 ms");
        }

        if (s.RedisRetrySeconds is < 1 or > 3600)
        {
            yield return ("redis_retry_seconds", $"{s.RedisRetrySeconds} is not from 1 to 3600 seconds");
        }

        if (s.Redis.Length > 0)
        {
            string? problem = null;
            try
            {
                StackExchange.Redis.ConfigurationOptions.Parse(s.Redis);
            }
            catch (ArgumentException e)
            {
                problem = e.Message;
            }

            if (problem is not null)
            {
                yield return ("redis", $"`{s.Redis}` is not a Redis connection string: {problem}");
            }
        }
    }
}

/// <summary>
/// The <c>llm:</c> section: an OpenAI-compatible chat endpoint for HyDE (<c>"expand": {"hyde": true}</c> on
/// <c>/search/text</c>). Off while <c>base_url</c> is empty.
/// </summary>
public sealed class LlmSection
{
    /// <summary><c>{base_url}/chat/completions</c> is called, e.g. <c>https://api.openai.com/v1</c> or a local server's <c>/v1</c>.</summary>
    [ConfigurationKeyName("base_url")]
    public string BaseUrl { get; set; } = "";

    public string Model { get; set; } = "";

    /// <summary>The environment variable that holds the API key (the key itself never goes in the file).</summary>
    [ConfigurationKeyName("api_key_env")]
    public string ApiKeyEnv { get; set; } = "";

    /// <summary>The whole expansion, retries included; after it the search runs without expansion and says so.</summary>
    [ConfigurationKeyName("timeout_seconds")]
    public double TimeoutSeconds { get; set; } = 10;

    /// <summary>Longest hypothetical answer, in tokens.</summary>
    [ConfigurationKeyName("max_tokens")]
    public int MaxTokens { get; set; } = 200;

    /// <summary>Retries of 429, 408, 5xx and connection failures (within the timeout).</summary>
    [ConfigurationKeyName("max_retries")]
    public int MaxRetries { get; set; } = 2;

    public bool IsEnabled() => BaseUrl.Length > 0;

    public Ingestion.Expansion.LlmOptions? ToOptions() => IsEnabled()
        ? new Ingestion.Expansion.LlmOptions
        {
            BaseUrl = BaseUrl,
            Model = Model,
            ApiKeyEnv = ApiKeyEnv.Length > 0 ? ApiKeyEnv : null,
            TimeoutSeconds = TimeoutSeconds,
            MaxTokens = MaxTokens,
            MaxRetries = MaxRetries,
        }
        : null;
}

public sealed class LlmValidator : SectionValidator<LlmSection>
{
    public override IEnumerable<(string Key, string Message)> Check(LlmSection s)
    {
        if (!s.IsEnabled())
        {
            if (s.Model.Length > 0 || s.ApiKeyEnv.Length > 0)
            {
                yield return ("base_url", "is required when `model` or `api_key_env` is set");
            }

            yield break;
        }

        if (!Uri.TryCreate(s.BaseUrl, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            yield return ("base_url", $"`{s.BaseUrl}` is not an http(s) URL");
        }

        if (s.Model.Length == 0)
        {
            yield return ("model", "is required (the chat model that writes the hypothetical answers)");
        }

        if (s.TimeoutSeconds is <= 0 or > 600 || !double.IsFinite(s.TimeoutSeconds))
        {
            yield return ("timeout_seconds", $"{s.TimeoutSeconds} is not from 0 (exclusive) to 600");
        }

        if (s.MaxTokens is < 1 or > 8192)
        {
            yield return ("max_tokens", $"{s.MaxTokens} is not from 1 to 8192");
        }

        if (s.MaxRetries is < 0 or > 10)
        {
            yield return ("max_retries", $"{s.MaxRetries} is not from 0 to 10");
        }
    }
}
