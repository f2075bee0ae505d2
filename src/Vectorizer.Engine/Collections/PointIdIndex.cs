using Vectorizer.Engine.Points;

namespace Vectorizer.Engine.Collections;

/// <summary>
/// Point id → live offset, plus id-ordered iteration for scroll. Integer ids (the common case) live in a
/// compact <see cref="NumericIdMap"/>, UUIDs in a dictionary of their own. The order is a sorted snapshot built on first use and
/// kept current with small sorted/hashed deltas, rebuilt once the deltas grow past an eighth of it; so bulk
/// loads pay nothing for ordering and scrolls between writes stay cheap.
/// <para>Mutated under the collection's write lock; readers (under the read lock) may build the snapshot concurrently.</para>
/// </summary>
public sealed class PointIdIndex
{
    private readonly NumericIdMap numeric = new();
    private readonly Dictionary<UInt128, int> uuids = [];
    private readonly object snapshotLock = new();
    private readonly SortedSet<PointId> added = [];
    private readonly HashSet<PointId> removed = [];
    private PointId[]? sorted;

    public int Count => numeric.Count + uuids.Count;

    public bool TryGetOffset(PointId id, out int offset) =>
        id.IsUuid ? uuids.TryGetValue(Key(id), out offset) : numeric.TryGetValue(id.Number, out offset);

    /// <summary>Maps <paramref name="id"/> to <paramref name="offset"/>; returns the previous offset or -1.</summary>
    public int Set(PointId id, int offset)
    {
        int previous;
        bool existed;
        if (id.IsUuid)
        {
            existed = uuids.TryGetValue(Key(id), out previous);
            uuids[Key(id)] = offset;
        }
        else
        {
            existed = !numeric.Set(id.Number, offset, out previous);
        }

        if (!existed)
        {
            TrackAdded(id);
            return -1;
        }

        return previous;
    }

    public bool Remove(PointId id, out int offset)
    {
        var found = id.IsUuid ? uuids.Remove(Key(id), out offset) : numeric.Remove(id.Number, out offset);
        if (found)
        {
            TrackRemoved(id);
        }

        return found;
    }

    private static UInt128 Key(PointId id) => new(id.UuidHigh, id.UuidLow);

    private void TrackAdded(PointId id)
    {
        if (sorted is null)
        {
            return;
        }

        if (!removed.Remove(id))
        {
            added.Add(id);
        }

        DropSnapshotIfStale();
    }

    private void TrackRemoved(PointId id)
    {
        if (sorted is null)
        {
            return;
        }

        if (!added.Remove(id))
        {
            removed.Add(id);
        }

        DropSnapshotIfStale();
    }

    private void DropSnapshotIfStale()
    {
        if (added.Count + removed.Count > Math.Max(1024, sorted!.Length / 8))
        {
            sorted = null;
            added.Clear();
            removed.Clear();
        }
    }

    private PointId[] Snapshot()
    {
        var snapshot = Volatile.Read(ref sorted);
        if (snapshot is not null)
        {
            return snapshot;
        }

        lock (snapshotLock)
        {
            if (sorted is not null)
            {
                return sorted;
            }

            var ids = new PointId[Count];
            var i = 0;
            foreach (var number in numeric.Keys)
            {
                ids[i++] = PointId.FromNumber(number);
            }

            foreach (var uuid in uuids.Keys)
            {
                ids[i++] = PointId.FromUuidParts((ulong)(uuid >> 64), (ulong)uuid);
            }

            Array.Sort(ids);
            Volatile.Write(ref sorted, ids);
            return ids;
        }
    }

    /// <summary>Live ids in order, starting at <paramref name="start"/> (inclusive) when given.</summary>
    public IEnumerable<PointId> Ordered(PointId? start = null)
    {
        var snapshot = Snapshot();
        var index = 0;
        if (start is { } from)
        {
            index = Array.BinarySearch(snapshot, from);
            if (index < 0)
            {
                index = ~index;
            }
        }

        IEnumerator<PointId>? extra = null;
        if (added.Count > 0)
        {
            extra = (start is { } s ? added.GetViewBetween(s, PointId.FromUuidParts(ulong.MaxValue, ulong.MaxValue)) : added).GetEnumerator();
        }

        var hasExtra = extra?.MoveNext() ?? false;
        while (index < snapshot.Length || hasExtra)
        {
            if (hasExtra && (index >= snapshot.Length || extra!.Current < snapshot[index]))
            {
                yield return extra!.Current;
                hasExtra = extra.MoveNext();
                continue;
            }

            var id = snapshot[index++];
            if (removed.Count == 0 || !removed.Contains(id))
            {
                yield return id;
            }
        }

        extra?.Dispose();
    }
}
