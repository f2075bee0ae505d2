using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Vectorizer.Engine.Collections.Checkpoints;
using Vectorizer.Engine.Collections.Queries;
using Vectorizer.Engine.Diagnostics;
using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Filters;
using Vectorizer.Engine.Index;
using Vectorizer.Engine.Operations;
using Vectorizer.Engine.Payload;
using Vectorizer.Engine.Points;
using Vectorizer.Engine.Storage;

namespace Vectorizer.Engine.Collections;

/// <summary>
/// A collection of points: what the rest of the engine and the server talk to. It owns the collection's lock, its
/// current <see cref="CollectionState"/>, its config and its lifecycle (create, open and recover, close), and hands
/// the work to its parts:
/// <list type="bullet">
/// <item><see cref="WritePath"/>: validate, resolve, append to the write-ahead log, apply (exclusive lock, microseconds).</item>
/// <item><see cref="QueryExecutor"/>: retrieve, scroll, count, search, prefetch and fusion, order-by, sample (shared lock).</item>
/// <item><see cref="CheckpointStore"/>: checkpoints on disk (write, retention, load on open).</item>
/// <item><see cref="BackgroundIndexer"/>: HNSW graphs and quantized codes, built without the lock.</item>
/// <item><see cref="CollectionVacuum"/>: rebuilds the state without tombstones.</item>
/// </list>
/// Checkpoints, vacuum and indexing batches take turns under the maintenance gate.
/// </summary>
public sealed partial class Collection : IDisposable
{
    private readonly ReaderWriterLockSlim rw = new(LockRecursionPolicy.NoRecursion);
    private readonly ILogger logger;
    private readonly EngineOptions options;
    private readonly BackgroundIndexer indexer;
    private readonly QueryExecutor queries;
    private readonly CheckpointStore checkpoints;
    private readonly CollectionVacuum vacuum;
    private readonly IStorage storage;
    private WriteAheadLog wal = null!;
    private WritePath writes = null!;
    private CollectionState state;
    private long operationsSinceCheckpoint;
    private long checkpointLsn;

    /// <summary>How many graph nodes (over every dense slot) the newest checkpoint saved: the indexer extends the graph
    /// without a WAL record, so an unchanged LSN does not mean an unchanged checkpoint. Guarded by the maintenance gate.</summary>
    private long checkpointIndexed;
    private long version;
    private DateTime lastCheckpointUtc = DateTime.UtcNow;
    private TimeSpan lastCheckpointDuration;
    private bool closed;

    private Collection(string name, CollectionPaths paths, CollectionConfig config, EngineOptions options, ILogger logger, IStorage storage)
    {
        Name = name;
        Paths = paths;
        Config = config;
        this.options = options;
        this.logger = logger;
        this.storage = storage;
        state = new CollectionState(config, 0, paths.SpillDirectory);
        indexer = new BackgroundIndexer(this, options, logger);
        queries = new QueryExecutor(options, () => LastLsn);
        checkpoints = new CheckpointStore(name, paths, logger, storage);
        vacuum = new CollectionVacuum(this, indexer, logger);
    }

    public string Name { get; }

    public CollectionPaths Paths { get; }

    public CollectionConfig Config { get; private set; }

    /// <summary>The current point state; replaced as a whole by vacuum.</summary>
    internal CollectionState State => Volatile.Read(ref state);

    /// <summary>Live points now (a lock-free read of the current state).</summary>
    public long PointCount => State.LiveCount;

    /// <summary>Reads take it shared, writes exclusive (for the WAL append and the in-memory apply only).</summary>
    internal ReaderWriterLockSlim Lock => rw;

    /// <summary>The record of background optimizations (indexing, vacuum).</summary>
    internal OptimizationLog Optimizations { get; } = new(TimeProvider.System);

    /// <summary>Serialises checkpoints, vacuum and indexing batches (none of them holds <see cref="Lock"/> for long).</summary>
    internal SemaphoreSlim MaintenanceGate { get; } = new(1, 1);

