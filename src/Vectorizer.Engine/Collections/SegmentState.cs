using System.Text.Json;
using Vectorizer.Engine.Filters;
using Vectorizer.Engine.Payload;
using Vectorizer.Engine.Points;

namespace Vectorizer.Engine.Collections;

/// <summary>
/// All points of a collection, addressed by offset. Offsets are append-only: replacing a point's vectors
/// writes a new offset and tombstones the old one, so stored vectors never change and the graph can be built
/// concurrently. Everything here is mutated under the collection's write lock and read under its read lock;
/// only the vector stores and graphs are also read by the background indexer.
/// </summary>
public sealed class SegmentState : IPointFacts
{
    private readonly Dictionary<PointId, int> offsets = [];
    private readonly SortedSet<PointId> ordered = [];
    private PointId[] ids = new PointId[1024];
    private ulong[] versions = new ulong[1024];
    private PointPayload?[] payloads = new PointPayload?[1024];
    private int count;

    public SegmentState(CollectionConfig config, long generation)
    {
        Generation = generation;
        var slots = new List<VectorSlot>();
        foreach (var (name, parameters) in config.Vectors)
        {
            slots.Add(new VectorSlot(name, parameters, config.HnswFor(name)));
        }

        Slots = [.. slots];
    }

    /// <summary>Incremented whenever offsets are renumbered (vacuum); names the vector files on disk.</summary>
    public long Generation { get; }

    public IReadOnlyList<VectorSlot> Slots { get; }

    /// <summary>Offsets in use (live and tombstoned).</summary>
    public int Count => Volatile.Read(ref count);

    public int LiveCount => offsets.Count;

    public int DeletedCount => Count - LiveCount;

    public Bitmap Deleted { get; } = new();

    public SortedSet<PointId> OrderedIds => ordered;

    public VectorSlot? Slot(string name)
    {
        foreach (var slot in Slots)
        {
            if (slot.Name == name)
            {
                return slot;
            }
        }

        return null;
    }

    public bool TryGetOffset(PointId id, out int offset) => offsets.TryGetValue(id, out offset);

    public PointId IdOf(int offset) => ids[offset];

    public ulong VersionOf(int offset) => versions[offset];

    public PointPayload? PayloadObjectOf(int offset) => payloads[offset];

    public JsonElement PayloadOf(int offset) => (payloads[offset] ?? PointPayload.Empty).Root;

    public bool HasVector(int offset, string vectorName) => Slot(vectorName) is { } slot && slot.Searchable.Get(offset);

    public bool IsLive(int offset) => !Deleted.Get(offset) && offset < Count;

    /// <summary>Appends a new version of a point and makes it the live one (tombstoning an older offset).</summary>
    public int Append(PointId id, ulong version, PointPayload? payload, IReadOnlyDictionary<string, float[]> vectors) =>
        AppendCore(id, version, payload is { IsEmpty: true } ? null : payload, vectors, null, 0);

    /// <summary>Appends a copy of <paramref name="offset"/> of <paramref name="source"/> (vacuum).</summary>
    internal int AppendCopy(SegmentState source, int offset) =>
        AppendCore(source.ids[offset], source.versions[offset], source.payloads[offset], null, source, offset);

    /// <summary>Vectors come from <paramref name="vectors"/>, or from the same slots of <paramref name="source"/>.</summary>
    private int AppendCore(PointId id, ulong version, PointPayload? payload, IReadOnlyDictionary<string, float[]>? vectors, SegmentState? source, int sourceOffset)
    {
        var offset = count;
        EnsureCapacity(offset + 1);
        ids[offset] = id;
        versions[offset] = version;
        payloads[offset] = payload;
        for (var i = 0; i < Slots.Count; i++)
        {
            var slot = Slots[i];
            ReadOnlySpan<float> vector = default;
            var present = source is null
                ? vectors!.TryGetValue(slot.Name, out var array) && (vector = array).Length > 0
                : source.Slots[i].Searchable.Get(sourceOffset) && (vector = source.Slots[i].Store.Get(sourceOffset)).Length > 0;
            if (present)
            {
                slot.Searchable.Set(offset);
                slot.Store.Append(vector);
            }
            else
            {
                slot.Searchable.EnsureCapacity(offset + 1);
                slot.Store.AppendEmpty();
            }
        }

        Deleted.EnsureCapacity(offset + 1);
        if (offsets.TryGetValue(id, out var previous))
        {
            Tombstone(previous);
        }
        else
        {
            ordered.Add(id);
        }

        offsets[id] = offset;
        Volatile.Write(ref count, offset + 1);
        return offset;
    }

