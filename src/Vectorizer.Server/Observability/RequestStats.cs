using System.Collections.Concurrent;

namespace Vectorizer.Server.Observability;

/// <summary>
/// What <c>/health/detailed</c> and Qdrant's <c>/telemetry</c> report about requests, kept whether or not metrics are
/// on: the total, a sliding five-minute window of requests and server errors (60 buckets of 5 s), and per route,
/// method and status Qdrant's operation statistics (count, average of the last 128, min, max, total, last response).
/// Lock-free for the totals and the window; one short lock per route and status.
/// </summary>
public sealed class RequestStats(TimeProvider time)
{
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(5);
    private const int Buckets = 60;
    private static readonly long BucketTicks = Window.Ticks / Buckets;

    private readonly long[] bucketEpoch = new long[Buckets];
    private readonly long[] bucketRequests = new long[Buckets];
    private readonly long[] bucketErrors = new long[Buckets];
    private readonly ConcurrentDictionary<(string Method, string Route, int Status), OperationStats> operations = new();
    private long total;
    private long errors;

    public RequestStats()
        : this(TimeProvider.System)
    {
    }

    public long Total => Interlocked.Read(ref total);

    /// <summary>Responses with a 5xx status since the start.</summary>
    public long ServerErrors => Interlocked.Read(ref errors);

    /// <summary>Records one answered request; <paramref name="route"/> is its endpoint's template.</summary>
    public void Record(string method, string route, int status, TimeSpan duration)
    {
        Interlocked.Increment(ref total);
        var error = status >= 500;
        if (error)
        {
            Interlocked.Increment(ref errors);
        }

        var now = time.GetUtcNow();
        var epoch = now.UtcTicks / BucketTicks;
        var index = (int)(epoch % Buckets);
        var seen = Interlocked.Read(ref bucketEpoch[index]);
        if (seen != epoch && Interlocked.CompareExchange(ref bucketEpoch[index], epoch, seen) == seen)
        {
            // First request of a new 5-second bucket: forget what it held five minutes ago.
            Interlocked.Exchange(ref bucketRequests[index], 0);
            Interlocked.Exchange(ref bucketErrors[index], 0);
        }

        Interlocked.Increment(ref bucketRequests[index]);
        if (error)
        {
            Interlocked.Increment(ref bucketErrors[index]);
        }

        operations.GetOrAdd((method, route, status), static _ => new OperationStats()).Record(duration, now);
    }

    /// <summary>Requests and server errors (5xx) answered in the last five minutes.</summary>
    public (long Requests, long Errors) LastFiveMinutes()
    {
        var current = time.GetUtcNow().UtcTicks / BucketTicks;
        long requests = 0, failed = 0;
        for (var i = 0; i < Buckets; i++)
        {
            var epoch = Interlocked.Read(ref bucketEpoch[i]);
            if (epoch > current - Buckets && epoch <= current)
            {
                requests += Interlocked.Read(ref bucketRequests[i]);
                failed += Interlocked.Read(ref bucketErrors[i]);
            }
        }

        return (requests, failed);
    }

    /// <summary>Per <c>METHOD template</c> (<c>GET /collections/{collection}</c>), per status: Qdrant's <c>OperationDurationStatistics</c>.</summary>
    public IReadOnlyList<(string Operation, int Status, OperationSnapshot Stats)> Operations() =>
        [.. operations.Select(o => (Operation: o.Key.Method + " " + o.Key.Route, o.Key.Status, Stats: o.Value.Snapshot()))
            .OrderBy(o => o.Operation, StringComparer.Ordinal).ThenBy(o => o.Status)];

    /// <summary>Qdrant's statistics of one operation.</summary>
    public sealed record OperationSnapshot(long Count, double AverageMicros, double MinMicros, double MaxMicros, long TotalMicros, DateTimeOffset LastResponded);

    private sealed class OperationStats
    {
        private const int Recent = 128;
        private readonly double[] recent = new double[Recent];
        private long count;
        private double min = double.MaxValue;
        private double max;
        private long totalMicros;
        private DateTimeOffset last;

        public void Record(TimeSpan duration, DateTimeOffset now)
        {
            var micros = duration.Ticks / (double)TimeSpan.TicksPerMicrosecond;
            lock (recent)
            {
                recent[count % Recent] = micros;
                count++;
                min = Math.Min(min, micros);
                max = Math.Max(max, micros);
                totalMicros += (long)micros;
                last = now;
            }
        }

        public OperationSnapshot Snapshot()
        {
            lock (recent)
            {
                var n = (int)Math.Min(count, Recent);
                double sum = 0;
                for (var i = 0; i < n; i++)
                {
                    sum += recent[i];
                }

                return new OperationSnapshot(count, n == 0 ? 0 : sum / n, count == 0 ? 0 : min, max, totalMicros, last);
            }
        }
    }
}