    /// <summary>True once <see cref="Close"/> closed the WAL; writes are refused. Read and set under <see cref="Lock"/>.</summary>
    internal bool IsClosed => closed;

    /// <summary>Publishes a new state (vacuum). Caller holds the write lock.</summary>
    internal void ReplaceState(CollectionState fresh)
    {
        Volatile.Write(ref state, fresh);
        BumpVersion();
    }

    /// <summary>
    /// Changes with every write applied, every config or payload-index change and every state swap, under the write
    /// lock, before the writer is acknowledged: an answer computed after reading version <c>v</c> reflects every change
    /// up to <c>v</c> (and maybe later ones). Caches of query answers key them by it (never by time). Starts at 0 for
    /// every opened <see cref="Collection"/> object; not persisted.
    /// </summary>
    public long Version => Volatile.Read(ref version);

    /// <summary>Caller holds the write lock.</summary>
    internal void BumpVersion() => Interlocked.Increment(ref version);

    /// <summary>Counts an operation towards the next checkpoint.</summary>
    internal void CountOperation() => Interlocked.Increment(ref operationsSinceCheckpoint);

    /// <summary>LSN of the last checkpoint (0 when none).</summary>
    public long CheckpointLsn => Interlocked.Read(ref checkpointLsn);

    /// <summary>LSN of the last operation appended.</summary>
    public long LastLsn => wal.LastLsn;

    /// <summary>Operations applied since the last checkpoint.</summary>
    public long OperationsSinceCheckpoint => Interlocked.Read(ref operationsSinceCheckpoint);

    // ------------------------------------------------------------------ lifecycle

    /// <summary>
    /// Creates a new, empty collection on disk: the folder (its name synced into <c>collections/</c>), then
    /// <c>collection.json</c> (atomically, after which the collection exists), then the WAL.
    /// </summary>
    public static Collection Create(string name, CollectionPaths paths, CollectionConfig config, EngineOptions options, ILogger logger, IStorage? storage = null)
    {
        storage ??= PhysicalStorage.Instance;
        FileUtil.CreateDirectoryDurable(storage, paths.Root);
        storage.CreateDirectory(paths.CheckpointsDirectory);
        CollectionConfigFile.Write(storage, paths.ConfigFile, config); // syncs the root: checkpoints/ too
        var collection = new Collection(name, paths, config, options, logger, storage);
        collection.wal = WriteAheadLog.Open(storage, paths.WalDirectory, options.WalSegmentBytes ?? ((long)config.Wal.WalCapacityMb << 20), logger, 0, _ => { });
        collection.Start();
        return collection;
    }

    /// <summary>
    /// Opens a collection: the newest checkpoint that verifies, then the WAL records after it. Anything that would
    /// make the state differ from what was acknowledged (a record that does not decode or apply, missing operations, a
    /// format this code does not know) throws, and the files are left as they are.
    /// </summary>
    public static Collection Open(string name, CollectionPaths paths, EngineOptions options, ILogger logger, IStorage? storage = null) =>
        Open(name, paths, options, logger, storage, acceptGap: false);

    /// <param name="acceptGap">
    /// An operator's repair (<see cref="CollectionDoctor"/>): when the WAL starts after the newest usable checkpoint, replay
    /// it anyway, accepting the loss of the operations in between.
    /// </param>
    internal static Collection Open(string name, CollectionPaths paths, EngineOptions options, ILogger logger, IStorage? storage, bool acceptGap)
    {
        storage ??= PhysicalStorage.Instance;
        var written = CollectionConfigFile.Read(storage, paths.ConfigFile);

        // What a killed process left may be only in the page cache: make the folder's names durable before building on them.
        FileUtil.CreateDirectoryDurable(storage, paths.Root);
        FileUtil.CreateDirectoryDurable(storage, paths.CheckpointsDirectory);

        // Vector changes in the WAL (from its first record: whichever checkpoint loads, the replay starts after it) give
        // the schema the replay must end with; collection.json is rolled forward to it once the replay succeeded.
        var changes = VectorChanges.Scan(storage, paths.WalDirectory, (WalStart(storage, paths) ?? 1) - 1);
        var config = changes.Apply(written);
        var collection = new Collection(name, paths, config, options, logger, storage);
        collection.Recover(acceptGap, changes);
        if (!ReferenceEquals(config, written))
        {
            logger.LogWarning("Collection {Name}: a vector change in the WAL had not reached collection.json (a crash cut it short); completing it", name);
            CollectionConfigFile.Write(storage, paths.ConfigFile, config);
        }

        collection.Start();
        return collection;
    }

