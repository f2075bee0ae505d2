namespace Vectorizer.Server.Rollouts;

/// <summary>What one side of a rollout (or one arm of an experiment) served: requests, errors, latency, results.</summary>
public sealed class SideStats
{
    private long requests;
    private long errors;
    private long resultsSum;
    private long resultsCalls;

    public LatencyHistogram Latency { get; } = new();

    public long Requests => Interlocked.Read(ref requests);

    public long Errors => Interlocked.Read(ref errors);

    public double ErrorRate => Requests == 0 ? 0 : (double)Errors / Requests;

    /// <summary>Mean number of results per read that returned a list; null when none did.</summary>
    public double? MeanResults
    {
        get
        {
            var calls = Interlocked.Read(ref resultsCalls);
            return calls == 0 ? null : (double)Interlocked.Read(ref resultsSum) / calls;
        }
    }

    public void Record(double milliseconds, bool failed)
    {
        Interlocked.Increment(ref requests);
        if (failed)
        {
            Interlocked.Increment(ref errors);
        }

        Latency.Record(milliseconds);
    }

    public void RecordResults(int count)
    {
        Interlocked.Add(ref resultsSum, count);
        Interlocked.Increment(ref resultsCalls);
    }

    public SideStatsState Save() => new(Requests, Errors, Interlocked.Read(ref resultsSum), Interlocked.Read(ref resultsCalls), Latency.Save());

    public static SideStats Load(SideStatsState? state)
    {
        var stats = new SideStats();
        if (state is not null)
        {
            stats.requests = state.Requests;
            stats.errors = state.Errors;
            stats.resultsSum = state.ResultsSum;
            stats.resultsCalls = state.ResultsCalls;
            stats.Latency.Load(state.Latency);
        }

        return stats;
    }
}

/// <summary>The persisted form of <see cref="SideStats"/>.</summary>
public sealed record SideStatsState(long Requests, long Errors, long ResultsSum, long ResultsCalls, Dictionary<int, long>? Latency);
