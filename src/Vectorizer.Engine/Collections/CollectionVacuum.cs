using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Vectorizer.Engine.Collections;

/// <summary>
/// Vacuum: rebuilds a collection's state without tombstones. Live points are copied to new offsets (a new
/// <see cref="CollectionState.Generation"/>) and their graphs built while reads and writes continue on the old state;
/// then, under the write lock, the copy catches up with the writes made meanwhile and replaces the old state.
/// Runs under the collection's maintenance gate.
/// </summary>
internal sealed class CollectionVacuum
{
    private readonly Collection owner;
    private readonly BackgroundIndexer indexer;
    private readonly ILogger logger;

    public CollectionVacuum(Collection owner, BackgroundIndexer indexer, ILogger logger)
    {
        this.owner = owner;
        this.indexer = indexer;
        this.logger = logger;
    }

    /// <summary>Qdrant's vacuum rule: enough tombstones, and more than <c>deleted_threshold</c> of all offsets.</summary>
    public bool IsDue(CollectionState current)
    {
        var optimizers = owner.Config.Optimizers;
        var deleted = current.DeletedCount;
        return deleted >= optimizers.VacuumMinVectorNumber && deleted > optimizers.DeletedThreshold * current.Count;
    }

    /// <summary>Vacuums when due. Caller holds the maintenance gate.</summary>
    public void Run()
    {
        var stopwatch = Stopwatch.StartNew();
        CollectionState old;
        int snapshotCount;
        List<int> live;
        owner.Lock.EnterReadLock();
        try
        {
            old = owner.State;
            if (!IsDue(old) || owner.IsClosed)
            {
                return;
            }

            snapshotCount = old.Count;
            live = new List<int>(old.LiveCount);
            for (var offset = 0; offset < snapshotCount; offset++)
            {
                if (!old.Deleted.Get(offset))
                {
                    live.Add(offset);
                }
            }
        }
        finally
        {
            owner.Lock.ExitReadLock();
        }

        // Vectors and ids never change at an offset, so they can be copied without the lock; payloads and
        // tombstones are refreshed at the swap.
        var fresh = new CollectionState(owner.Config, old.Generation + 1, owner.Paths.SpillDirectory);
        foreach (var offset in live)
        {
            fresh.AppendCopy(old, offset);
        }

        foreach (var slot in fresh.Slots)
        {
            if (indexer.NeedsIndexing(slot) || old.Slot(slot.Name)?.Graph is not null)
            {
                var graph = slot.CreateGraph();
                graph.EnsureCapacity(fresh.Count);
                BackgroundIndexer.InsertRange(slot, graph, 0, fresh.Count, indexer.IndexingThreads(slot));
                slot.Graph = graph;
                slot.IndexedUpTo = fresh.Count;
            }
        }

        owner.Lock.EnterWriteLock();
        try
        {
            for (var i = 0; i < live.Count; i++)
            {
                fresh.RefreshCopy(old, live[i], i);
            }

            for (var offset = snapshotCount; offset < old.Count; offset++)
            {
                if (!old.Deleted.Get(offset))
                {
                    fresh.AppendCopy(old, offset);
                }
            }

            fresh.SyncPayloadIndexes(owner.Config.PayloadSchema);
            owner.ReplaceState(fresh);
        }
        finally
        {
            owner.Lock.ExitWriteLock();
        }

        // The next checkpoint must describe the new offsets; force one soon.
        owner.CountOperation();
        logger.LogInformation(
            "Collection {Name}: vacuum removed {Removed} tombstones ({Live} live points) in {Elapsed:F2}s",
            owner.Name, old.Count - fresh.LiveCount, fresh.LiveCount, stopwatch.Elapsed.TotalSeconds);
    }
}