    private void Recover(bool acceptGap, VectorChanges changes)
    {
        var started = Stopwatch.StartNew();
        var (loaded, lsn) = checkpoints.LoadNewest(Config);
        if (loaded is not null)
        {
            state = loaded;
            checkpointLsn = lsn;
            checkpointIndexed = loaded.Slots.Sum(slot => (long)Math.Min(slot.Graph is null ? 0 : slot.IndexedUpTo, loaded.Count));
        }

        if (acceptGap && WalStart(storage, Paths) is { } first && first > lsn + 1)
        {
            logger.LogWarning("Collection {Name}: operations {From}..{To} are in neither a checkpoint nor the WAL; replaying what follows them (repair)", Name, lsn + 1, first - 1);
            lsn = first - 1;
        }

        var replayed = 0;

        // The WAL checks that it reaches back to lsn + 1 and that its LSNs are contiguous.
        wal = WriteAheadLog.Open(storage, Paths.WalDirectory, options.WalSegmentBytes ?? ((long)Config.Wal.WalCapacityMb << 20), logger, lsn, record =>
        {
            replayed++;
            ApplyRecord(state, record, changes, Config, Paths.SpillDirectory);
        });

        operationsSinceCheckpoint = replayed;
        logger.LogInformation(
            "Collection {Name} opened in {Elapsed:F2}s: checkpoint LSN {Lsn}, {Replayed} WAL records replayed, {Points} points",
            Name, started.Elapsed.TotalSeconds, lsn, replayed, state.LiveCount);
    }

    /// <summary>The first LSN of a collection's WAL (null when it has no segment).</summary>
    internal static long? WalStart(IStorage storage, CollectionPaths paths)
    {
        long? first = null;
        foreach (var file in storage.ListFiles(paths.WalDirectory))
        {
            if (file.EndsWith(".wal", StringComparison.Ordinal) &&
                long.TryParse(Path.GetFileNameWithoutExtension(file), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var lsn))
            {
                first = first is { } known ? Math.Min(known, lsn) : lsn;
            }
        }

        return first;
    }

    /// <summary>
    /// Replays one WAL record. It was acknowledged, so it is never skipped: a record that passed its checksum but does
    /// not decode, or fails to apply, stops the open (the collection is reported as failed, its files kept), rather than
    /// serve a state that silently differs from what clients were told.
    /// </summary>
    /// <param name="changes">The vector changes of the replayed WAL (<see cref="VectorChanges.Scan"/>).</param>
    /// <param name="config">The config the replay ends with (<see cref="VectorChanges.Apply"/>).</param>
    /// <param name="spillDirectory">Where a re-created vector's <c>on_disk</c> values go (null: in RAM).</param>
    internal static void ApplyRecord(CollectionState target, WalRecord record, VectorChanges changes, CollectionConfig config, string? spillDirectory)
    {
        WalOperation operation;
        try
        {
            operation = WalOperation.Decode(record.Kind, record.Body.Span);
        }
        catch (CorruptDataException e)
        {
            throw new CorruptDataException(
                $"WAL record {record.Lsn} passed its checksum but does not decode ({e.Message}); it was acknowledged, so the collection is not opened without it",
                e);
        }

        try
        {
            if (operation.ChangedVector is not null)
            {
                changes.Reset(target, config, operation, record.Lsn, spillDirectory);
            }
            else
            {
                WritePath.Apply(target, changes.Strip(operation, record.Lsn), (ulong)record.Lsn);
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new InvalidOperationException($"Replaying WAL record {record.Lsn} ({operation.Kind}) failed: {e.Message}", e);
        }
    }

    private void Start()
    {
        writes = new WritePath(this, wal, indexer);
        indexer.Start();
    }

    /// <summary>Stops background work, checkpoints (when <paramref name="checkpoint"/>), and closes the WAL.</summary>
    public void Close(bool checkpoint)
    {
        indexer.Stop();
        MaintenanceGate.Wait();
        try
        {
            if (closed)
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
                closed = true;
                wal.Dispose();
            }
            finally
            {
                rw.ExitWriteLock();
            }
        }
        finally
        {
            MaintenanceGate.Release();
        }
    }

