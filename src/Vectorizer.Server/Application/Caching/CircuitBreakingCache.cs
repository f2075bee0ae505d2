using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Logging;

namespace Vectorizer.Server.Application.Caching;

/// <summary>Where the second level stands: in use, given up on after a failure, or being probed again.</summary>
public enum CircuitState
{
    /// <summary>Calls go to the second level.</summary>
    Closed,

    /// <summary>The second level failed: calls answer "not cached" at once (reads miss, writes are dropped) until a probe succeeds.</summary>
    Open,

    /// <summary>One probe is on its way (in the background: no request waits for it).</summary>
    HalfOpen,
}

/// <summary>
/// A circuit breaker around the query cache's second level (Redis): HybridCache waits on the second level on every read
/// and write, so a Redis that is down would cost every request a connect or command timeout and log a stack trace each
/// time. Here the first failure (an exception, or no answer within <see cref="Timeout"/>) opens the circuit and logs one
/// warning; while it is open every call answers at once as an empty second level would (HybridCache then serves from its
/// memory level and runs the query on a miss). Every <see cref="RetryAfter"/> one probe — a write and a read of a key of its
/// own — runs in the background; when it answers, the circuit closes, and once a call has succeeded too one information
/// line says Redis is back (a call that fails right after a probe reopens the circuit without a second warning). Requests never
/// wait on a Redis that is known to be down, and never wait longer than <see cref="Timeout"/> on one that just went down.
/// <para>
/// The states of Polly's circuit breaker (closed, open, half-open), without its pipeline: the decorated calls are a
/// handful of methods of <see cref="IDistributedCache"/>, the probe runs off the request path, and failures need no
/// counting window (one failed call of a cache is enough to stop asking it).
/// </para>
/// </summary>
public sealed class CircuitBreakingCache : IDistributedCache, IDisposable
{
    public const string ProbeKey = "vectorizer:circuit-probe";

    private readonly IDistributedCache inner;
    private readonly ILogger logger;
    private readonly TimeProvider time;
    private readonly string name;
    private readonly object gate = new();
    private CircuitState state = CircuitState.Closed;
    private long openedAt;
    private long failures;

    /// <summary>A probe closed the circuit and no call has succeeded since: a failure now is the same outage (no second warning).</summary>
    private volatile bool recovering;

    public CircuitBreakingCache(IDistributedCache inner, string name, ILogger logger, TimeSpan timeout, TimeSpan retryAfter, TimeProvider? time = null)
    {
        this.inner = inner;
        this.name = name;
        this.logger = logger;
        this.time = time ?? TimeProvider.System;
        Timeout = timeout;
        RetryAfter = retryAfter;
    }

    /// <summary>Longest a call may take before the second level counts as down.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>How long the circuit stays open before a probe is tried.</summary>
    public TimeSpan RetryAfter { get; }

    public CircuitState State
    {
        get
        {
            lock (gate)
            {
                return state;
            }
        }
    }

    /// <summary>Calls that failed or timed out (each opened the circuit or kept it open), since the start.</summary>
    public long Failures => Interlocked.Read(ref failures);

    public byte[]? Get(string key) => GetAsync(key).GetAwaiter().GetResult();

    public Task<byte[]?> GetAsync(string key, CancellationToken token = default) =>
        CallAsync(t => inner.GetAsync(key, t), null, token).AsTask();

    public void Set(string key, byte[] value, DistributedCacheEntryOptions options) => SetAsync(key, value, options).GetAwaiter().GetResult();

    public Task SetAsync(string key, byte[] value, DistributedCacheEntryOptions options, CancellationToken token = default) =>
        CallAsync(async t =>
        {
            await inner.SetAsync(key, value, options, t).ConfigureAwait(false);
            return true;
        }, false, token).AsTask();

    public void Refresh(string key) => RefreshAsync(key).GetAwaiter().GetResult();

    public Task RefreshAsync(string key, CancellationToken token = default) =>
        CallAsync(async t =>
        {
            await inner.RefreshAsync(key, t).ConfigureAwait(false);
            return true;
        }, false, token).AsTask();

    public void Remove(string key) => RemoveAsync(key).GetAwaiter().GetResult();

    public Task RemoveAsync(string key, CancellationToken token = default) =>
        CallAsync(async t =>
        {
            await inner.RemoveAsync(key, t).ConfigureAwait(false);
            return true;
        }, false, token).AsTask();

    private async ValueTask<T> CallAsync<T>(Func<CancellationToken, Task<T>> call, T whenOpen, CancellationToken token)
    {
        if (!Admit())
        {
            return whenOpen;
        }

        try
        {
            var result = await call(token).WaitAsync(Timeout, time, token).ConfigureAwait(false);
            if (recovering)
            {
                Recovered();
            }

            return result;
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            throw; // the caller gave up: says nothing about Redis
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Trip(e);
            return whenOpen;
        }
    }

    /// <summary>Whether a call may go to the second level now; starts the background probe when one is due.</summary>
    private bool Admit()
    {
        lock (gate)
        {
            if (state == CircuitState.Closed)
            {
                return true;
            }

            if (state == CircuitState.HalfOpen || time.GetElapsedTime(openedAt) < RetryAfter)
            {
                return false;
            }

            state = CircuitState.HalfOpen;
        }

        _ = Task.Run(ProbeAsync);
        return false;
    }

    private async Task ProbeAsync()
    {
        try
        {
            // What the cache's own calls do: a write, then a read.
            var options = new DistributedCacheEntryOptions { AbsoluteExpirationRelativeToNow = TimeSpan.FromMinutes(1) };
            await inner.SetAsync(ProbeKey, [1], options).WaitAsync(Timeout, time).ConfigureAwait(false);
            await inner.GetAsync(ProbeKey).WaitAsync(Timeout, time).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Interlocked.Increment(ref failures);
            lock (gate)
            {
                state = CircuitState.Open;
                openedAt = time.GetTimestamp();
            }

            logger.LogDebug("The query cache's second level ({Name}) is still unreachable: {Reason}", name, Reason(e));
            return;
        }

        lock (gate)
        {
            state = CircuitState.Closed;
            recovering = true;
        }
    }

    /// <summary>The first call after a successful probe succeeded too: the outage is over (one information line).</summary>
    private void Recovered()
    {
        lock (gate)
        {
            if (!recovering || state != CircuitState.Closed)
            {
                return;
            }

            recovering = false;
        }

        logger.LogInformation("The query cache's second level ({Name}) is reachable again: reads and writes use it again", name);
    }

    private void Trip(Exception e)
    {
        Interlocked.Increment(ref failures);
        bool opened;
        bool newOutage;
        lock (gate)
        {
            opened = state == CircuitState.Closed;
            newOutage = opened && !recovering;
            if (opened)
            {
                state = CircuitState.Open;
                openedAt = time.GetTimestamp();
            }
        }

        if (newOutage)
        {
            // One line per outage, no stack trace: what failed and what happens now.
            logger.LogWarning(
                "The query cache's second level ({Name}) is unreachable ({Reason}): serving from the memory level only, trying it again every {Seconds:0} s",
                name, Reason(e), RetryAfter.TotalSeconds);
        }
        else if (opened)
        {
            logger.LogDebug("The query cache's second level ({Name}) failed again right after a probe: {Reason}", name, Reason(e));
        }
    }

    private string Reason(Exception e) => e is TimeoutException
        ? $"no answer within {Timeout.TotalMilliseconds:0} ms"
        : $"{e.GetType().Name}: {e.Message.Split('\n')[0].Trim()}";

    public void Dispose() => (inner as IDisposable)?.Dispose();
}
