using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Memory;

namespace Vectorizer.Engine.Payload;

/// <summary>
/// The payloads of a segment, by offset. In RAM they are parsed objects. With <c>on_disk_payload</c> they are
/// minified UTF-8 JSON appended to a log of memory-mapped, file-backed blocks (the kernel pages them in and out)
/// and parsed when read; the last payload read on each thread is kept, so a filter with several conditions parses
/// a point once. Replaced payloads stay in the log until the segment is vacuumed (a new store is written then).
/// Mutated under the collection's write lock; read under its read lock, or through a <see cref="PayloadSnapshot"/>
/// (positions are immutable once written) by the checkpoint writer.
/// </summary>
public sealed unsafe class PayloadStore
{
    private const int BlockBytes = 16 << 20;

    private static long nextId;

    [ThreadStatic]
    private static LastRead? lastRead;

    // The cache names its store by number, not by reference, so a thread's last read never keeps a dropped store
    // (and its mapped blocks) alive.
    private readonly long id = Interlocked.Increment(ref nextId);
    private readonly string? spillDirectory;
    private readonly List<NativeBlock> blocks = [];
    private readonly OffsetArray<PointPayload?> objects = new(null, lazy: true);
    private readonly OffsetArray<long> positions = new(-1);
    private readonly OffsetArray<int> lengths = new();
    private nint[] blockPointers = [];
    private int tailUsed;
    private long version;

    /// <param name="spillDirectory">Where the log's blocks are mapped; null keeps payloads in RAM.</param>
    public PayloadStore(string? spillDirectory)
    {
        this.spillDirectory = spillDirectory;
        EnsureCapacity(1024);
    }

    /// <summary>True when payloads live in the memory-mapped log.</summary>
    public bool OnDisk => spillDirectory is not null;

    /// <summary>Bytes of the log written so far (live payloads and replaced ones).</summary>
    public long LogBytes { get; private set; }

    public PointPayload? Get(int offset)
    {
        if (!OnDisk)
        {
            return objects.Get(offset);
        }

        var cached = lastRead;
        if (cached is not null && cached.StoreId == id && cached.Offset == offset && cached.Version == version)
        {
            return cached.Payload;
        }

        var payload = Read(blockPointers, positions[offset], lengths[offset]);
        lastRead = new LastRead(id, offset, version, payload);
        return payload;
    }

    public void Set(int offset, PointPayload? payload)
    {
        version++;
        if (!OnDisk)
        {
            objects.Set(offset, payload);
            return;
        }

        if (payload is null)
        {
            positions[offset] = -1;
            lengths[offset] = 0;
            return;
        }

        var bytes = payload.ToUtf8();
        positions[offset] = Append(bytes);
        lengths[offset] = bytes.Length;
    }

    public void EnsureCapacity(int size)
    {
        if (OnDisk)
        {
            positions.EnsureCapacity(size);
            lengths.EnsureCapacity(size);
        }
        else
        {
            objects.EnsureCapacity(size);
        }
    }

    /// <summary>The payloads of offsets below <paramref name="count"/> as they are now.</summary>
    public PayloadSnapshot Snapshot(int count) =>
        OnDisk ? new PayloadSnapshot(this, null, positions.ToArray(count), lengths.ToArray(count), blockPointers) : new PayloadSnapshot(this, objects.ToArray(count), null, null, null);

    internal static PointPayload? Read(nint[] blockPointers, long position, int length) =>
        position < 0 ? null : PointPayload.FromUtf8(new ReadOnlySpan<byte>((byte*)blockPointers[(int)(position >> 32)] + (int)position, length));

    private long Append(ReadOnlySpan<byte> bytes)
    {
        if (blocks.Count == 0 || tailUsed + bytes.Length > blocks[^1].Length)
        {
            var block = new NativeBlock(Math.Max(BlockBytes, bytes.Length), spillDirectory);
            blocks.Add(block);
            var pointers = new nint[blocks.Count];
            blockPointers.CopyTo(pointers, 0);
            pointers[^1] = block.Pointer;
            blockPointers = pointers;
            tailUsed = 0;
        }

        var position = ((long)(blocks.Count - 1) << 32) | (uint)tailUsed;
        bytes.CopyTo(new Span<byte>((byte*)blocks[^1].Pointer + tailUsed, bytes.Length));
        tailUsed += bytes.Length;
        LogBytes += bytes.Length;
        return position;
    }

    private sealed record LastRead(long StoreId, int Offset, long Version, PointPayload? Payload);
}

/// <summary>The payloads of a segment at one moment (for checkpoints), readable without the collection's lock.</summary>
public readonly struct PayloadSnapshot
{
    private readonly PayloadStore owner;
    private readonly PointPayload?[]? objects;
    private readonly long[]? positions;
    private readonly int[]? lengths;
    private readonly nint[]? blockPointers;

    internal PayloadSnapshot(PayloadStore owner, PointPayload?[]? objects, long[]? positions, int[]? lengths, nint[]? blockPointers)
    {
        this.owner = owner;
        this.objects = objects;
        this.positions = positions;
        this.lengths = lengths;
        this.blockPointers = blockPointers;
    }

    public PointPayload? Get(int offset)
    {
        var payload = objects is not null ? objects[offset] : PayloadStore.Read(blockPointers!, positions![offset], lengths![offset]);
        GC.KeepAlive(owner);
        return payload;
    }
}