    public void Dispose() => Close(checkpoint: true);

    // ------------------------------------------------------------------ config

    /// <summary>Replaces the mutable parts of the config (PATCH). Vector sizes and distances never change.</summary>
    public void UpdateConfig(Func<CollectionConfig, CollectionConfig> change)
    {
        rw.EnterWriteLock();
        try
        {
            var updated = change(Config);
            updated.Validate(options.MaxVectorSize);
            CollectionConfigFile.Write(storage, Paths.ConfigFile, updated);
            Config = updated;
            BumpVersion();
            if (HasFeed)
            {
                Emit(new CollectionConfigChanged(Name, CollectionConfigFile.ToUtf8(updated)));
            }

            foreach (var slot in State.Slots)
            {
                slot.Hnsw = updated.HnswFor(slot.Name);
                slot.Quantization = updated.QuantizationFor(slot.Name);
                if (slot.Quantization is null)
                {
                    slot.Quantized = null;
                }
            }

            foreach (var slot in State.SparseSlots)
            {
                var parameters = updated.SparseVectors[slot.Name];
                slot.Idf = parameters.Idf;
                slot.FullScanThreshold = parameters.Index?.FullScanThreshold ?? Sparse.SparseSlot.DefaultFullScanThreshold;
            }
        }
        finally
        {
            rw.ExitWriteLock();
        }

        indexer.Wake();
    }

    /// <summary>
    /// Adds a named vector, dense (<paramref name="dense"/>) or sparse (<paramref name="sparse"/>), that no point has yet.
    /// The new config and the new state are published together under the write lock; then a checkpoint is taken (in a new
    /// vector generation, so a vector re-created under an old name never shares files with the old one) so that a restart
    /// never replays the WAL across the change. A dense vector reserves its space for every existing offset.
    /// </summary>
    public UpdateResult CreateVector(string name, VectorParams? dense, SparseVectorParams? sparse)
    {
        if ((dense is null) == (sparse is null))
        {
            throw new VectorizerException(ErrorCode.Internal, "A new vector is either dense or sparse");
        }

        if (name.Length == 0)
        {
            throw VectorizerException.BadRequest("Vector name must not be empty");
        }

        return ChangeVectors(config =>
        {
            if (config.Vectors.ContainsKey(name) || config.SparseVectors.ContainsKey(name))
            {
                throw VectorizerException.BadRequest($"Vector with name `{name}` already exists");
            }

            return VectorChanges.WithCreated(config, name, dense, sparse);
        }, WalOperation.CreateVector(name, dense, sparse), (updated, current) =>
        {
            if (dense is not null)
            {
                current.AddSlot(new VectorSlot(name, updated.Vectors[name], updated.HnswFor(name), updated.QuantizationFor(name), Paths.SpillDirectory));
            }
            else
            {
                current.AddSparseSlot(new Sparse.SparseSlot(name, sparse!.Idf) { FullScanThreshold = sparse.Index?.FullScanThreshold ?? Sparse.SparseSlot.DefaultFullScanThreshold });
            }
        }, updated => new VectorCreated(Name, name, CollectionConfigFile.ToUtf8(updated)));
    }

