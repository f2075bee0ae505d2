using System.Runtime.CompilerServices;

namespace Vectorizer.Engine.Vectors;

/// <summary>
/// Fixed-dimension float32 vectors addressed by a dense offset, in native, 64-byte aligned chunks outside the GC
/// heap; pages are resident only once written. Growing never copies or moves existing vectors, so readers may
/// hold raw pointers while a single writer appends. Vectors are immutable once written.
/// <para>
/// In RAM and with <c>linkSlots</c> reserved, each vector is the payload of a <see cref="NodeArena"/> record whose
/// link header the HNSW graph fills (<see cref="Nodes"/>): the graph's layer 0 and the vectors are one array, as
/// in hnswlib, without a second copy of either. Otherwise (<c>on_disk</c> vectors, or no graph) the records are
/// the bare vectors. Either way the persisted form is the bare vectors, <see cref="ChunkCapacity"/> to a file
/// (<see cref="GetChunkBytes"/>, <see cref="AppendRaw"/>), so checkpoints do not depend on the layout in memory.
/// </para>
/// </summary>
public sealed unsafe class DenseVectorStore
{
    private readonly ChunkedArena arena;
    private readonly int vectorOffset;
    private int count;

    /// <param name="dimension">Floats per vector.</param>
    /// <param name="spillDirectory">When set, chunks are file-backed mappings in this directory (<c>on_disk</c> vectors).</param>
    /// <param name="linkSlots">Links to reserve before each vector for the graph's layer 0 (RAM only; 0: none).</param>
    public DenseVectorStore(int dimension, string? spillDirectory = null, int linkSlots = 0)
    {
        if (dimension <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(dimension));
        }

        Dimension = dimension;
        var vectorBytes = dimension * sizeof(float);
        ChunkCapacity = ChunkedArena.DefaultRecordsPerChunk(vectorBytes);
        if (linkSlots > 0 && spillDirectory is null)
        {
            Nodes = new NodeArena(linkSlots, vectorBytes, ChunkCapacity, payloadOwnerGrows: true);
            arena = Nodes.Records;
            vectorOffset = Nodes.PayloadOffset;
        }
        else
        {
            arena = new ChunkedArena(vectorBytes, spillDirectory, ChunkCapacity);
        }
    }

    public int Dimension { get; }

    /// <summary>True when the vectors live in memory-mapped files (the OS pages them in from disk on demand).</summary>
    public bool OnDisk => arena.OnDisk;

    /// <summary>The node records the vectors are the payload of (null when the vectors are stored bare).</summary>
    public NodeArena? Nodes { get; }

    public int ChunkShift => arena.ChunkShift;

    public int ChunkMask => arena.ChunkMask;

    /// <summary>Vectors per persisted chunk (and per chunk in memory).</summary>
    public int ChunkCapacity { get; }

    /// <summary>Bytes from one vector to the next within a chunk.</summary>
    public int RecordBytes => arena.RecordBytes;

    /// <summary>Offset of the vector within its record.</summary>
    public int VectorOffset => vectorOffset;

    /// <summary>Number of vectors published to readers.</summary>
    public int Count => Volatile.Read(ref count);

    /// <summary>Bytes of vector data held (pages past the last vector are never touched, so never resident).</summary>
    public long AllocatedBytes => (long)Count * Dimension * sizeof(float);

    /// <summary>The current chunk table (pinned); valid for every offset below the <see cref="Count"/> read before it.</summary>
    public nint[] ChunkPointers => arena.ChunkPointers;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float* GetPointer(int offset) => (float*)(arena.GetPointer(offset) + vectorOffset);

    /// <summary>A view of one vector; valid while this store is reachable.</summary>
    public ReadOnlySpan<float> Get(int offset)
    {
        if ((uint)offset >= (uint)Count)
        {
            throw new ArgumentOutOfRangeException(nameof(offset));
        }

        return new ReadOnlySpan<float>(GetPointer(offset), Dimension);
    }

    /// <summary>Appends a vector (already preprocessed) and returns its offset. Single writer only.</summary>
    public int Append(ReadOnlySpan<float> vector)
    {
        if (vector.Length != Dimension)
        {
            throw new ArgumentException($"Expected {Dimension} dimensions, got {vector.Length}.", nameof(vector));
        }

        var offset = count;
        arena.EnsureCapacity(offset + 1);
        vector.CopyTo(new Span<float>(GetPointer(offset), Dimension));
        Volatile.Write(ref count, offset + 1);
        return offset;
    }

    /// <summary>Appends a zero vector (a placeholder for a point that lacks this vector).</summary>
    public int AppendEmpty()
    {
        var offset = count;
        arena.EnsureCapacity(offset + 1);
        new Span<float>(GetPointer(offset), Dimension).Clear();
        Volatile.Write(ref count, offset + 1);
        return offset;
    }

    /// <summary>Makes room for <paramref name="capacity"/> vectors without publishing them.</summary>
    public void EnsureCapacity(int capacity) => arena.EnsureCapacity(capacity);

    /// <summary>
    /// The bare vectors of the first <paramref name="vectorsInChunk"/> offsets of persisted chunk
    /// <paramref name="chunkIndex"/>: a view of the store when vectors are stored bare, else a copy.
    /// </summary>
    public ReadOnlySpan<byte> GetChunkBytes(int chunkIndex, int vectorsInChunk)
    {
        if (vectorOffset == 0 && arena.RecordBytes == Dimension * sizeof(float))
        {
            return arena.GetChunkBytes(chunkIndex, vectorsInChunk);
        }

        var vectorBytes = Dimension * sizeof(float);
        var copy = GC.AllocateUninitializedArray<byte>(vectorsInChunk * vectorBytes);
        var first = chunkIndex * ChunkCapacity;
        for (var i = 0; i < vectorsInChunk; i++)
        {
            new ReadOnlySpan<byte>(GetPointer(first + i), vectorBytes).CopyTo(copy.AsSpan(i * vectorBytes, vectorBytes));
        }

        GC.KeepAlive(this);
        return copy;
    }

    /// <summary>Bulk-loads bare vector bytes at the end of the store (used by recovery).</summary>
    public void AppendRaw(ReadOnlySpan<byte> bytes)
    {
        var vectorBytes = Dimension * sizeof(float);
        var vectors = bytes.Length / vectorBytes;
        if (vectors * vectorBytes != bytes.Length)
        {
            throw new ArgumentException("Byte length is not a whole number of vectors.", nameof(bytes));
        }

        var start = count;
        arena.EnsureCapacity(start + vectors);
        if (vectorOffset == 0 && arena.RecordBytes == vectorBytes)
        {
            var copied = 0;
            while (copied < vectors)
            {
                var offset = start + copied;
                var inChunk = Math.Min(vectors - copied, arena.ChunkCapacity - (offset & ChunkMask));
                bytes.Slice(copied * vectorBytes, inChunk * vectorBytes).CopyTo(new Span<byte>(GetPointer(offset), inChunk * vectorBytes));
                copied += inChunk;
            }
        }
        else
        {
            for (var i = 0; i < vectors; i++)
            {
                bytes.Slice(i * vectorBytes, vectorBytes).CopyTo(new Span<byte>(GetPointer(start + i), vectorBytes));
            }
        }

        Volatile.Write(ref count, start + vectors);
    }
}
