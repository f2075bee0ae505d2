using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Vectorizer.Ingestion.Files;

/// <summary>How the watcher reacts to changes; what it indexes is in <see cref="FileIndexer.Options"/>.</summary>
public sealed record FileWatcherOptions
{
    public const int DefaultDebounceMs = 300;

    /// <summary>A path is indexed once no event touched it for this long (editors write a file in several steps).</summary>
    public int DebounceMs { get; init; } = DefaultDebounceMs;

    /// <summary>Scan the roots when starting and index what is missing or changed (and drop what is gone).</summary>
    public bool AutoDiscovery { get; init; } = true;

    /// <summary>Paths indexed together at most (one upsert per about 256 chunks of them).</summary>
    public int MaxBatch { get; init; } = 1024;
}

/// <summary>
/// Keeps collections in step with directories: one recursive <see cref="FileSystemWatcher"/> per root feeds events
/// (create, change, delete, rename: the old path is removed, the new one indexed) into an unbounded
/// <see cref="Channel{T}"/>, so the watcher's thread never waits; one loop debounces them per path and hands the
/// paths that went quiet to <see cref="FileIndexer.IndexFilesAsync"/> in batches. What the loop does with a path
/// depends on the disk at that moment (a file is indexed, a directory scanned, a missing path removed), so any
/// order or repetition of events converges. When the kernel's event queue overflows, the roots are rescanned
/// (unchanged files are skipped by their hash). Debounce and maximum wait run on a <see cref="TimeProvider"/>
/// (the system's unless one is given), so tests drive them with a fake clock: an event is stamped when it is
/// posted, and the loop sleeps on a timer of that provider until the next path is due.
/// </summary>
public sealed class FileWatcher : IAsyncDisposable
{
    private const int WatcherBufferBytes = 64 * 1024; // the largest the BCL allows

    private readonly FileIndexer indexer;
    private readonly FileWatcherOptions options;
    private readonly FileWatcherStats stats;
    private readonly ILogger logger;
    private readonly Channel<Change> changes = Channel.CreateUnbounded<Change>(); // not SingleReader: that reader cannot count (queue depth)
    private readonly List<FileSystemWatcher> watchers = [];
    private readonly CancellationTokenSource stop = new();
    private readonly TimeProvider time;
    private readonly long origin;
    private Task loop = Task.CompletedTask;
    private int pendingCount;
    private int inFlight;
    private volatile bool scanning;
    private volatile bool waiting;

    public FileWatcher(FileIndexer indexer, FileWatcherOptions options, FileWatcherStats stats, ILogger logger, TimeProvider? timeProvider = null)
    {
        this.indexer = indexer;
        this.options = options;
        this.stats = stats;
        this.logger = logger;
        time = timeProvider ?? TimeProvider.System;
        origin = time.GetTimestamp();
    }

    /// <summary>The longest a path that keeps changing waits before it is indexed anyway.</summary>
    public long MaxWaitMs => Math.Max(2000L, 5L * options.DebounceMs);

    /// <summary>Paths waiting out their debounce (for tests).</summary>
    internal int PendingCount => Volatile.Read(ref pendingCount);

    /// <summary>The loop has handled every event posted so far and sleeps until the next one or the next due path.</summary>
    internal bool Idle => waiting && changes.Reader.Count == 0;

    public IReadOnlyList<string> Roots => indexer.Options.Roots;

    /// <summary>Roots being watched (those that existed when the watcher started).</summary>
    public IReadOnlyList<string> WatchedRoots { get; private set; } = [];

    /// <summary>Events not yet handled: queued, waiting out their debounce, or being indexed.</summary>
    public int QueueDepth => changes.Reader.Count + Volatile.Read(ref pendingCount) + Volatile.Read(ref inFlight);

    public bool Scanning => scanning;

    public FileWatcherStats Stats => stats;

    /// <summary>Called with every file result (after it is counted), on the watcher's loop.</summary>
    public Action<FileIndexResult>? Processed { get; init; }

