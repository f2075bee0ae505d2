using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Vectorizer.Server.Application.Caching;

namespace Vectorizer.Server.Tests;

/// <summary>
/// The query cache's circuit breaker on its own, with a second level that fails or hangs on command and a fake clock:
/// one failure opens it (one warning), calls then answer at once without touching the second level, a background
/// probe after the retry delay closes it again, and a caller's cancellation is not a failure. (RedisCircuitTests does
/// the same with a real redis-server stopped and started.)
/// </summary>
public sealed class CircuitBreakingCacheTests
{
    private sealed class Flaky : IDistributedCache
    {
        public volatile bool Down;
        public volatile bool Hang;
        public int Calls;
        public readonly Dictionary<string, byte[]> Items = [];

        private async Task<byte[]?> Do(Func<byte[]?> action, CancellationToken token)
        {
            Interlocked.Increment(ref Calls);
            if (Hang)
            {
                await Task.Delay(Timeout.Infinite, token);
            }

            return Down ? throw new InvalidOperationException("No connection is active/available to service this operation") : action();
        }

        public byte[]? Get(string key) => throw new NotSupportedException();

        public Task<byte[]?> GetAsync(string key, CancellationToken token = default) => Do(() => Items.GetValueOrDefault(key), token);

        public void Refresh(string key) => throw new NotSupportedException();

        public Task RefreshAsync(string key, CancellationToken token = default) => Do(() => null, token);

        public void Remove(string key) => throw new NotSupportedException();

        public Task RemoveAsync(string key, CancellationToken token = default) => Do(() => Items.Remove(key) ? null : null, token);

        public void Set(string key, byte[] value, DistributedCacheEntryOptions options) => throw new NotSupportedException();

        public Task SetAsync(string key, byte[] value, DistributedCacheEntryOptions options, CancellationToken token = default) => Do(() => Items[key] = value, token);
    }

    private sealed class Lines : ILogger
    {
        public readonly List<(LogLevel Level, string Text, Exception? Error)> Logged = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Logged)
            {
                Logged.Add((logLevel, formatter(state, exception), exception));
            }
        }
    }

    [Fact]
    public async Task OneFailureOpensItAProbeClosesIt()
    {
        var inner = new Flaky();
        var log = new Lines();
        var clock = new FakeTimeProvider();
        using var cache = new CircuitBreakingCache(inner, "redis", log, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10), clock);
        await cache.SetAsync("a", [1], new DistributedCacheEntryOptions());
        Assert.Equal([1], await cache.GetAsync("a"));
        Assert.Equal(CircuitState.Closed, cache.State);

        inner.Down = true;
        Assert.Null(await cache.GetAsync("a")); // fails: a miss, and the circuit opens
        Assert.Equal(CircuitState.Open, cache.State);
        var calls = inner.Calls;
        for (var i = 0; i < 100; i++)
        {
            Assert.Null(await cache.GetAsync("a"));
            await cache.SetAsync("b", [2], new DistributedCacheEntryOptions());
        }

        Assert.Equal(calls, inner.Calls); // open: the second level is not called at all
        var warning = Assert.Single(log.Logged, l => l.Level >= LogLevel.Warning);
        Assert.Null(warning.Error);
        Assert.Contains("unreachable (InvalidOperationException: No connection is active", warning.Text, StringComparison.Ordinal);

        // After the delay a call starts one probe in the background; it fails while the second level is down.
        clock.Advance(TimeSpan.FromSeconds(11));
        Assert.Null(await cache.GetAsync("a"));
        await WaitFor(() => cache.State == CircuitState.Open && inner.Calls == calls + 1); // the probe's write failed

        inner.Down = false;
        clock.Advance(TimeSpan.FromSeconds(11));
        Assert.Null(await cache.GetAsync("a")); // the call that starts the probe does not wait for it
        await WaitFor(() => cache.State == CircuitState.Closed);
        Assert.DoesNotContain(log.Logged, l => l.Text.Contains("reachable again", StringComparison.Ordinal)); // not before a call succeeds
        Assert.Equal([1], await cache.GetAsync("a"));
        Assert.Single(log.Logged, l => l.Text.Contains("reachable again", StringComparison.Ordinal));
        Assert.Single(log.Logged, l => l.Level >= LogLevel.Warning);
    }

    [Fact]
    public async Task AHangingSecondLevelCostsOneTimeoutThenNothing()
    {
        var inner = new Flaky { Hang = true };
        var log = new Lines();
        using var cache = new CircuitBreakingCache(inner, "redis", log, TimeSpan.FromMilliseconds(200), TimeSpan.FromMinutes(1));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Assert.Null(await cache.GetAsync("a"));
        Assert.InRange(clock.ElapsedMilliseconds, 150, 10_000);
        clock.Restart();
        for (var i = 0; i < 50; i++)
        {
            Assert.Null(await cache.GetAsync("a"));
        }

        Assert.True(clock.ElapsedMilliseconds < 150, $"open circuit calls took {clock.ElapsedMilliseconds} ms");
        Assert.Contains("no answer within 200 ms", Assert.Single(log.Logged).Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheCallersCancellationIsNotAFailure()
    {
        var inner = new Flaky { Hang = true };
        using var cache = new CircuitBreakingCache(inner, "redis", new Lines(), TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(1));
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cache.GetAsync("a", cancel.Token));
        Assert.Equal(CircuitState.Closed, cache.State);
    }

    private static async Task WaitFor(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            await Task.Delay(10);
        }
    }
}
