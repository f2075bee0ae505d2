using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Vectorizer.Engine.Collections;

public sealed partial class Collection
{
    /// <summary>Qdrant's vacuum rule: enough tombstones, and more than <c>deleted_threshold</c> of all offsets.</summary>
    internal bool NeedsVacuum(SegmentState current)
    {
        var deleted = current.DeletedCount;
        return deleted >= Config.Optimizers.VacuumMinVectorNumber && deleted > Config.Optimizers.DeletedThreshold * current.Count;
    }

    public bool VacuumDue => NeedsVacuum(State);

    /// <summary>
    /// Rebuilds the state without tombstones: copies live points to new offsets and builds their graphs in the
    /// background while reads and writes continue on the old state, then catches up with the writes made
    /// meanwhile and swaps under the write lock.
    /// </summary>
    public void Vacuum()
    {
        maintenanceGate.Wait();
        try
        {
            VacuumCore();
        }
        finally
        {
            maintenanceGate.Release();
        }

        indexSignal.Release();
    }

    private void VacuumCore()
    {
        var stopwatch = Stopwatch.StartNew();
        SegmentState old;
        int snapshotCount;
        List<int> live;
        rw.EnterReadLock();
        try
        {
            old = State;
            if (!NeedsVacuum(old) || disposed)
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
            rw.ExitReadLock();
        }

        // Vectors and ids never change at an offset, so they can be copied without the lock; payloads and
        // tombstones are refreshed at the swap.
        var fresh = new SegmentState(Config, old.Generation + 1, Paths.SpillDirectory);
        foreach (var offset in live)
        {
            fresh.AppendCopy(old, offset);
        }

        foreach (var slot in fresh.Slots)
        {
            if (NeedsIndexing(fresh, slot) || old.Slot(slot.Name)?.Graph is not null)
            {
                var graph = slot.CreateGraph();
                graph.EnsureCapacity(fresh.Count);
                InsertRange(slot, graph, 0, fresh.Count, IndexingThreads(slot));
                slot.Graph = graph;
                slot.IndexedUpTo = fresh.Count;
            }
        }

        rw.EnterWriteLock();
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

            SyncPayloadIndexes(fresh);
            Volatile.Write(ref state, fresh);
        }
        finally
        {
            rw.ExitWriteLock();
        }

        // The next checkpoint must describe the new offsets; force one soon.
        Interlocked.Increment(ref operationsSinceCheckpoint);
        logger.LogInformation(
            "Collection {Name}: vacuum removed {Removed} tombstones ({Live} live points) in {Elapsed:F2}s",
            Name, old.Count - fresh.LiveCount, fresh.LiveCount, stopwatch.Elapsed.TotalSeconds);
    }
}