    /// <summary>Removes a named vector (dense or sparse) and every point's value of it; see <see cref="CreateVector"/> for how.</summary>
    public UpdateResult DeleteVector(string name) =>
        ChangeVectors(
            config => config.Vectors.ContainsKey(name) || config.SparseVectors.ContainsKey(name)
                ? VectorChanges.WithDeleted(config, name)
                : throw VectorizerException.VectorNameNotFound(name),
            WalOperation.DeleteVector(name),
            (_, current) => current.RemoveVector(name),
            _ => new VectorDeleted(Name, name));

    /// <summary>
    /// A vector change: under the maintenance gate and the write lock, the WAL record (the commit point: an open rolls
    /// <c>collection.json</c> forward to it, see <see cref="VectorChanges"/>), then <c>collection.json</c>, then the state;
    /// then the record is fsynced and a checkpoint taken, so that a normal open replays nothing across the change.
    /// </summary>
    private UpdateResult ChangeVectors(Func<CollectionConfig, CollectionConfig> change, WalOperation record, Action<CollectionConfig, CollectionState> apply, Func<CollectionConfig, EngineChange> changed)
    {
        MaintenanceGate.Wait();
        try
        {
            rw.EnterWriteLock();
            try
            {
                if (closed)
                {
                    throw new VectorizerException(ErrorCode.ShuttingDown, $"Collection `{Name}` is closed");
                }

                var updated = change(Config);
                updated.Validate(options.MaxVectorSize);
                wal.Append((byte)record.Kind, record.Encode());
                CollectionConfigFile.Write(storage, Paths.ConfigFile, updated);
                Config = updated;
                var current = State;
                apply(updated, current);
                current.Generation++;
                BumpVersion(); // cached answers computed with the old vectors are stale
                Emit(changed(updated));
            }
            finally
            {
                rw.ExitWriteLock();
            }

            wal.Flush();
            CheckpointCore(null, force: true, rewrite: true);
        }
        finally
        {
            MaintenanceGate.Release();
        }

        indexer.Wake();
        return new UpdateResult(wal.LastLsn, UpdateStatus.Completed);
    }

    /// <summary>Creates or replaces the index of <paramref name="field"/> (a payload key, nested keys allowed).</summary>
    public UpdateResult CreatePayloadIndex(string field, PayloadFieldSchema schema)
    {
        if (!JsonPath.TryParse(field, out _, out var error))
        {
            throw VectorizerException.BadRequest($"Bad field_name `{field}`: {error}");
        }

        if (schema.Params?.Text is { MinTokenLength: < 0 } or { MaxTokenLength: < 0 })
        {
            throw VectorizerException.Validation($"{field}: token lengths must be 0 or larger");
        }

        ChangePayloadSchema(field, schema);
        return new UpdateResult(wal.LastLsn, UpdateStatus.Completed);
    }

    /// <summary>Drops the index of <paramref name="field"/>; dropping one that does not exist is not an error (as in Qdrant).</summary>
    public UpdateResult DeletePayloadIndex(string field)
    {
        ChangePayloadSchema(field, null);
        return new UpdateResult(wal.LastLsn, UpdateStatus.Completed);
    }

    /// <summary>
    /// Payload indexes are part of the config: changed atomically with <c>collection.json</c>, rebuilt from the payloads
    /// on open, kept current by every write (see <see cref="CollectionState.SyncPayloadIndexes"/>).
    /// </summary>
    private void ChangePayloadSchema(string field, PayloadFieldSchema? schema)
    {
        rw.EnterWriteLock();
        try
        {
            var fields = new Dictionary<string, PayloadFieldSchema>(Config.PayloadSchema, StringComparer.Ordinal);
            if (schema is null)
            {
                fields.Remove(field);
            }
            else
            {
                fields[field] = schema;
            }

            var updated = Config with { PayloadSchema = fields };
            CollectionConfigFile.Write(storage, Paths.ConfigFile, updated);
            Config = updated;
            State.SyncPayloadIndexes(updated.PayloadSchema);
            BumpVersion();
            if (HasFeed)
            {
                Emit(new PayloadIndexChanged(Name, field, CollectionConfigFile.ToUtf8(updated)));
            }
        }
        finally
        {
            rw.ExitWriteLock();
        }
    }

