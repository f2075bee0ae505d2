namespace Vectorizer.Ingestion.Files;

/// <summary>A file system event as the watcher saw it.</summary>
public sealed record WatchEventInfo(string Path, string Kind, DateTimeOffset Time);

/// <summary>A file that was skipped or failed, and why.</summary>
public sealed record FileProblem(string Path, string Reason, DateTimeOffset Time);

/// <summary>
/// What the watcher (or an indexing run) has done: counters by outcome, the last event, and the most recent
/// skips and errors with their reasons. Thread-safe; kept across watcher restarts (hot reload).
/// </summary>
public sealed class FileWatcherStats
{
    public const int RecentLimit = 50;

    private readonly object gate = new();
    private readonly Queue<FileProblem> skipped = new();
    private readonly Queue<FileProblem> errors = new();
    private long indexed;
    private long unchanged;
    private long skippedCount;
    private long removed;
    private long failed;
    private long chunks;
    private long rescans;
    private long overflows;
    private long reloads;
    private WatchEventInfo? lastEvent;

    public long FilesIndexed => Interlocked.Read(ref indexed);

    public long FilesUnchanged => Interlocked.Read(ref unchanged);

    public long FilesSkipped => Interlocked.Read(ref skippedCount);

    public long FilesRemoved => Interlocked.Read(ref removed);

    public long FilesFailed => Interlocked.Read(ref failed);

    public long ChunksIndexed => Interlocked.Read(ref chunks);

    public long Rescans => Interlocked.Read(ref rescans);

    public long Overflows => Interlocked.Read(ref overflows);

    public long Reloads => Interlocked.Read(ref reloads);

    public WatchEventInfo? LastEvent => Volatile.Read(ref lastEvent);

    public void Event(string path, string kind) => Volatile.Write(ref lastEvent, new WatchEventInfo(path, kind, DateTimeOffset.UtcNow));

    public void Rescan() => Interlocked.Increment(ref rescans);

    public void Overflow() => Interlocked.Increment(ref overflows);

    public void Reload() => Interlocked.Increment(ref reloads);

    public void Record(FileBatchResult batch)
    {
        foreach (var file in batch.Files)
        {
            Record(file);
        }
    }

    public void Record(FileIndexResult result)
    {
        switch (result.Outcome)
        {
            case FileOutcome.Indexed:
                Interlocked.Increment(ref indexed);
                Interlocked.Add(ref chunks, result.Chunks);
                break;
            case FileOutcome.Unchanged:
                Interlocked.Increment(ref unchanged);
                break;
            case FileOutcome.Removed:
                Interlocked.Increment(ref removed);
                break;
            case FileOutcome.Skipped:
                Interlocked.Increment(ref skippedCount);
                Add(skipped, new FileProblem(result.Path, result.Reason ?? "", DateTimeOffset.UtcNow));
                break;
            case FileOutcome.Failed:
                Interlocked.Increment(ref failed);
                Error(result.Path, result.Reason ?? "failed");
                break;
            case FileOutcome.Ignored:
                break;
        }
    }

    /// <summary>A problem of the watcher itself (a missing watch path, an overflow, a bad config on reload) or of one file.</summary>
    public void Error(string path, string reason) => Add(errors, new FileProblem(path, reason, DateTimeOffset.UtcNow));

    public IReadOnlyList<FileProblem> RecentSkipped()
    {
        lock (gate)
        {
            return [.. skipped];
        }
    }

    public IReadOnlyList<FileProblem> RecentErrors()
    {
        lock (gate)
        {
            return [.. errors];
        }
    }

    private void Add(Queue<FileProblem> queue, FileProblem problem)
    {
        lock (gate)
        {
            queue.Enqueue(problem);
            while (queue.Count > RecentLimit)
            {
                queue.Dequeue();
            }
        }
    }
}
