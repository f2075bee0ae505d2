using Microsoft.Extensions.Logging;
using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Storage;

namespace Vectorizer.Engine.Collections;

/// <summary>
/// A collection of points: its in-memory state (<see cref="SegmentState"/>), write-ahead log, checkpoints and
/// background indexer. Reads take a shared lock, writes an exclusive one for the few microseconds it takes to
/// append to the WAL and apply in memory; HNSW indexing happens in the background without either lock.
/// </summary>
public sealed partial class Collection : IDisposable
{
    private readonly ReaderWriterLockSlim rw = new(LockRecursionPolicy.NoRecursion);
    private readonly SemaphoreSlim maintenanceGate = new(1, 1);
    private readonly SemaphoreSlim indexSignal = new(0, int.MaxValue);
    private readonly CancellationTokenSource shutdown = new();
    private readonly ILogger logger;
    private readonly EngineOptions options;
    private WriteAheadLog wal = null!;
    private SegmentState state;
    private Task indexerTask = Task.CompletedTask;
    private long operationsSinceCheckpoint;
    private long checkpointLsn;
    private DateTime lastCheckpointUtc = DateTime.UtcNow;
    private TimeSpan lastCheckpointDuration;
    private bool disposed;

    private Collection(string name, CollectionPaths paths, CollectionConfig config, EngineOptions options, ILogger logger)
    {
        Name = name;
        Paths = paths;
        Config = config;
        this.options = options;
        this.logger = logger;
        state = new SegmentState(config, 0, paths.SpillDirectory);
    }

    public string Name { get; }

    public CollectionPaths Paths { get; }

    public CollectionConfig Config { get; private set; }

    /// <summary>The current point state; replaced as a whole by vacuum.</summary>
    internal SegmentState State => Volatile.Read(ref state);

    /// <summary>LSN of the last checkpoint (0 when none).</summary>
    public long CheckpointLsn => Interlocked.Read(ref checkpointLsn);

    /// <summary>LSN of the last operation appended.</summary>
    public long LastLsn => wal.LastLsn;

    /// <summary>Creates a new, empty collection on disk.</summary>
    public static Collection Create(string name, CollectionPaths paths, CollectionConfig config, EngineOptions options, ILogger logger)
    {
        Directory.CreateDirectory(paths.Root);
        Directory.CreateDirectory(paths.CheckpointsDirectory);
        FileUtil.WriteAtomic(paths.ConfigFile, CollectionConfigJson.ToUtf8(config));
        var collection = new Collection(name, paths, config, options, logger);
        collection.wal = WriteAheadLog.Open(paths.WalDirectory, (long)config.Wal.WalCapacityMb << 20, logger, 0, _ => { });
        collection.StartBackground();
        return collection;
    }

