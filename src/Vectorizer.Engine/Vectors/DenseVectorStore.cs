using System.Numerics;
using System.Runtime.CompilerServices;
using Vectorizer.Engine.Memory;

namespace Vectorizer.Engine.Vectors;

/// <summary>
/// Fixed-dimension float32 vectors addressed by a dense offset. Storage is a list of native, 64-byte aligned
/// chunks (a power of two vectors each, at most 16 MiB) outside the GC heap; pages are resident only once
/// written. Growing never copies or moves existing vectors, so readers may hold raw pointers while a single
/// writer appends. Vectors are immutable once written.
/// </summary>
public sealed unsafe class DenseVectorStore
{
    private const int TargetChunkBytes = 16 << 20;
    private const int MaxChunkVectors = 1 << 16;

    private readonly List<NativeBlock> chunks = [];
    private nint[] chunkPointers = [];
    private int count;

    public DenseVectorStore(int dimension)
    {
        if (dimension <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(dimension));
        }

        Dimension = dimension;
        var perChunk = Math.Max(1, TargetChunkBytes / (dimension * sizeof(float)));
        perChunk = Math.Min(MaxChunkVectors, (int)BitOperations.RoundUpToPowerOf2((uint)perChunk + 1) >> 1);
        ChunkShift = BitOperations.Log2((uint)perChunk);
        ChunkMask = perChunk - 1;
    }

    public int Dimension { get; }

    public int ChunkShift { get; }

    public int ChunkMask { get; }

    public int ChunkCapacity => ChunkMask + 1;

    /// <summary>Number of vectors published to readers.</summary>
    public int Count => Volatile.Read(ref count);

    /// <summary>Bytes of vector data held (pages past the last vector are never touched, so never resident).</summary>
    public long AllocatedBytes => (long)Count * Dimension * sizeof(float);

    /// <summary>The current chunk table (pinned); valid for every offset below the <see cref="Count"/> read before it.</summary>
    public nint[] ChunkPointers => Volatile.Read(ref chunkPointers);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float* GetPointer(int offset) =>
        (float*)ChunkPointers[offset >> ChunkShift] + ((long)(offset & ChunkMask) * Dimension);

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
        EnsureCapacity(offset + 1);
        vector.CopyTo(new Span<float>(GetPointer(offset), Dimension));
        Volatile.Write(ref count, offset + 1);
        return offset;
    }

    /// <summary>Appends a zero vector (a placeholder for a point that lacks this vector).</summary>
    public int AppendEmpty()
    {
        var offset = count;
        EnsureCapacity(offset + 1);
        new Span<float>(GetPointer(offset), Dimension).Clear();
        Volatile.Write(ref count, offset + 1);
        return offset;
    }

    /// <summary>Makes room for <paramref name="capacity"/> vectors without publishing them.</summary>
    public void EnsureCapacity(int capacity)
    {
        var needed = (int)(((long)capacity + ChunkMask) >> ChunkShift);
        if (needed <= chunks.Count)
        {
            return;
        }

        var pointers = GC.AllocateArray<nint>(needed, pinned: true);
        Array.Copy(chunkPointers, pointers, chunkPointers.Length);
        for (var c = chunks.Count; c < needed; c++)
        {
            var block = new NativeBlock((long)ChunkCapacity * Dimension * sizeof(float));
            chunks.Add(block);
            pointers[c] = block.Pointer;
        }

        Volatile.Write(ref chunkPointers, pointers);
    }

    /// <summary>Raw bytes of the first <paramref name="vectorsInChunk"/> vectors of a chunk; valid while this store is reachable.</summary>
    public ReadOnlySpan<byte> GetChunkBytes(int chunkIndex, int vectorsInChunk) =>
        chunks[chunkIndex].AsSpan(0, vectorsInChunk * Dimension * sizeof(float));

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
        EnsureCapacity(start + vectors);
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
