namespace Vectorizer.Server.Backups;

/// <summary>What one kind of backup operation has done since the server started (for <c>/metrics</c>).</summary>
/// <param name="Operation"><c>create</c>, <c>restore</c> or <c>verify</c>.</param>
/// <param name="Kind">For <c>create</c>: <c>full</c>, <c>incremental</c> or <c>snapshot</c>; for <c>restore</c> and <c>verify</c>: <c>backup</c> or <c>snapshot</c>.</param>
public sealed record BackupOperationStats(
    string Operation, string Kind, long Successes, long Failures, DateTimeOffset? LastSuccess, DateTimeOffset? LastFailure, double? LastSeconds, long? LastBytes);

/// <summary>The operation running now: what, for which request, and how far (bytes of the current phase).</summary>
public sealed record BackupProgressReport(string Operation, string Kind, string? RequestId, DateTimeOffset StartedAt, string Phase, long Done, long Total);

/// <summary>
/// Outcomes of backup operations (counts, last success and failure, duration, archive size, per operation and kind) and
/// the progress of the one running now (<see cref="Application.BackupsService"/> runs one at a time). Read by
/// <see cref="BackupMetrics"/> at each scrape and by <c>GET /api/backups/progress</c>, which the CLI polls for its progress
/// bar when it works through a server (<c>--url</c>).
/// </summary>
public sealed class BackupActivity
{
    private readonly object sync = new();
    private readonly Dictionary<(string Operation, string Kind), BackupOperationStats> stats = [];
    private BackupProgressReport? current;
    private long sequence;

    public IReadOnlyList<BackupOperationStats> Stats()
    {
        lock (sync)
        {
            return [.. stats.Values.OrderBy(s => s.Operation, StringComparer.Ordinal).ThenBy(s => s.Kind, StringComparer.Ordinal)];
        }
    }

    public BackupProgressReport? Current
    {
        get
        {
            lock (sync)
            {
                return current;
            }
        }
    }

    /// <summary>Marks <paramref name="operation"/> as running; the returned callback records its progress (and calls <paramref name="inner"/>).</summary>
    internal Application.BackupProgress Begin(string operation, string kind, string? requestId, DateTimeOffset now, Application.BackupProgress? inner)
    {
        long mine;
        lock (sync)
        {
            current = new BackupProgressReport(operation, kind, requestId, now, "", 0, 0);
            mine = ++sequence;
        }

        return (phase, done, total) =>
        {
            lock (sync)
            {
                if (current is not null && sequence == mine)
                {
                    current = current with { Phase = phase, Done = done, Total = total };
                }
            }

            inner?.Invoke(phase, done, total);
        };
    }

    internal void End(string operation, string kind, bool succeeded, DateTimeOffset now, double seconds, long? bytes)
    {
        lock (sync)
        {
            current = null;
            var before = stats.TryGetValue((operation, kind), out var found) ? found : new BackupOperationStats(operation, kind, 0, 0, null, null, null, null);
            stats[(operation, kind)] = succeeded
                ? before with { Successes = before.Successes + 1, LastSuccess = now, LastSeconds = seconds, LastBytes = bytes ?? before.LastBytes }
                : before with { Failures = before.Failures + 1, LastFailure = now, LastSeconds = seconds };
        }
    }

    /// <summary>Ends the running operation without counting it (cancelled).</summary>
    internal void Abandon()
    {
        lock (sync)
        {
            current = null;
        }
    }
}
