namespace Vectorizer.Engine.Collections;

public enum OptimizationStatus
{
    Optimizing,
    Done,
    Failed,
}

/// <summary>
/// One background optimization of a collection: <c>indexing</c> (HNSW graphs and quantized codes of the points appended
/// since the last run) or <c>vacuum</c> (rebuilding the state without tombstones). <see cref="Done"/> and
/// <see cref="Total"/> count points (indexing) or offsets copied (vacuum).
/// </summary>
public sealed record OptimizationRecord(
    Guid Id, string Optimizer, OptimizationStatus Status, DateTimeOffset StartedAt, DateTimeOffset? FinishedAt, long Done, long Total, long Points, string? Error = null);

/// <summary>
/// What <c>GET /collections/{c}/optimizations</c> reports: the optimization running now (at most one: they take turns
/// under the maintenance gate), the last completed ones (newest first), and the work waiting: points not yet indexed,
/// and whether a vacuum is due. A collection is one segment here; <see cref="Segment"/> names it (it changes when
/// vacuum or a vector change renumbers the points).
/// </summary>
public sealed record OptimizationsReport(
    IReadOnlyList<OptimizationRecord> Running, IReadOnlyList<OptimizationRecord> Completed, long QueuedPoints, bool VacuumDue, Guid Segment, long Points);

/// <summary>The record of a collection's optimizations: the running one and the last <see cref="Kept"/> completed.</summary>
internal sealed class OptimizationLog(TimeProvider clock)
{
    public const int Kept = 16;

    private readonly Lock gate = new();
    private readonly LinkedList<OptimizationRecord> completed = new();
    private OptimizationRecord? running;

    public OptimizationRecord? Running
    {
        get
        {
            lock (gate)
            {
                return running;
            }
        }
    }

    public IReadOnlyList<OptimizationRecord> Completed
    {
        get
        {
            lock (gate)
            {
                return [.. completed];
            }
        }
    }

    /// <summary>
    /// Starts a record. Optimizations take turns under the maintenance gate, so one still marked running when another
    /// begins has finished its work (its thread has not recorded it yet): it is completed here.
    /// </summary>
    public void Begin(string optimizer, long total, long points)
    {
        lock (gate)
        {
            if (running is { } previous)
            {
                Finish(previous.Optimizer);
            }

            running = new OptimizationRecord(Guid.NewGuid(), optimizer, OptimizationStatus.Optimizing, clock.GetUtcNow(), null, 0, total, points);
        }
    }

    public void Progress(long done)
    {
        lock (gate)
        {
            if (running is not null)
            {
                running = running with { Done = Math.Min(done, running.Total) };
            }
        }
    }

    /// <summary>Ends the running optimization if it is <paramref name="optimizer"/>'s (each optimizer only ends its own).</summary>
    public void Finish(string optimizer, string? error = null)
    {
        lock (gate)
        {
            if (running is null || running.Optimizer != optimizer)
            {
                return;
            }

            completed.AddFirst(running with
            {
                Status = error is null ? OptimizationStatus.Done : OptimizationStatus.Failed,
                FinishedAt = clock.GetUtcNow(),
                Done = error is null ? running.Total : running.Done,
                Error = error,
            });
            running = null;
            while (completed.Count > Kept)
            {
                completed.RemoveLast();
            }
        }
    }
}