    /// <summary>Opens a collection: the newest valid checkpoint, then the WAL records after it.</summary>
    public static Collection Open(string name, CollectionPaths paths, EngineOptions options, ILogger logger)
    {
        var config = CollectionConfigJson.Read(System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(paths.ConfigFile)).RootElement);
        var collection = new Collection(name, paths, config, options, logger);
        collection.Recover();
        collection.StartBackground();
        return collection;
    }

    private void Recover()
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        var (loaded, lsn) = LoadNewestCheckpoint();
        if (loaded is not null)
        {
            state = loaded;
            checkpointLsn = lsn;
        }

        var replayed = 0;
        long firstReplayed = 0;
        wal = WriteAheadLog.Open(Paths.WalDirectory, (long)Config.Wal.WalCapacityMb << 20, logger, lsn, record =>
        {
            if (replayed++ == 0)
            {
                firstReplayed = record.Lsn;
            }

            ApplyRecord(record);
        });

        if (replayed > 0 && firstReplayed != lsn + 1)
        {
            logger.LogError(
                "Collection {Name}: the newest usable checkpoint ends at LSN {Lsn} but the WAL resumes at {First}; operations in between are lost",
                Name, lsn, firstReplayed);
        }

        operationsSinceCheckpoint = replayed;
        logger.LogInformation(
            "Collection {Name} opened in {Elapsed:F2}s: checkpoint LSN {Lsn}, {Replayed} WAL records replayed, {Points} points",
            Name, started.Elapsed.TotalSeconds, lsn, replayed, state.LiveCount);
    }

    private void ApplyRecord(WalRecord record)
    {
        Operations.WalOperation operation;
        try
        {
            operation = Operations.WalOperation.Decode(record.Kind, record.Body.Span);
        }
        catch (Exception e) when (e is VectorizerException or System.Text.Json.JsonException or ArgumentException)
        {
            // A malformed record cannot be applied; skipping it beats a crash loop on every start.
            logger.LogError(e, "Collection {Name}: skipping unreadable WAL record {Lsn}", Name, record.Lsn);
            return;
        }

        Apply(state, operation, (ulong)record.Lsn);
    }

    private void StartBackground()
    {
        indexerTask = Task.Factory.StartNew(
            () => IndexerLoopAsync(shutdown.Token),
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default).Unwrap();
        indexSignal.Release();
    }

    /// <summary>Replaces the mutable parts of the config (PATCH). Vector sizes and distances never change.</summary>
    public void UpdateConfig(Func<CollectionConfig, CollectionConfig> change)
    {
        rw.EnterWriteLock();
        try
        {
            var updated = change(Config);
            CollectionConfigJson.Validate(updated, options.MaxVectorSize);
            FileUtil.WriteAtomic(Paths.ConfigFile, CollectionConfigJson.ToUtf8(updated));
            Config = updated;
            foreach (var slot in State.Slots)
            {
                slot.Hnsw = updated.HnswFor(slot.Name);
                slot.Quantization = updated.QuantizationFor(slot.Name);
                if (slot.Quantization is null)
                {
                    slot.Quantized = null;
                }
            }
        }
        finally
        {
            rw.ExitWriteLock();
        }

        indexSignal.Release();
    }

    public CollectionInfo GetInfo()
    {
        rw.EnterReadLock();
        try
        {
            var current = State;
            long indexed = 0;
            var pending = false;
            foreach (var slot in current.Slots)
            {
                var upTo = slot.Graph is null ? 0 : slot.IndexedUpTo;
                indexed += slot.Searchable.CountBelow(upTo);
                pending |= NeedsIndexing(current, slot) || slot.NeedsQuantizing;
            }

            var payloadSchema = new List<PayloadIndexInfo>(Config.PayloadSchema.Count);
            foreach (var (field, schema) in Config.PayloadSchema)
            {
                payloadSchema.Add(new PayloadIndexInfo(field, schema, current.IndexedPointCount(field)));
            }

            return new CollectionInfo(
                pending || NeedsVacuum(current) ? CollectionStatus.Yellow : CollectionStatus.Green,
                current.LiveCount,
                indexed,
                1,
                Config,
                null,
                payloadSchema,
                Storage(current));
        }
        finally
        {
            rw.ExitReadLock();
        }
    }

    private StorageInfo Storage(SegmentState current)
    {
        var vectors = new List<VectorStorageInfo>(current.Slots.Count);
        foreach (var slot in current.Slots)
        {
            var bytes = slot.Store.AllocatedBytes;
            var quantized = slot.Quantized;
            vectors.Add(new VectorStorageInfo(
                slot.Name,
                slot.Store.OnDisk ? 0 : bytes,
                slot.Store.OnDisk ? bytes : 0,
                quantized?.RamBytes ?? 0,
                slot.Graph?.LinkBytes ?? 0,
                quantized is null ? null : quantized.Settings.Kind.ToString().ToLowerInvariant()));
        }

        // Payload bytes in RAM: the average of up to 256 sampled live payloads, times the live points.
        long sampledBytes = 0, sampled = 0;
        var step = Math.Max(1, current.Count / 256);
        for (var offset = 0; offset < current.Count && !current.Payloads.OnDisk; offset += step)
        {
            if (current.IsLive(offset) && current.PayloadObjectOf(offset) is { } payload)
            {
                sampledBytes += payload.Root.GetRawText().Length;
                sampled++;
            }
        }

        long disk = 0;
        try
        {
            foreach (var file in new DirectoryInfo(Paths.Root).EnumerateFiles("*", SearchOption.AllDirectories))
            {
                disk += file.Length;
            }
        }
        catch (IOException)
        {
            // A checkpoint being replaced while we count: the figure is an estimate anyway.
        }

        return current.Payloads.OnDisk
            ? new StorageInfo(vectors, 0, disk, current.Payloads.LogBytes)
            : new StorageInfo(vectors, sampled == 0 ? 0 : sampledBytes * current.LiveCount / sampled, disk);
    }

    /// <summary>Bytes of WAL segments on disk (monitoring).</summary>
    public long WalBytes => wal.SizeBytes;

    /// <summary>When the last checkpoint was written, or the collection was opened when none has been since (monitoring).</summary>
    public DateTime LastCheckpointUtc => lastCheckpointUtc;

    /// <summary>
    /// Vectors in no HNSW graph (searched exactly), and how many of them the background indexer has still to insert
    /// (the others belong to vectors below <c>indexing_threshold</c>, never indexed) (monitoring).
    /// </summary>
    public (long Unindexed, long Queued) UnindexedVectors()
    {
        rw.EnterReadLock();
        try
        {
            var current = State;
            long unindexed = 0, queued = 0;
            foreach (var slot in current.Slots)
            {
                var upTo = slot.Graph is null ? 0 : slot.IndexedUpTo;
                long waiting = slot.Searchable.SetCount - slot.Searchable.CountBelow(upTo);
                unindexed += waiting;
                if (NeedsIndexing(current, slot))
                {
                    queued += waiting;
                }
            }

            return (unindexed, queued);
        }
        finally
        {
            rw.ExitReadLock();
        }
    }

    /// <summary>Approximate bytes of RAM used by vectors, graphs and point metadata.</summary>
    public long MemoryBytes()
    {
        var current = State;
        long bytes = (long)current.Count * 64;
        foreach (var slot in current.Slots)
        {
            bytes += slot.Store.AllocatedBytes + (slot.Graph?.LinkBytes ?? 0);
        }

        return bytes;
    }

    /// <summary>Stops background work, checkpoints (when <paramref name="checkpoint"/>), and closes the WAL.</summary>
    public void Close(bool checkpoint)
    {
        shutdown.Cancel();
        try
        {
            indexerTask.Wait(TimeSpan.FromSeconds(60));
        }
        catch (AggregateException)
        {
            // Cancellation surfaces here; the indexer holds no state that needs saving.
        }

        maintenanceGate.Wait();
        try
        {
            if (disposed)
            {
                return;
            }

            if (checkpoint && Interlocked.Read(ref operationsSinceCheckpoint) > 0)
            {
                try
                {
                    CheckpointCore();
                }
                catch (Exception e) when (e is IOException or VectorizerException or UnauthorizedAccessException)
                {
                    logger.LogError(e, "Collection {Name}: checkpoint on close failed; the WAL still holds every operation", Name);
                }
            }

            rw.EnterWriteLock();
            try
            {
                disposed = true;
                wal.Dispose();
            }
            finally
            {
                rw.ExitWriteLock();
            }
        }
        finally
        {
            maintenanceGate.Release();
        }
    }

    public void Dispose() => Close(checkpoint: true);
}