    // ------------------------------------------------------------------ writes

    /// <summary>
    /// Validates, logs and applies one operation. Bad input throws before anything is written. With
    /// <paramref name="wait"/> the call returns after the WAL record is fsynced (shared with concurrent writers).
    /// </summary>
    public async ValueTask<UpdateResult> UpdateAsync(UpdateOperation operation, bool wait, CancellationToken cancellationToken = default)
    {
        var results = await UpdateBatchAsync([operation], wait, cancellationToken).ConfigureAwait(false);
        return results[0];
    }

    /// <summary>Applies operations in order; every one is validated before the first is written.</summary>
    public ValueTask<IReadOnlyList<UpdateResult>> UpdateBatchAsync(IReadOnlyList<UpdateOperation> operations, bool wait, CancellationToken cancellationToken = default) =>
        writes.UpdateBatchAsync(operations, wait, cancellationToken);

    // ------------------------------------------------------------------ reads (shared lock, one state per call)

    /// <summary>The points with the given ids, in request order; missing ids are skipped.</summary>
    public IReadOnlyList<PointRecord> Retrieve(IReadOnlyList<PointId> ids, PayloadSelector withPayload, VectorSelector withVector)
    {
        rw.EnterReadLock();
        try
        {
            return queries.Retrieve(State, ids, withPayload, withVector);
        }
        finally
        {
            rw.ExitReadLock();
        }
    }

    /// <summary>Pages through points in id order (or payload order with <see cref="ScrollRequest.OrderBy"/>).</summary>
    public ScrollResult Scroll(ScrollRequest request)
    {
        rw.EnterReadLock();
        try
        {
            return queries.Scroll(State, request);
        }
        finally
        {
            rw.ExitReadLock();
        }
    }

    /// <summary>Exact number of live points passing <paramref name="filter"/>.</summary>
    public long Count(Filter? filter)
    {
        rw.EnterReadLock();
        try
        {
            return QueryExecutor.Count(State, filter);
        }
        finally
        {
            rw.ExitReadLock();
        }
    }

    /// <summary>
    /// Universal query: nearest neighbours of a vector or of a stored point, or (without a query) points in id
    /// order with score 1. Scores follow Qdrant: similarity for Cosine/Dot, distance for Euclid/Manhattan.
    /// </summary>
    public IReadOnlyList<ScoredPoint> Query(QueryRequest request)
    {
        using var span = EngineTelemetry.Source.StartActivity("search");
        span?.SetTag(EngineTelemetry.CollectionTag, Name);
        rw.EnterReadLock();
        try
        {
            return queries.Query(State, request);
        }
        finally
        {
            rw.ExitReadLock();
        }
    }

    /// <summary>A query's results grouped by a payload field (see <see cref="GroupsRequest"/>).</summary>
    public IReadOnlyList<PointGroup> QueryGroups(GroupsRequest request)
    {
        rw.EnterReadLock();
        try
        {
            return queries.QueryGroups(State, request);
        }
        finally
        {
            rw.ExitReadLock();
        }
    }

    /// <summary>Counts of points per value of an indexed payload field (see <see cref="FacetRequest"/>).</summary>
    public IReadOnlyList<FacetHit> Facet(FacetRequest request)
    {
        rw.EnterReadLock();
        try
        {
            return Facets.Count(State, Config.PayloadSchema, request);
        }
        finally
        {
            rw.ExitReadLock();
        }
    }

