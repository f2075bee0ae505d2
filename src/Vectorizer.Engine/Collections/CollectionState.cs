using System.Text.Json;
using Vectorizer.Engine.Filters;
using Vectorizer.Engine.Payload;
using Vectorizer.Engine.Points;
using Vectorizer.Engine.Sparse;

namespace Vectorizer.Engine.Collections;

/// <summary>
/// All points of a collection, addressed by offset: ids, versions, payloads and tombstones, one
/// <see cref="VectorSlot"/> per dense vector (store, searchable bitmap, HNSW graph), one <see cref="Sparse.SparseSlot"/>
/// per sparse vector, and the payload indexes. Replaced as a whole by vacuum (new offsets, new
/// <see cref="Generation"/>). Offsets are append-only: replacing a point's vectors
/// writes a new offset and tombstones the old one, so stored vectors never change and the graph can be built
/// concurrently. Everything here is mutated under the collection's write lock and read under its read lock;
/// only the vector stores and graphs are also read by the background indexer.
/// </summary>
public sealed class CollectionState : IPointFacts
{
    private readonly PointIdIndex offsets = new();
    private readonly OffsetArray<ulong> idLow = new();
    private OffsetArray<ulong>? idHigh;
    private readonly OffsetArray<ulong> versions = new();
    private readonly PayloadStore payloads;
    private int count;

    private readonly Dictionary<string, PayloadFieldIndex> payloadIndexes = new(StringComparer.Ordinal);

    /// <param name="config">The collection's config.</param>
    /// <param name="generation">Checkpoint generation this state starts from.</param>
    /// <param name="spillDirectory">Where <c>on_disk</c> vectors are memory-mapped (null: keep them in RAM).</param>
    public CollectionState(CollectionConfig config, long generation, string? spillDirectory = null)
    {
        Generation = generation;
        payloads = new PayloadStore(config.OnDiskPayload ? spillDirectory : null);
        var slots = new List<VectorSlot>();
        foreach (var (name, parameters) in config.Vectors)
        {
            slots.Add(new VectorSlot(name, parameters, config.HnswFor(name), config.QuantizationFor(name), spillDirectory));
        }

        Slots = [.. slots];
        var sparseSlots = new List<SparseSlot>();
        foreach (var (name, parameters) in config.SparseVectors)
        {
            sparseSlots.Add(new SparseSlot(name, parameters.Idf) { FullScanThreshold = parameters.Index?.FullScanThreshold ?? Sparse.SparseSlot.DefaultFullScanThreshold });
        }

        SparseSlots = [.. sparseSlots];
        foreach (var (field, schema) in config.PayloadSchema)
        {
            payloadIndexes[field] = new PayloadFieldIndex(JsonPath.Parse(field), schema);
        }
    }

    /// <summary>Where the payloads are kept (in RAM, or a memory-mapped log with <c>on_disk_payload</c>).</summary>
    public PayloadStore Payloads => payloads;

    /// <summary>Payload indexes by field name; kept current by every write (see <see cref="PayloadFieldIndex"/>).</summary>
    public IReadOnlyDictionary<string, PayloadFieldIndex> PayloadIndexes => payloadIndexes;

    /// <summary>Creates (or replaces) the index of <paramref name="field"/> and fills it from the live points.</summary>
    public void AddPayloadIndex(string field, PayloadFieldSchema schema)
    {
        var index = new PayloadFieldIndex(JsonPath.Parse(field), schema);
        for (var offset = 0; offset < Count; offset++)
        {
            if (IsLive(offset))
            {
                index.Add(offset, payloads.Get(offset));
            }
        }

        payloadIndexes[field] = index;
    }

    public void RemovePayloadIndex(string field) => payloadIndexes.Remove(field);

