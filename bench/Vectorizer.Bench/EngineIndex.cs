using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Operations;
using Vectorizer.Engine.Payload;
using Vectorizer.Engine.Points;
using Vectorizer.Engine.Vectors;

namespace Vectorizer.Bench;

/// <summary>A collection built in-process through the engine API, in a temporary data directory.</summary>
public sealed class EngineIndex : IDisposable
{
    private EngineIndex(CollectionManager manager, Collection collection, string directory, double buildSeconds)
    {
        Manager = manager;
        Collection = collection;
        Directory = directory;
        BuildSeconds = buildSeconds;
    }

    public CollectionManager Manager { get; }

    public Collection Collection { get; }

    public string Directory { get; }

    public double BuildSeconds { get; }

    /// <summary>When the last upsert returned (the indexer keeps going afterwards), in seconds from the start of the build.</summary>
    public static double UpsertSeconds { get; private set; }

    public static EngineOptions Options(string directory, int threads) => new()
    {
        DataDir = directory,
        IndexingThreads = threads,
        AutoSave = new AutoSaveOptions { Enabled = false },
    };

    /// <summary>Upserts every base vector (batches of 1,000) and waits until the graph covers them all.</summary>
    /// <remarks>
    /// <paramref name="fullScanThreshold"/> is 0 by default so that every query goes through the graph (the ANN
    /// benchmark measures HNSW); the filtered benchmark passes the engine default so the planner can choose.
    /// </remarks>
    public static EngineIndex Build(Dataset dataset, int m, int efConstruct, int threads, int? ef = null, string? directory = null, Func<int, PointPayload?>? payload = null, int fullScanThreshold = 0, bool onDisk = false, bool onDiskPayload = false)
    {
        directory ??= Path.Combine(Path.GetTempPath(), "vectorizer-bench", Guid.NewGuid().ToString("N"));
        var manager = CollectionManager.Open(Options(directory, threads), NullLoggerFactory.Instance);
        var config = new CollectionConfig
        {
            Vectors = new Dictionary<string, VectorParams>
            {
                [""] = new() { Size = dataset.Dimension, Distance = dataset.Angular ? Distance.Cosine : Distance.Euclid, OnDisk = onDisk ? true : null },
            },
            Hnsw = new HnswConfig { M = m, EfConstruct = efConstruct, FullScanThreshold = fullScanThreshold, Ef = ef },
            Optimizers = new OptimizersConfig { IndexingThreshold = 1 },
            OnDiskPayload = onDiskPayload,
        };
        var collection = manager.Create("bench", config);
        var stopwatch = Stopwatch.StartNew();
        // The engine copies vectors into its store and keeps no reference to the request's arrays, so one set of
        // buffers serves every batch (a client library streaming from a file would do the same).
        var buffers = new float[Math.Min(1000, dataset.BaseCount)][];
        for (var i = 0; i < buffers.Length; i++)
        {
            buffers[i] = new float[dataset.Dimension];
        }

        for (var start = 0; start < dataset.BaseCount; start += 1000)
        {
            var count = Math.Min(1000, dataset.BaseCount - start);
            var points = new List<PointStruct>(count);
            for (var i = start; i < start + count; i++)
            {
                var buffer = buffers[i - start];
                dataset.BaseRow(i).CopyTo(buffer);
                points.Add(new PointStruct(PointId.FromNumber((ulong)i), VectorMap.Single("", buffer), payload?.Invoke(i)));
            }

            collection.UpdateAsync(new UpsertOperation(points), wait: false).AsTask().GetAwaiter().GetResult();
        }

        UpsertSeconds = stopwatch.Elapsed.TotalSeconds;
        collection.WaitForIndexingAsync(TimeSpan.FromHours(2)).GetAwaiter().GetResult();
        return new EngineIndex(manager, collection, directory, stopwatch.Elapsed.TotalSeconds);
    }

    /// <summary>Opens a collection built earlier (kept with <c>--index-dir</c>) instead of building it again.</summary>
    public static EngineIndex? TryOpen(string directory, int threads)
    {
        if (!System.IO.Directory.Exists(Path.Combine(directory, "collections", "bench")))
        {
            return null;
        }

        var manager = CollectionManager.Open(Options(directory, threads), NullLoggerFactory.Instance);
        return new EngineIndex(manager, manager.Get("bench"), directory, 0) { Keep = true };
    }

    /// <summary>Leave the files in place at dispose (a reusable index).</summary>
    public bool Keep { get; set; }

    /// <summary>Bytes of vectors plus graph links held in memory.</summary>
    public long IndexBytes => Collection.MemoryBytes();

    public void Dispose()
    {
        Manager.Dispose();
        if (Keep)
        {
            return;
        }

        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
