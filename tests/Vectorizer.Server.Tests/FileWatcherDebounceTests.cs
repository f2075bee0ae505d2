using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Vectorizer.Engine.Collections;
using Vectorizer.Ingestion;
using Vectorizer.Ingestion.Files;

namespace Vectorizer.Server.Tests;

/// <summary>
/// The watcher's debounce and maximum wait on a <see cref="FakeTimeProvider"/>: the test posts the events (as the
/// file system watcher would), moves the clock, and sees exactly when a path is handed to the real indexer. No real
/// sleeps, no latency bounds; the files are written before the watcher starts, so the kernel adds no events.
/// </summary>
public sealed class FileWatcherDebounceTests : IAsyncLifetime
{
    private const int DebounceMs = 300;

    private readonly string root = TestPaths.NewDirectory("debounce-");
    private readonly string dataDir = TestServer.NewDataDir();
    private readonly FakeTimeProvider clock = new(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly ConcurrentQueue<(TimeSpan At, FileIndexResult Result)> processed = new();
    private readonly DateTimeOffset start;
    private CollectionManager manager = null!;
    private IngestionService ingestion = null!;
    private FileWatcher watcher = null!;

    public FileWatcherDebounceTests()
    {
        start = clock.GetUtcNow();
    }

    public Task InitializeAsync()
    {
        manager = CollectionManager.Open(new EngineOptions { DataDir = dataDir }, NullLoggerFactory.Instance);
        ingestion = new IngestionService(dataDir, NullLoggerFactory.Instance);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (watcher is not null)
        {
            await watcher.DisposeAsync();
        }

        ingestion.Dispose();
        manager.Dispose();
        TestServer.TryDelete(root);
        TestServer.TryDelete(dataDir);
    }

    private string Write(string name, string text)
    {
        var path = Path.Combine(root, name);
        File.WriteAllText(path, text);
        return path;
    }

    private async Task StartAsync()
    {
        var indexer = new FileIndexer(manager, ingestion, new FileIndexerOptions { Roots = [root], NewCollectionEmbedding = FileIndexerOptions.LexicalEmbedding }, NullLogger.Instance);
        watcher = new FileWatcher(indexer, new FileWatcherOptions { DebounceMs = DebounceMs, AutoDiscovery = false }, new FileWatcherStats(), NullLogger.Instance, clock)
        {
            Processed = result => processed.Enqueue((clock.GetUtcNow() - start, result)),
        };
        watcher.Start();
        await Settled();
    }

    /// <summary>Waits (real time, bounded) until the loop has handled every posted event and sleeps.</summary>
    private async Task Settled()
    {
        var deadline = Stopwatch.StartNew();
        while (!watcher.Idle)
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(30), "the watcher loop never went idle");
            await Task.Delay(2);
        }
    }

    private async Task Advance(int milliseconds)
    {
        clock.Advance(TimeSpan.FromMilliseconds(milliseconds));
        await Settled();
    }

    /// <summary>Waits (real time, bounded) for the indexer to report <paramref name="count"/> results in all.</summary>
    private async Task<List<(TimeSpan At, FileIndexResult Result)>> Processed(int count)
    {
        var deadline = Stopwatch.StartNew();
        while (processed.Count < count)
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(30), $"{processed.Count} of {count} paths processed");
            await Task.Delay(2);
        }

        await Settled();
        return [.. processed];
    }

    [Fact]
    public async Task APathIsIndexedOnceItWentQuietForTheDebounce()
    {
        var path = Write("a.md", "# A\n\nthe aardvark\n");
        await StartAsync();

        watcher.Notify(path, "created"); // t = 0
        await Settled();
        Assert.Equal(1, watcher.PendingCount);
        await Advance(200);
        watcher.Notify(path, "modified"); // t = 200: due at 500
        await Advance(299);
        Assert.Empty(processed);
        Assert.Equal(1, watcher.PendingCount);

        await Advance(1);
        var result = Assert.Single(await Processed(1));
        Assert.Equal(TimeSpan.FromMilliseconds(500), result.At);
        Assert.Equal(FileOutcome.Indexed, result.Result.Outcome);
        Assert.Equal(0, watcher.PendingCount);
        Assert.Equal(1, manager.Get("files").Count(null));

        await Advance(10_000); // nothing else is due
        Assert.Single(processed);
    }

    [Fact]
    public async Task AFileThatNeverGoesQuietIsIndexedAtTheMaximumWait()
    {
        var path = Write("app.log", "line 0\n");
        await StartAsync();
        Assert.Equal(2000, watcher.MaxWaitMs);

        // An event every 100 ms: the 300 ms debounce never runs out, the 2 s maximum wait does.
        watcher.Notify(path, "modified");
        for (var t = 100; t < 2000; t += 100)
        {
            await Advance(100);
            watcher.Notify(path, "modified");
            await Settled();
            Assert.Empty(processed);
        }

        await Advance(99); // t = 1999
        Assert.Empty(processed);
        await Advance(1);
        var result = Assert.Single(await Processed(1));
        Assert.Equal(TimeSpan.FromMilliseconds(2000), result.At);
        Assert.Equal(FileOutcome.Indexed, result.Result.Outcome);
    }

    [Fact]
    public async Task EachPathHasItsOwnDebounce()
    {
        var a = Write("a.md", "# A\n\nalpha\n");
        var b = Write("b.md", "# B\n\nbeta\n");
        await StartAsync();

        watcher.Notify(a, "created"); // due at 300
        await Advance(200);
        watcher.Notify(b, "created"); // due at 500
        await Settled();
        Assert.Equal(2, watcher.PendingCount);

        await Advance(100);
        var first = Assert.Single(await Processed(1));
        Assert.Equal((TimeSpan.FromMilliseconds(300), "a.md"), (first.At, first.Result.RelativePath));
        Assert.Equal(1, watcher.PendingCount);

        await Advance(199);
        Assert.Single(processed);
        await Advance(1);
        var second = (await Processed(2))[1];
        Assert.Equal((TimeSpan.FromMilliseconds(500), "b.md"), (second.At, second.Result.RelativePath));
    }

    [Fact]
    public async Task AnEventPostedWhileTheLoopWasBusyCountsFromWhenItHappened()
    {
        var a = Write("a.md", "# A\n\nalpha\n");
        await StartAsync();

        // Posted at t = 0 but read by the loop only after the clock moved on: still due at 300, not 600.
        watcher.Notify(a, "created");
        clock.Advance(TimeSpan.FromMilliseconds(300));
        var result = Assert.Single(await Processed(1));
        Assert.Equal(TimeSpan.FromMilliseconds(300), result.At);
    }
}