    /// <summary>Makes the payload indexes match <paramref name="schema"/> (the config's). Caller holds the write lock.</summary>
    internal void SyncPayloadIndexes(IReadOnlyDictionary<string, PayloadFieldSchema> schema)
    {
        foreach (var field in payloadIndexes.Keys.ToList())
        {
            if (!schema.ContainsKey(field))
            {
                RemovePayloadIndex(field);
            }
        }

        foreach (var (field, fieldSchema) in schema)
        {
            if (!payloadIndexes.TryGetValue(field, out var existing) || existing.Schema != fieldSchema)
            {
                AddPayloadIndex(field, fieldSchema);
            }
        }
    }

    /// <summary>
    /// The offsets a filter can match according to the payload indexes: the smallest candidate list among the
    /// filter's <c>must</c> conditions on indexed fields, sorted and deduplicated. A superset (every candidate is
    /// still checked against the whole filter). Null when no <c>must</c> condition is answered by an index.
    /// </summary>
    internal int[]? IndexedCandidates(Filter? filter)
    {
        if (filter?.Must is not { Count: > 0 } must || payloadIndexes.Count == 0)
        {
            return null;
        }

        List<int>? best = null;
        foreach (var condition in must)
        {
            if (condition is FieldCondition field && payloadIndexes.TryGetValue(field.Key.Text, out var index) &&
                index.Candidates(field) is { } candidates && (best is null || candidates.Count < best.Count))
            {
                best = candidates;
            }
        }

        if (best is null)
        {
            return null;
        }

        var sorted = best.ToArray();
        Array.Sort(sorted);
        var unique = 0;
        for (var i = 0; i < sorted.Length; i++)
        {
            if (i == 0 || sorted[i] != sorted[i - 1])
            {
                sorted[unique++] = sorted[i];
            }
        }

        return sorted[..unique];
    }

    /// <summary>
    /// The offsets matching <paramref name="filter"/> when the payload indexes answer it exactly: a filter of
    /// <c>must</c> conditions only, each a plain match that its field's index answers exactly
    /// (<see cref="PayloadFieldIndex.AnswersExactly"/>). The postings are intersected; offsets whose payload was
    /// rewritten (and so may have stale postings) are checked against the filter. Ascending, without duplicates;
    /// tombstoned offsets may remain (searches skip them by the searchable bitmap). Null when the indexes do not
    /// answer the filter exactly, and a search must then check each candidate of <see cref="IndexedCandidates"/>.
    /// </summary>
    internal int[]? IndexedMatches(Filter? filter)
    {
        if (filter is not { Must: { Count: > 0 } must, Should: null, MustNot: null or { Count: 0 }, MinShould: null } || payloadIndexes.Count == 0)
        {
            return null;
        }

        int[]? result = null;
        var rewritten = false;
        foreach (var condition in must)
        {
            if (condition is not FieldCondition field || !payloadIndexes.TryGetValue(field.Key.Text, out var index) || !index.AnswersExactly(field)
                || index.Candidates(field) is not { } candidates)
            {
                return null;
            }

            rewritten |= index.Rewritten.SetCount > 0;
            var offsets = SortedUnique(candidates);
            result = result is null ? offsets : Intersect(result, offsets);
        }

        if (rewritten && result is { Length: > 0 })
        {
            var kept = 0;
            foreach (var offset in result)
            {
                if (!IsRewritten(offset, must) || FilterEvaluator.Matches(filter, this, offset))
                {
                    result[kept++] = offset;
                }
            }

            result = result[..kept];
        }

        return result;
    }

