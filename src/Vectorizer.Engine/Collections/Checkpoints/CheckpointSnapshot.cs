using Vectorizer.Engine.Payload;
using Vectorizer.Engine.Points;
using Vectorizer.Engine.Sparse;

namespace Vectorizer.Engine.Collections.Checkpoints;

/// <summary>
/// What a checkpoint writes, captured from a <see cref="CollectionState"/> under the collection's read lock: copies
/// of the per-offset arrays and bitmaps up to <see cref="Count"/>, so the files are written after the lock is
/// released while writers continue. Vectors and graphs are not copied: offsets below <see cref="Count"/> never
/// change, and the graph is only saved up to each slot's <c>IndexedUpTo</c> at capture time.
/// </summary>
internal sealed class CheckpointSnapshot
{
    private CheckpointSnapshot(
        CollectionState state, long lsn, int count, PointId[] ids, ulong[] versions, PayloadSnapshot payloads, ulong[] deleted,
        List<SlotSnapshot> slots, List<SparseSnapshot> sparse)
    {
        State = state;
        Lsn = lsn;
        Count = count;
        Ids = ids;
        Versions = versions;
        Payloads = payloads;
        Deleted = deleted;
        Slots = slots;
        Sparse = sparse;
    }

    public CollectionState State { get; }

    /// <summary>The LSN of the last operation the snapshot contains.</summary>
    public long Lsn { get; }

    public long Generation => State.Generation;

    /// <summary>Offsets in use at capture time.</summary>
    public int Count { get; }

    public PointId[] Ids { get; }

    public ulong[] Versions { get; }

    public PayloadSnapshot Payloads { get; }

    public ulong[] Deleted { get; }

    public List<SlotSnapshot> Slots { get; }

    public List<SparseSnapshot> Sparse { get; }

    /// <summary>Copies what a checkpoint needs. Caller holds the collection's read lock.</summary>
    public static CheckpointSnapshot Capture(CollectionState current, long lsn)
    {
        var count = current.Count;
        var (ids, versions, payloads) = current.SnapshotArrays();
        var deleted = current.Deleted.Snapshot(count);
        var slots = new List<SlotSnapshot>();
        foreach (var slot in current.Slots)
        {
            slots.Add(new SlotSnapshot(slot, slot.Searchable.Snapshot(count), Math.Min(slot.Graph is null ? 0 : slot.IndexedUpTo, count)));
        }

        var sparse = new List<SparseSnapshot>();
        foreach (var slot in current.SparseSlots)
        {
            var vectors = new List<(int, SparseVector)>();
            for (var offset = 0; offset < count; offset++)
            {
                if (slot.Get(offset) is { } vector)
                {
                    vectors.Add((offset, vector));
                }
            }

            sparse.Add(new SparseSnapshot(slot.Name, vectors));
        }

        return new CheckpointSnapshot(current, lsn, count, ids, versions, payloads, deleted, slots, sparse);
    }
}

/// <summary>One dense vector slot at capture time: its searchable bitmap and how far its graph reaches.</summary>
internal readonly record struct SlotSnapshot(VectorSlot Slot, ulong[] Searchable, int IndexedUpTo);

/// <summary>The sparse vectors of one slot at capture time, by offset.</summary>
internal readonly record struct SparseSnapshot(string Name, List<(int Offset, SparseVector Vector)> Vectors);
