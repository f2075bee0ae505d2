using System.Runtime.CompilerServices;

namespace Vectorizer.Engine.Vectors;

/// <summary>
/// Fixed-dimension float32 vectors addressed by a dense offset, in a <see cref="ChunkedArena"/>: native,
/// 64-byte aligned chunks (a power of two vectors each, at most 16 MiB) outside the GC heap; pages are resident
/// only once written. Growing never copies or moves existing vectors, so readers may hold raw pointers while a single
/// writer appends. Vectors are immutable once written.
/// </summary>
public sealed unsafe class DenseVectorStore
{
    private readonly ChunkedArena arena;
    private int count;

    /// <param name="dimension">Floats per vector.</param>
    /// <param name="spillDirectory">When set, chunks are file-backed mappings in this directory (<c>on_disk</c> vectors).</param>
    public DenseVectorStore(int dimension, string? spillDirectory = null)
    {
        if (dimension <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(dimension));
        }

        Dimension = dimension;
        arena = new ChunkedArena(dimension * sizeof(float), spillDirectory);
    }

    public int Dimension { get; }

    /// <summary>True when the vectors live in memory-mapped files (the OS pages them in from disk on demand).</summary>
    public bool OnDisk => arena.OnDisk;

    public int ChunkShift => arena.ChunkShift;

    public int ChunkMask => arena.ChunkMask;

    public int ChunkCapacity => arena.ChunkCapacity;

    /// <summary>Number of vectors published to readers.</summary>
    public int Count => Volatile.Read(ref count);

    /// <summary>Bytes of vector data held (pages past the last vector are never touched, so never resident).</summary>
    public long AllocatedBytes => (long)Count * Dimension * sizeof(float);

    /// <summary>The current chunk table (pinned); valid for every offset below the <see cref="Count"/> read before it.</summary>
    public nint[] ChunkPointers => arena.ChunkPointers;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float* GetPointer(int offset) => (float*)arena.GetPointer(offset);

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

    /// <summary>Raw bytes of the first <paramref name="vectorsInChunk"/> vectors of a chunk; valid while this store is reachable.</summary>
    public ReadOnlySpan<byte> GetChunkBytes(int chunkIndex, int vectorsInChunk) => arena.GetChunkBytes(chunkIndex, vectorsInChunk);

    /// <summary>Bulk-loads raw vector bytes at the end of the store (used by recovery).</summary>
    public void AppendRaw(ReadOnlySpan<byte> bytes)
    {
        var vectors = bytes.Length / (Dimension * sizeof(float));
        if (vectors * Dimension * sizeof(float) != bytes.Length)
        {
            throw new ArgumentException("Byte length is not a whole number of vectors.", nameof(bytes));
        }

        var floats = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes);
        var start = count;
        arena.EnsureCapacity(start + vectors);
        var copied = 0;
        while (copied < vectors)
        {
            var offset = start + copied;
            var inChunk = Math.Min(vectors - copied, ChunkCapacity - (offset & ChunkMask));
            floats.Slice(copied * Dimension, inChunk * Dimension)
                .CopyTo(new Span<float>(GetPointer(offset), inChunk * Dimension));
            copied += inChunk;
        }

        Volatile.Write(ref count, start + vectors);
    }
}