    /// <summary>The distance matrix of a random sample of points (see <see cref="SearchMatrixRequest"/>).</summary>
    public SearchMatrix SearchMatrix(SearchMatrixRequest request)
    {
        rw.EnterReadLock();
        try
        {
            return DistanceMatrix.Compute(State, request, Random.Shared);
        }
        finally
        {
            rw.ExitReadLock();
        }
    }

    /// <summary>Internal: raw nearest-neighbour search for benchmarks and tests (offsets and internal distances).</summary>
    internal List<ScoredNode> SearchRaw(string vectorName, float[] preprocessedQuery, int k, int ef, bool exact)
    {
        rw.EnterReadLock();
        try
        {
            var current = State;
            return VectorSearch.Search(current, WritePath.SlotOrThrow(current, vectorName), preprocessedQuery, null, null, k, ef, exact);
        }
        finally
        {
            rw.ExitReadLock();
        }
    }

    // ------------------------------------------------------------------ information

    public CollectionInfo GetInfo()
    {
        rw.EnterReadLock();
        try
        {
            var current = State;
            long indexed = 0;
            foreach (var slot in current.Slots)
            {
                var upTo = slot.Graph is null ? 0 : slot.IndexedUpTo;
                indexed += slot.Searchable.CountBelow(upTo);
            }

            var pending = indexer.HasPendingWork(current);
            var payloadSchema = new List<PayloadIndexInfo>(Config.PayloadSchema.Count);
            foreach (var (field, schema) in Config.PayloadSchema)
            {
                payloadSchema.Add(new PayloadIndexInfo(field, schema, current.IndexedPointCount(field)));
            }

            return new CollectionInfo(
                pending || vacuum.IsDue(current) ? CollectionStatus.Yellow : CollectionStatus.Green,
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

    private StorageInfo Storage(CollectionState current)
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
            disk = DiskBytes(Paths.Root);
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
            return indexer.CountUnindexed(State);
        }
        finally
        {
            rw.ExitReadLock();
        }
    }

    private long DiskBytes(string directory)
    {
        long total = 0;
        foreach (var file in storage.ListFiles(directory))
        {
            total += storage.GetFileLength(file);
        }

        foreach (var child in storage.ListDirectories(directory))
        {
            total += DiskBytes(child);
        }

        return total;
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

    /// <summary>The background optimizations: running, recently completed, and waiting (see <see cref="OptimizationsReport"/>).</summary>
    public OptimizationsReport GetOptimizations()
    {
        rw.EnterReadLock();
        try
        {
            var current = State;
            var running = Optimizations.Running;
            var segment = new Guid(System.Security.Cryptography.MD5.HashData(System.Text.Encoding.UTF8.GetBytes($"{Name}/{current.Generation}")));
            return new OptimizationsReport(
                running is null ? [] : [running],
                Optimizations.Completed,
                running?.Optimizer == "indexing" ? 0 : indexer.Unindexed(current),
                running?.Optimizer != "vacuum" && vacuum.IsDue(current),
                segment,
                current.LiveCount);
        }
        finally
        {
            rw.ExitReadLock();
        }
    }

    /// <summary>Blocks until the indexer has covered everything appended so far (tests and benchmarks).</summary>
    public Task WaitForIndexingAsync(TimeSpan timeout) => indexer.WaitUntilIdleAsync(timeout);

    // ------------------------------------------------------------------ maintenance: checkpoints and vacuum

    /// <summary>True when auto-save should checkpoint now.</summary>
    public bool CheckpointDue(AutoSaveOptions autoSave, DateTime nowUtc)
    {
        var pending = OperationsSinceCheckpoint;
        if (pending == 0 || !autoSave.Enabled)
        {
            return false;
        }

        // Never spend more than about a fifth of the time checkpointing a large collection.
        var spacing = TimeSpan.FromTicks(Math.Max(TimeSpan.FromSeconds(1).Ticks, lastCheckpointDuration.Ticks * 4));
        if (nowUtc - lastCheckpointUtc < spacing)
        {
            return false;
        }

        return pending >= autoSave.MinOperations || nowUtc - lastCheckpointUtc >= TimeSpan.FromSeconds(autoSave.IntervalSeconds);
    }

    /// <summary>Writes a checkpoint of the current state (pausing the indexer, not readers or writers for long).</summary>
    public void Checkpoint()
    {
        MaintenanceGate.Wait();
        try
        {
            CheckpointCore();
        }
        finally
        {
            MaintenanceGate.Release();
        }
    }

    /// <summary>Snapshot under the read lock, WAL fsync, files, retention. Caller holds the maintenance gate.</summary>
    private void CheckpointCore() => CheckpointCore(null, force: false);

    /// <summary>
    /// <see cref="CheckpointCore()"/>; <paramref name="underReadLock"/> runs under the same read lock as the capture (it
    /// sees exactly the state the checkpoint holds), and <paramref name="force"/> writes one even when nothing changed
    /// but no checkpoint exists at that LSN; <paramref name="rewrite"/> writes one even when one exists at that LSN (the
    /// vector schema changed, which the WAL does not record). Returns the checkpoint's LSN, or -1 when the collection is
    /// closed.
    /// </summary>
    private long CheckpointCore(Action? underReadLock, bool force, bool rewrite = false)
    {
        var stopwatch = Stopwatch.StartNew();
        CheckpointSnapshot snapshot;
        long operations;
        rw.EnterReadLock();
        try
        {
            if (closed)
            {
                return -1;
            }

            operations = Interlocked.Read(ref operationsSinceCheckpoint);
            snapshot = CheckpointSnapshot.Capture(State, wal.LastLsn);
            underReadLock?.Invoke();
        }
        finally
        {
            rw.ExitReadLock();
        }

        var lsn = snapshot.Lsn;
        var indexed = IndexedNodes(snapshot);
        if (lsn == CheckpointLsn && operations == 0 && indexed == checkpointIndexed && !rewrite && !(force && !storage.DirectoryExists(Paths.Checkpoint(lsn))))
        {
            return lsn;
        }

        // The WAL must be durable up to the checkpoint: a checkpoint ahead of a torn log would break LSN continuity.
        wal.Flush();
        checkpoints.Write(snapshot);

        Interlocked.Exchange(ref checkpointLsn, lsn);
        checkpointIndexed = indexed;
        Interlocked.Add(ref operationsSinceCheckpoint, -operations);
        lastCheckpointUtc = DateTime.UtcNow;
        lastCheckpointDuration = stopwatch.Elapsed;
        checkpoints.ApplyRetention(wal, State.Generation);
        logger.LogInformation("Collection {Name}: checkpoint at LSN {Lsn} ({Points} offsets) in {Elapsed:F2}s", Name, lsn, snapshot.Count, stopwatch.Elapsed.TotalSeconds);
        return lsn;
    }

    private static long IndexedNodes(CheckpointSnapshot snapshot) => snapshot.Slots.Sum(slot => (long)slot.IndexedUpTo);

    /// <summary>True when enough points are tombstoned for <see cref="Vacuum"/> to run.</summary>
    public bool VacuumDue => vacuum.IsDue(State);

    /// <summary>
    /// Rebuilds the state without tombstones: copies live points to new offsets and builds their graphs in the
    /// background while reads and writes continue on the old state, then catches up with the writes made
    /// meanwhile and swaps under the write lock.
    /// </summary>
    public void Vacuum()
    {
        MaintenanceGate.Wait();
        try
        {
            var current = State;
            var due = vacuum.IsDue(current);
            if (due)
            {
                Optimizations.Begin("vacuum", current.Count, current.LiveCount);
            }

            try
            {
                vacuum.Run();
                Optimizations.Finish("vacuum");
            }
            catch (Exception e) when (due)
            {
                Optimizations.Finish("vacuum", e.Message);
                throw;
            }
        }
        finally
        {
            MaintenanceGate.Release();
        }

        indexer.Wake();
    }
}