    /// <summary>Starts watching; with <see cref="FileWatcherOptions.AutoDiscovery"/> the roots are scanned first (in the background).</summary>
    public void Start()
    {
        var watched = new List<string>();
        foreach (var root in indexer.Options.Roots)
        {
            if (!Directory.Exists(root))
            {
                stats.Error(root, "watch path does not exist or is not a directory");
                logger.LogWarning("Not watching {Root}: no such directory", root);
                continue;
            }

            var watcher = new FileSystemWatcher(root)
            {
                IncludeSubdirectories = true,
                InternalBufferSize = WatcherBufferBytes,
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
            };
            watcher.Created += (_, e) => Notify(e.FullPath, "created");
            watcher.Changed += (_, e) => Notify(e.FullPath, "modified");
            watcher.Deleted += (_, e) => Notify(e.FullPath, "deleted");
            watcher.Renamed += (_, e) =>
            {
                Notify(e.OldFullPath, "renamed_from");
                Notify(e.FullPath, "renamed_to");
            };
            watcher.Error += (_, e) => OnError(root, e.GetException());
            watcher.EnableRaisingEvents = true;
            watchers.Add(watcher);
            watched.Add(root);
        }

        WatchedRoots = watched;
        if (options.AutoDiscovery)
        {
            Post(Change.Rescan("auto_discovery"));
        }

        loop = Task.Run(() => RunAsync(stop.Token));
        logger.LogInformation("Watching {Roots} (debounce {Debounce} ms)", string.Join(", ", watched), options.DebounceMs);
    }

    /// <summary>Asks for a full scan of every root (hash-skip makes it cheap when little changed).</summary>
    public void RequestRescan(string reason) => Post(Change.Rescan(reason));

    /// <summary>An event for <paramref name="path"/>, stamped now (the file system watcher's entry point; tests call it directly).</summary>
    internal void Notify(string path, string kind) => Post(new Change(path, kind, NowMs()));

    private void Post(Change change) => changes.Writer.TryWrite(change);

    /// <summary>Milliseconds on <see cref="time"/> since this watcher was created.</summary>
    private long NowMs() => (long)time.GetElapsedTime(origin).TotalMilliseconds;

