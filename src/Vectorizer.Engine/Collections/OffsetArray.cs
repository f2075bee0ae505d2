using System.Runtime.CompilerServices;

namespace Vectorizer.Engine.Collections;

/// <summary>
/// One value per offset (ids, versions, payloads), in chunks of <see cref="ChunkLength"/> values: growing adds a chunk
/// and never copies or frees the values already stored. A single array grown by half each time (what this replaces)
/// left every outgrown copy on the large object heap, where only a full collection frees it and the space stays
/// committed as fragmentation: 14 MiB at the end of a 331k-point build, besides up to half an array of unused tail
/// (bench/results/targets.md, issue 18). A chunk of 8-byte values is 64 KiB, under the large object heap's threshold,
/// so chunks are compacted like any small object. The first chunk starts small and grows to full size, so a small
/// collection costs what it did. Mutated under the collection's write lock, read under its read lock (or by one writer).
/// </summary>
internal sealed class OffsetArray<T>
{
    private const int ChunkShift = 13;
    private const int ChunkLength = 1 << ChunkShift;
    private const int ChunkMask = ChunkLength - 1;
    private const int FirstLength = 1024;

    private readonly T fill;
    private readonly bool lazy;
    private T[]?[] chunks = [];
    private int capacity;

    /// <param name="fill">The value of an offset never written (default: <c>default(T)</c>).</param>
    /// <param name="lazy">
    /// Allocate a chunk only when a value other than <paramref name="fill"/> is first written into it (payloads:
    /// most collections of bare vectors never store one); read and write through <see cref="Get"/> and <see cref="Set"/>.
    /// </param>
    public OffsetArray(T fill = default!, bool lazy = false)
    {
        this.fill = fill;
        this.lazy = lazy;
    }

    /// <summary>Offsets below this have storage.</summary>
    public int Capacity => capacity;

    /// <summary>The value at <paramref name="offset"/>, by reference (not for a lazy array).</summary>
    public ref T this[int offset]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => ref chunks[offset >> ChunkShift]![offset & ChunkMask];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public T Get(int offset) => chunks[offset >> ChunkShift] is { } chunk ? chunk[offset & ChunkMask] : fill;

    public void Set(int offset, T value)
    {
        var c = offset >> ChunkShift;
        if (chunks[c] is not { } chunk)
        {
            if (EqualityComparer<T>.Default.Equals(value, fill))
            {
                return;
            }

            chunks[c] = chunk = NewChunk(c == 0 ? Math.Min(capacity, ChunkLength) : ChunkLength);
        }

        chunk[offset & ChunkMask] = value;
    }

    /// <summary>Storage for offsets below <paramref name="size"/>.</summary>
    public void EnsureCapacity(int size)
    {
        if (size <= capacity)
        {
            return;
        }

        if (size <= ChunkLength)
        {
            // The first chunk grows by doubling up to its full length.
            var length = Math.Min(ChunkLength, Math.Max(size, Math.Max(FirstLength, capacity * 2)));
            if (chunks.Length == 0)
            {
                chunks = [lazy ? null : NewChunk(length)];
            }
            else if (chunks[0] is { } old)
            {
                var first = NewChunk(length);
                old.CopyTo(first, 0);
                chunks[0] = first;
            }

            capacity = length;
            return;
        }

        var needed = (int)(((long)size + ChunkMask) >> ChunkShift);
        var grown = new T[]?[needed];
        chunks.CopyTo(grown, 0);
        if (grown[0] is { Length: < ChunkLength } small)
        {
            var full = NewChunk(ChunkLength);
            small.CopyTo(full, 0);
            grown[0] = full;
        }

        for (var c = 0; c < needed; c++)
        {
            if (grown[c] is null && !lazy)
            {
                grown[c] = NewChunk(ChunkLength);
            }
        }

        chunks = grown;
        capacity = needed << ChunkShift;
    }

    /// <summary>A copy of the values of offsets below <paramref name="count"/>.</summary>
    public T[] ToArray(int count)
    {
        var copy = new T[count];
        for (int c = 0, start = 0; start < count; c++, start += ChunkLength)
        {
            var part = copy.AsSpan(start, Math.Min(ChunkLength, count - start));
            if (chunks[c] is { } chunk)
            {
                chunk.AsSpan(0, part.Length).CopyTo(part);
            }
            else
            {
                part.Fill(fill);
            }
        }

        return copy;
    }

    private T[] NewChunk(int length)
    {
        var chunk = new T[length];
        if (!EqualityComparer<T>.Default.Equals(fill, default!))
        {
            chunk.AsSpan().Fill(fill);
        }

        return chunk;
    }
}
