using System.Numerics;
using System.Runtime.CompilerServices;

namespace Vectorizer.Engine.Vectors;

/// <summary>
/// Fixed-dimension float32 vectors addressed by a dense offset. Storage is a list of pinned chunks (a power of
/// two vectors each, at most 4 MiB), so growing never copies or moves existing vectors: readers may hold raw
/// pointers while a single writer appends. Vectors are immutable once written.
/// </summary>
public sealed unsafe class DenseVectorStore
{
    private const int TargetChunkBytes = 4 << 20;
    private const int MaxChunkVectors = 1 << 16;

    private readonly List<float[]> chunks = [];
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

    /// <summary>Bytes of vector data allocated (chunks are allocated whole).</summary>
    public long AllocatedBytes => (long)chunks.Count * ChunkCapacity * Dimension * sizeof(float);

    /// <summary>The current chunk table; valid for every offset below the <see cref="Count"/> read before it.</summary>
    public nint[] ChunkPointers => Volatile.Read(ref chunkPointers);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float* GetPointer(int offset) =>
        (float*)ChunkPointers[offset >> ChunkShift] + ((long)(offset & ChunkMask) * Dimension);

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

        // The table is pinned too, so hot loops can index it through a raw pointer without bounds checks.
        var pointers = GC.AllocateArray<nint>(needed, pinned: true);
        Array.Copy(chunkPointers, pointers, chunkPointers.Length);
        for (var c = chunks.Count; c < needed; c++)
        {
            var chunk = GC.AllocateArray<float>(ChunkCapacity * Dimension, pinned: true);
            chunks.Add(chunk);
            pointers[c] = (nint)Unsafe.AsPointer(ref chunk[0]);
        }

        Volatile.Write(ref chunkPointers, pointers);
    }

    /// <summary>Raw bytes of the vectors in [<paramref name="start"/>, <paramref name="start"/> + n) within one chunk.</summary>
    public ReadOnlySpan<byte> GetChunkBytes(int chunkIndex, int vectorsInChunk) =>
        new((void*)ChunkPointers[chunkIndex], vectorsInChunk * Dimension * sizeof(float));

    /// <summary>Bulk-loads a whole chunk's worth of raw vector bytes at the end of the store (used by recovery).</summary>
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
