using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Vectorizer.Engine.Collections;
using Vectorizer.Server.Configuration;

namespace Vectorizer.Server.Application.Caching;

/// <summary>Hits, misses and requests that are never cached (random samples, the cache off), since the start.</summary>
public sealed record QueryCacheStats(bool Enabled, long Hits, long Misses, long Bypassed, string SecondLevel)
{
    /// <summary>With Redis: <c>connected</c>, or <c>unreachable</c> while its circuit is open (answers come from memory); null without.</summary>
    public string? SecondLevelState { get; init; }

    public double HitRate => Hits + Misses == 0 ? 0 : (double)Hits / (Hits + Misses);
}

/// <summary>
/// Answers of reads (vector queries, text searches) cached per collection, keyed by the normalised request
/// (<see cref="RequestKey"/>) and the collection's <see cref="Collection.Version"/>, which every applied write, config
/// change and payload-index change moves under the collection's write lock before the writer is acknowledged. So a
/// write is never hidden by an older answer: a reader reads the version first, and an answer stored under that
/// version was computed after it was read, from a state at least that new. Entries of older versions are never looked
/// up again and leave by TTL or by the size bound; nothing is invalidated by a timer. The key also holds an identity of
/// the <see cref="Collection"/> object, so a collection deleted and created again (or reopened by another process
/// sharing the Redis level) never meets the old one's entries.
/// <para>
/// Storage is <c>Microsoft.Extensions.Caching.Hybrid</c> in a container of its own: a memory level bounded in bytes
/// (<c>cache.max_mb</c>, entries kept serialized so their size is known) and, when <c>cache.redis</c> is set, Redis as
/// the second level (StackExchange.Redis). Concurrent misses of one key run the query once (HybridCache's stampede
/// protection). The same HybridCache keeps HyDE's generated texts, which do not depend on a collection's state and so
/// are shared through Redis across restarts and servers. Counters: <see cref="Stats"/> (in <c>/api/status</c>) and the
/// meter <see cref="MeterName"/> (<c>vectorizer.query_cache.hits</c>, <c>.misses</c>, <c>.bypassed</c>).
/// </para>
/// </summary>
public sealed class QueryCache : IDisposable
{
    public const string MeterName = "Vectorizer.QueryCache";

    private readonly ServiceProvider services;
    private readonly HybridCache store;
    private readonly bool enabled;
    private readonly HybridCacheEntryOptions entryOptions;
    private readonly ConditionalWeakTable<Collection, string> incarnations = [];
    private readonly Meter meter = new(MeterName);
    private readonly Counter<long> hitCounter;
    private readonly Counter<long> missCounter;
    private readonly Counter<long> bypassCounter;
    private readonly string secondLevel;
    private long hits;
    private long misses;
    private long bypassed;

    public QueryCache(CacheSection options, ILoggerFactory loggerFactory)
    {
        hitCounter = meter.CreateCounter<long>("vectorizer.query_cache.hits", description: "Reads answered from the query cache");
        missCounter = meter.CreateCounter<long>("vectorizer.query_cache.misses", description: "Reads the query cache did not hold (run, then stored)");
        bypassCounter = meter.CreateCounter<long>("vectorizer.query_cache.bypassed", description: "Reads that are never cached (random samples, cache off)");
        var ttl = TimeSpan.FromSeconds(options.TtlSeconds);
        entryOptions = new HybridCacheEntryOptions { Expiration = ttl, LocalCacheExpiration = ttl };
        secondLevel = options.Redis.Length > 0 ? "redis" : "none";
        enabled = options.Enabled;

        // Built even when query answers are not cached: HyDE's texts always are.
        var collection = new ServiceCollection();
        collection.AddSingleton(loggerFactory);
        collection.AddLogging();
        collection.AddMemoryCache(memory => memory.SizeLimit = (long)options.MaxMb << 20);
        collection.AddHybridCache(hybrid =>
        {
            hybrid.MaximumPayloadBytes = Math.Min((long)options.MaxMb << 20, 64L << 20);
            hybrid.DefaultEntryOptions = entryOptions;
        }).AddSerializer<CachedAnswer, CachedAnswerSerializer>();
        if (options.Redis.Length > 0)
        {
            // Redis behind a circuit breaker: a Redis that is down costs one warning, not a timeout per request.
            collection.AddSingleton<IDistributedCache>(_ => breaker = new CircuitBreakingCache(
                new RedisCache(Microsoft.Extensions.Options.Options.Create(new RedisCacheOptions { Configuration = options.Redis, InstanceName = options.RedisPrefix })),
                "redis",
                loggerFactory.CreateLogger("Vectorizer.QueryCache"),
                TimeSpan.FromMilliseconds(options.RedisTimeoutMs),
                TimeSpan.FromSeconds(options.RedisRetrySeconds)));
        }

        services = collection.BuildServiceProvider();
        store = services.GetRequiredService<HybridCache>();
    }

    private CircuitBreakingCache? breaker;

    /// <summary>The second level's circuit: closed (in use), open (unreachable: memory only) or half-open (being probed); null without Redis.</summary>
    public CircuitState? SecondLevelState => breaker?.State;

    /// <summary>The HybridCache, for other derived data keyed by content (HyDE's texts); there even when <c>cache.enabled</c> is false.</summary>
    public HybridCache Shared => store;

    public QueryCacheStats Stats => new(enabled, Interlocked.Read(ref hits), Interlocked.Read(ref misses), Interlocked.Read(ref bypassed), secondLevel)
    {
        SecondLevelState = breaker?.State switch
        {
            null => null,
            CircuitState.Closed => "connected",
            _ => "unreachable",
        },
    };

    /// <summary>
    /// The answer to <paramref name="request"/> on <paramref name="collection"/>: from the cache, or from
    /// <paramref name="run"/> (then stored). <paramref name="kind"/> separates kinds of reads whose requests could look alike.
    /// </summary>
    public async ValueTask<CachedAnswer> GetOrRunAsync(Collection collection, string kind, object request, Func<CancellationToken, ValueTask<CachedAnswer>> run, CancellationToken cancellationToken)
    {
        if (!enabled || RequestKey.Of(request) is not { } digest)
        {
            Interlocked.Increment(ref bypassed);
            bypassCounter.Add(1);
            return await run(cancellationToken).ConfigureAwait(false);
        }

        // The version is read before the query runs (see the type's comment).
        var key = $"q:{incarnations.GetValue(collection, _ => Guid.NewGuid().ToString("N"))}:{collection.Version}:{kind}:{digest}";
        var ran = false;
        var answer = await store.GetOrCreateAsync(
            key,
            token =>
            {
                ran = true;
                return run(token);
            },
            entryOptions,
            cancellationToken: cancellationToken).ConfigureAwait(false);
        if (ran)
        {
            Interlocked.Increment(ref misses);
            missCounter.Add(1);
        }
        else
        {
            Interlocked.Increment(ref hits);
            hitCounter.Add(1);
        }

        return answer;
    }

    public void Dispose()
    {
        meter.Dispose();
        services.Dispose();
    }
}