    private bool IsRewritten(int offset, IReadOnlyList<Condition> must)
    {
        foreach (var condition in must)
        {
            if (payloadIndexes[((FieldCondition)condition).Key.Text].Rewritten.Get(offset))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A posting list as an ascending array without duplicates (already so, unless payloads were rewritten or several values matched).</summary>
    private static int[] SortedUnique(List<int> candidates)
    {
        var array = candidates.ToArray();
        var ordered = true;
        for (var i = 1; i < array.Length && ordered; i++)
        {
            ordered = array[i] > array[i - 1];
        }

        if (ordered)
        {
            return array;
        }

        Array.Sort(array);
        var unique = 0;
        for (var i = 0; i < array.Length; i++)
        {
            if (i == 0 || array[i] != array[i - 1])
            {
                array[unique++] = array[i];
            }
        }

        return array[..unique];
    }

    private static int[] Intersect(int[] a, int[] b)
    {
        var result = new int[Math.Min(a.Length, b.Length)];
        int i = 0, j = 0, n = 0;
        while (i < a.Length && j < b.Length)
        {
            if (a[i] < b[j])
            {
                i++;
            }
            else if (a[i] > b[j])
            {
                j++;
            }
            else
            {
                result[n++] = a[i];
                i++;
                j++;
            }
        }

        return result[..n];
    }

    /// <summary>Live points that have a value in the index of <paramref name="field"/>.</summary>
    public long IndexedPointCount(string field)
    {
        if (!payloadIndexes.TryGetValue(field, out var index))
        {
            return 0;
        }

        long points = 0;
        for (var offset = 0; offset < Count; offset++)
        {
            if (index.HasValue.Get(offset) && IsLive(offset))
            {
                points++;
            }
        }

        return points;
    }

    private void IndexPayload(int offset, PointPayload? payload)
    {
        foreach (var index in payloadIndexes.Values)
        {
            index.Add(offset, payload);
        }
    }

    /// <summary>
    /// Incremented whenever offsets are renumbered (vacuum) or a vector is added or removed (so that a vector re-created
    /// under the same name never shares chunk files with the old one); names the vector files on disk.
    /// </summary>
    public long Generation { get; internal set; }

    /// <summary>The dense vectors; replaced as a whole (copy on write) when a vector is added or removed under the write lock.</summary>
    public IReadOnlyList<VectorSlot> Slots { get; private set; }

    /// <summary>The sparse vectors; replaced as a whole like <see cref="Slots"/>.</summary>
    public IReadOnlyList<SparseSlot> SparseSlots { get; private set; }

    /// <summary>Adds an empty dense vector: no existing offset has it. Caller holds the write lock.</summary>
    internal void AddSlot(VectorSlot slot)
    {
        var n = Count;
        slot.Store.EnsureCapacity(n);
        for (var i = 0; i < n; i++)
        {
            slot.Store.AppendEmpty();
        }

        slot.Searchable.EnsureCapacity(n);
        Slots = [.. Slots, slot];
    }

    /// <summary>Adds an empty sparse vector. Caller holds the write lock.</summary>
    internal void AddSparseSlot(SparseSlot slot) => SparseSlots = [.. SparseSlots, slot];

    /// <summary>Drops a dense or sparse vector and its data. Caller holds the write lock.</summary>
    internal void RemoveVector(string name)
    {
        Slots = [.. Slots.Where(s => s.Name != name)];
        SparseSlots = [.. SparseSlots.Where(s => s.Name != name)];
    }

    public SparseSlot? SparseSlot(string name)
    {
        foreach (var slot in SparseSlots)
        {
            if (slot.Name == name)
            {
                return slot;
            }
        }

        return null;
    }

    /// <summary>Offsets in use (live and tombstoned).</summary>
    public int Count => Volatile.Read(ref count);

    public int LiveCount => offsets.Count;

    public int DeletedCount => Count - LiveCount;

    public Bitmap Deleted { get; } = new();

    /// <summary>Live ids in id order (integers first, then UUIDs), from <paramref name="start"/> when given.</summary>
    public IEnumerable<PointId> OrderedIds(PointId? start = null) => offsets.Ordered(start);

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

    public bool TryGetOffset(PointId id, out int offset) => offsets.TryGetOffset(id, out offset);

    public PointId IdOf(int offset) =>
        UuidIds.Get(offset) ? PointId.FromUuidParts(idHigh![offset], idLow[offset]) : PointId.FromNumber(idLow[offset]);

    /// <summary>Offsets whose id is a UUID (the high half is then in <c>idHigh</c>).</summary>
    private Bitmap UuidIds { get; } = new();

    private void SetId(int offset, PointId id)
    {
        if (id.IsUuid)
        {
            idHigh ??= new OffsetArray<ulong>();
            idHigh.EnsureCapacity(idLow.Capacity);

            idHigh[offset] = id.UuidHigh;
            idLow[offset] = id.UuidLow;
            UuidIds.Set(offset);
        }
        else
        {
            idLow[offset] = id.Number;
            UuidIds.EnsureCapacity(offset + 1);
        }
    }

    public ulong VersionOf(int offset) => versions[offset];

    public PointPayload? PayloadObjectOf(int offset) => payloads.Get(offset);

    public JsonElement PayloadOf(int offset) => (payloads.Get(offset) ?? PointPayload.Empty).Root;

    public TextTokenizer? TextTokenizerFor(string key) =>
        payloadIndexes.Count != 0 && payloadIndexes.TryGetValue(key, out var index) ? index.Tokenizer : null;

    public bool HasVector(int offset, string vectorName) =>
        Slot(vectorName) is { } slot ? slot.Searchable.Get(offset) : SparseSlot(vectorName) is { } sparse && sparse.Searchable.Get(offset);

    public bool IsLive(int offset) => !Deleted.Get(offset) && offset < Count;

    /// <summary>Appends a new version of a point and makes it the live one (tombstoning an older offset).</summary>
    public int Append(PointId id, ulong version, PointPayload? payload, IReadOnlyDictionary<string, float[]> vectors, IReadOnlyDictionary<string, SparseVector>? sparse = null)
    {
        var offset = AppendCore(id, version, payload is { IsEmpty: true } ? null : payload, vectors, null, 0);
        foreach (var slot in SparseSlots)
        {
            slot.Set(offset, sparse is not null && sparse.TryGetValue(slot.Name, out var vector) ? vector : null);
        }

        return offset;
    }

    /// <summary>Appends a copy of <paramref name="offset"/> of <paramref name="source"/> (vacuum).</summary>
    internal int AppendCopy(CollectionState source, int offset)
    {
        var copy = AppendCore(source.IdOf(offset), source.versions[offset], source.payloads.Get(offset), null, source, offset);
        for (var i = 0; i < SparseSlots.Count; i++)
        {
            SparseSlots[i].Set(copy, source.SparseSlots[i].Get(offset));
        }

        return copy;
    }

    /// <summary>
    /// Vectors come from <paramref name="vectors"/>, or from the same slots of <paramref name="source"/>. A vector of
    /// another size than its slot's throws before anything changes: writes are validated before they reach the WAL, so
    /// only a damaged or mismatched log can carry one, and an acknowledged record is never silently dropped (the replay
    /// stops and the collection is reported failed, its files kept).
    /// </summary>
    private int AppendCore(PointId id, ulong version, PointPayload? payload, IReadOnlyDictionary<string, float[]>? vectors, CollectionState? source, int sourceOffset)
    {
        if (source is null)
        {
            foreach (var slot in Slots)
            {
                if (vectors!.TryGetValue(slot.Name, out var given) && given.Length > 0 && given.Length != slot.Dimension)
                {
                    throw new InvalidDataException($"Point {id}: vector `{slot.Name}` has {given.Length} dimensions, the collection's has {slot.Dimension}");
                }
            }
        }

        var offset = count;
        EnsureCapacity(offset + 1);
        SetId(offset, id);
        versions[offset] = version;
        payloads.Set(offset, payload);
        IndexPayload(offset, payload);
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
        var previous = offsets.Set(id, offset);
        if (previous >= 0)
        {
            Tombstone(previous);
        }

        Volatile.Write(ref count, offset + 1);
        return offset;
    }

    /// <summary>Marks an offset dead without touching the id maps.</summary>
    private void Tombstone(int offset)
    {
        Deleted.Set(offset);
        payloads.Set(offset, null);
        foreach (var slot in Slots)
        {
            slot.Searchable.Clear(offset);
        }

        foreach (var slot in SparseSlots)
        {
            slot.Remove(offset);
        }
    }

    public bool Delete(PointId id)
    {
        if (!offsets.Remove(id, out var offset))
        {
            return false;
        }

        Tombstone(offset);
        return true;
    }

    public void SetPayload(int offset, PointPayload? payload, ulong version)
    {
        payload = payload is { IsEmpty: true } ? null : payload;
        payloads.Set(offset, payload);
        versions[offset] = version;
        IndexPayload(offset, payload);
    }

    public void RemoveVector(int offset, VectorSlot slot, ulong version)
    {
        slot.Searchable.Clear(offset);
        versions[offset] = version;
    }

    public void RemoveSparseVector(int offset, SparseSlot slot, ulong version)
    {
        slot.Remove(offset);
        versions[offset] = version;
    }

    /// <summary>The stored sparse vectors of a live point, by name (shared, immutable), or null when it has none.</summary>
    public Dictionary<string, SparseVector>? SparseVectorsOf(int offset, IReadOnlyList<string>? names = null)
    {
        Dictionary<string, SparseVector>? result = null;
        foreach (var slot in SparseSlots)
        {
            if ((names is null || Contains(names, slot.Name)) && slot.Get(offset) is { } vector)
            {
                (result ??= new Dictionary<string, SparseVector>(StringComparer.Ordinal))[slot.Name] = vector;
            }
        }

        return result;
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
        if (needed <= idLow.Capacity)
        {
            return;
        }

        idLow.EnsureCapacity(needed);
        var size = idLow.Capacity;
        idHigh?.EnsureCapacity(size);
        versions.EnsureCapacity(size);
        payloads.EnsureCapacity(size);
    }

    /// <summary>Copies of the per-offset arrays up to <see cref="Count"/> (for checkpoints).</summary>
    public (PointId[] Ids, ulong[] Versions, PayloadSnapshot Payloads) SnapshotArrays()
    {
        var n = Count;
        var snapshot = new PointId[n];
        for (var i = 0; i < n; i++)
        {
            snapshot[i] = IdOf(i);
        }

        return (snapshot, versions.ToArray(n), payloads.Snapshot(n));
    }

    /// <summary>Restores one offset from a checkpoint. Vectors are loaded separately into the slots' stores.</summary>
    internal void RestoreOffset(PointId id, ulong version, PointPayload? payload, bool deleted)
    {
        var offset = count;
        EnsureCapacity(offset + 1);
        SetId(offset, id);
        versions[offset] = version;
        payloads.Set(offset, payload);
        Deleted.EnsureCapacity(offset + 1);
        if (deleted)
        {
            Deleted.Set(offset);
        }
        else
        {
            offsets.Set(id, offset);
            IndexPayload(offset, payload);
        }

        Volatile.Write(ref count, offset + 1);
    }

    /// <summary>Brings a copied offset up to date with its source after concurrent writes (vacuum swap).</summary>
    internal void RefreshCopy(CollectionState source, int sourceOffset, int offset)
    {
        if (source.Deleted.Get(sourceOffset))
        {
            var id = IdOf(offset);
            if (offsets.TryGetOffset(id, out var mapped) && mapped == offset)
            {
                offsets.Remove(id, out _);
            }

            Tombstone(offset);
            return;
        }

        versions[offset] = source.versions[sourceOffset];
        var copied = source.payloads.Get(sourceOffset);
        payloads.Set(offset, copied);
        IndexPayload(offset, copied);
        for (var i = 0; i < Slots.Count; i++)
        {
            if (!source.Slots[i].Searchable.Get(sourceOffset))
            {
                Slots[i].Searchable.Clear(offset);
            }
        }

        for (var i = 0; i < SparseSlots.Count; i++)
        {
            if (!source.SparseSlots[i].Searchable.Get(sourceOffset))
            {
                SparseSlots[i].Remove(offset);
            }
        }
    }
}