    /// <summary>Marks an offset dead without touching the id maps.</summary>
    private void Tombstone(int offset)
    {
        Deleted.Set(offset);
        payloads[offset] = null;
        foreach (var slot in Slots)
        {
            slot.Searchable.Clear(offset);
        }
    }

    public bool Delete(PointId id)
    {
        if (!offsets.Remove(id, out var offset))
        {
            return false;
        }

        ordered.Remove(id);
        Tombstone(offset);
        return true;
    }

    public void SetPayload(int offset, PointPayload? payload, ulong version)
    {
        payloads[offset] = payload is { IsEmpty: true } ? null : payload;
        versions[offset] = version;
    }

    public void RemoveVector(int offset, VectorSlot slot, ulong version)
    {
        slot.Searchable.Clear(offset);
        versions[offset] = version;
    }

    /// <summary>The stored vectors of a live point, by name (copies).</summary>
    public Dictionary<string, float[]> VectorsOf(int offset, IReadOnlyList<string>? names = null)
    {
        var result = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (var slot in Slots)
        {
            if ((names is null || Contains(names, slot.Name)) && slot.Searchable.Get(offset))
            {
                result[slot.Name] = slot.Store.Get(offset).ToArray();
            }
        }

        return result;
    }

    private static bool Contains(IReadOnlyList<string> names, string name)
    {
        foreach (var n in names)
        {
            if (n == name)
            {
                return true;
            }
        }

        return false;
    }

    private void EnsureCapacity(int needed)
    {
        if (needed <= ids.Length)
        {
            return;
        }

        var size = Math.Max(needed, ids.Length * 2);
        Array.Resize(ref ids, size);
        Array.Resize(ref versions, size);
        Array.Resize(ref payloads, size);
    }

    /// <summary>Copies of the per-offset arrays up to <see cref="Count"/> (for checkpoints).</summary>
    public (PointId[] Ids, ulong[] Versions, PointPayload?[] Payloads) SnapshotArrays()
    {
        var n = Count;
        return (ids[..n], versions[..n], payloads[..n]);
    }

    /// <summary>Restores one offset from a checkpoint. Vectors are loaded separately into the slots' stores.</summary>
    internal void RestoreOffset(PointId id, ulong version, PointPayload? payload, bool deleted)
    {
        var offset = count;
        EnsureCapacity(offset + 1);
        ids[offset] = id;
        versions[offset] = version;
        payloads[offset] = payload;
        Deleted.EnsureCapacity(offset + 1);
        if (deleted)
        {
            Deleted.Set(offset);
        }
        else
        {
            offsets[id] = offset;
            ordered.Add(id);
        }

        Volatile.Write(ref count, offset + 1);
    }

    /// <summary>Brings a copied offset up to date with its source after concurrent writes (vacuum swap).</summary>
    internal void RefreshCopy(SegmentState source, int sourceOffset, int offset)
    {
        if (source.Deleted.Get(sourceOffset))
        {
            if (offsets.TryGetValue(ids[offset], out var mapped) && mapped == offset)
            {
                offsets.Remove(ids[offset]);
                ordered.Remove(ids[offset]);
            }

            Tombstone(offset);
            return;
        }

        versions[offset] = source.versions[sourceOffset];
        payloads[offset] = source.payloads[sourceOffset];
        for (var i = 0; i < Slots.Count; i++)
        {
            if (!source.Slots[i].Searchable.Get(sourceOffset))
            {
                Slots[i].Searchable.Clear(offset);
            }
        }
    }
}