    private void OnError(string root, Exception exception)
    {
        if (exception is InternalBufferOverflowException)
        {
            stats.Overflow();
            stats.Error(root, "too many changes at once: the event buffer overflowed, rescanning");
            logger.LogWarning("File events for {Root} overflowed; rescanning", root);
        }
        else
        {
            stats.Error(root, "watcher error: " + exception.Message);
            logger.LogWarning(exception, "File watcher error for {Root}; rescanning", root);
        }

        Post(Change.Rescan("overflow"));
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var pending = new Dictionary<string, (long Due, long First)>(StringComparer.Ordinal); // path → when it is due, first event (ms ticks)
        var maxDelay = MaxWaitMs;
        var rescan = false;
        var reader = changes.Reader;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                while (reader.TryRead(out var change))
                {
                    if (change.IsRescan)
                    {
                        rescan = true;
                    }
                    else if (Wanted(change))
                    {
                        // Debounced, but a file that never stops changing (a log) is still indexed every few seconds.
                        stats.Event(change.Path, change.Kind);
                        var first = pending.TryGetValue(change.Path, out var known) ? known.First : change.At;
                        pending[change.Path] = (Math.Min(change.At + options.DebounceMs, first + maxDelay), first);
                    }
                }

                Volatile.Write(ref pendingCount, pending.Count);
                if (rescan)
                {
                    rescan = false;
                    pending.Clear(); // the scan sees the disk as it is now, which covers every pending path
                    Volatile.Write(ref pendingCount, 0);
                    await ScanAsync(cancellationToken).ConfigureAwait(false);
                    continue;
                }

                var clock = NowMs();
                var due = new List<string>();
                var next = long.MaxValue;
                foreach (var (path, (at, _)) in pending)
                {
                    if (at <= clock && due.Count < options.MaxBatch)
                    {
                        due.Add(path);
                    }
                    else
                    {
                        next = Math.Min(next, at);
                    }
                }

                if (due.Count > 0)
                {
                    foreach (var path in due)
                    {
                        pending.Remove(path);
                    }

                    Volatile.Write(ref pendingCount, pending.Count);
                    await ProcessAsync(due, cancellationToken).ConfigureAwait(false);
                    continue;
                }

                // Sleep until an event arrives or the next path is due (a timer of the time provider).
                using var timer = next == long.MaxValue ? null : new CancellationTokenSource(TimeSpan.FromMilliseconds(Math.Max(1, next - clock)), time);
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timer?.Token ?? CancellationToken.None);
                waiting = true;
                try
                {
                    await reader.WaitToReadAsync(wait.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    // A debounce ran out.
                }
                finally
                {
                    waiting = false;
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Never let one bad batch stop the watcher: report it, rescan later.
                stats.Error("", "watcher loop: " + e.Message);
                logger.LogError(e, "File watcher loop failed; rescanning in a second");
                await Task.Delay(TimeSpan.FromSeconds(1), time, cancellationToken).ConfigureAwait(false);
                rescan = true;
            }
        }
    }

    /// <summary>Drops events for excluded paths (and paths outside every root) before they are debounced.</summary>
    private bool Wanted(Change change) =>
        indexer.Locate(change.Path) is { } located && indexer.ExcludedBy(located.Relative) is null;

    private async Task ProcessAsync(List<string> paths, CancellationToken cancellationToken)
    {
        Volatile.Write(ref inFlight, paths.Count);
        try
        {
            var unique = new HashSet<string>(StringComparer.Ordinal);
            foreach (var path in paths)
            {
                if (Directory.Exists(path))
                {
                    // A directory created or moved in: its files (events for them may predate the new watch).
                    unique.UnionWith(indexer.EnumerateFiles(path, stats.Record));
                }
                else
                {
                    unique.Add(path);
                }
            }

            var files = unique.Order(StringComparer.Ordinal).ToList();

            for (var start = 0; start < files.Count; start += options.MaxBatch)
            {
                var batch = files.GetRange(start, Math.Min(options.MaxBatch, files.Count - start));
                Record(await indexer.IndexFilesAsync(batch, cancellationToken).ConfigureAwait(false));
            }
        }
        finally
        {
            Volatile.Write(ref inFlight, 0);
        }
    }

    private void Record(FileBatchResult batch)
    {
        foreach (var file in batch.Files)
        {
            stats.Record(file);
            Processed?.Invoke(file);
        }
    }

    /// <summary>Indexes every file of every root (hash-skip), then removes the points of files that are gone.</summary>
    private async Task ScanAsync(CancellationToken cancellationToken)
    {
        scanning = true;
        stats.Rescan();
        try
        {
            foreach (var root in WatchedRoots)
            {
                var files = indexer.EnumerateFiles(root, stats.Record);
                var present = new HashSet<(string, string)>();
                Volatile.Write(ref inFlight, files.Count);
                for (var start = 0; start < files.Count; start += options.MaxBatch)
                {
                    var batch = await indexer.IndexFilesAsync(files.GetRange(start, Math.Min(options.MaxBatch, files.Count - start)), cancellationToken).ConfigureAwait(false);
                    Record(batch);
                    foreach (var file in batch.Files)
                    {
                        if (file is { Outcome: FileOutcome.Indexed or FileOutcome.Unchanged or FileOutcome.Failed, Collection: { } collection, RelativePath: { } relative })
                        {
                            present.Add((collection, relative));
                        }
                    }

                    Volatile.Write(ref inFlight, Math.Max(0, files.Count - start - batch.Files.Count));
                }

                var removed = await indexer.RemoveMissingAsync(root, present, cancellationToken).ConfigureAwait(false);
                for (var i = 0; i < removed; i++)
                {
                    stats.Record(new FileIndexResult(root, FileOutcome.Removed));
                }

                logger.LogInformation("Scanned {Root}: {Files} files, {Removed} removed", root, files.Count, removed);
            }
        }
        finally
        {
            scanning = false;
            Volatile.Write(ref inFlight, 0);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var watcher in watchers)
        {
            watcher.EnableRaisingEvents = false;
            watcher.Dispose();
        }

        await stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        stop.Dispose();
    }

    /// <summary>An event; <see cref="At"/> is when it was posted (ms on the watcher's clock), which its debounce counts from.</summary>
    private readonly record struct Change(string Path, string Kind, long At)
    {
        public bool IsRescan => Kind.StartsWith("rescan:", StringComparison.Ordinal);

        public static Change Rescan(string reason) => new("", "rescan:" + reason, 0);
    }
}
