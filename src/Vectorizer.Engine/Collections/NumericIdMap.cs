using System.Numerics;
using System.Runtime.CompilerServices;

namespace Vectorizer.Engine.Collections;

/// <summary>
/// An open-addressing hash map from integer point ids to offsets: two parallel arrays (12 bytes a slot, load at
/// most 3/4) instead of a Dictionary's 24-byte entries plus buckets. Linear probing with backward-shift deletion,
/// so there are no tombstones. Not thread-safe: mutated under the collection's write lock.
/// <para>
/// The two arrays are kept in chunks of 8,192 slots (64 KiB of keys), under the large object heap's threshold: a
/// table that doubled as one array left each outgrown copy on the large object heap, where it stays committed as
/// fragmentation until a full collection (6 MiB of a 331k-point build; issue 18); small chunks are compacted away.
/// </para>
/// </summary>
public sealed class NumericIdMap
{
    private const int Empty = -1;
    private Slots<ulong> keys;
    private Slots<int> values;
    private int mask;

    public NumericIdMap(int capacity = 16)
    {
        var size = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, capacity * 4 / 3 + 1));
        keys = new Slots<ulong>(size, 0);
        values = new Slots<int>(size, Empty);
        mask = size - 1;
    }

    public int Count { get; private set; }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Hash(ulong key)
    {
        // Fibonacci hashing spreads sequential ids across the table.
        return (int)((key * 0x9E3779B97F4A7C15UL) >> 32);
    }

    public bool TryGetValue(ulong key, out int value)
    {
        var index = Hash(key) & mask;
        while (true)
        {
            var v = values[index];
            if (v == Empty)
            {
                value = 0;
                return false;
            }

            if (keys[index] == key)
            {
                value = v;
                return true;
            }

            index = (index + 1) & mask;
        }
    }

    /// <summary>Sets the value; returns true when the key was new.</summary>
    public bool Set(ulong key, int value, out int previous)
    {
        if ((Count + 1) * 4 > keys.Length * 3)
        {
            Grow();
        }

        var index = Hash(key) & mask;
        while (true)
        {
            var v = values[index];
            if (v == Empty)
            {
                keys[index] = key;
                values[index] = value;
                Count++;
                previous = 0;
                return true;
            }

            if (keys[index] == key)
            {
                previous = v;
                values[index] = value;
                return false;
            }

            index = (index + 1) & mask;
        }
    }

    public bool Remove(ulong key, out int value)
    {
        var index = Hash(key) & mask;
        while (true)
        {
            var v = values[index];
            if (v == Empty)
            {
                value = 0;
                return false;
            }

            if (keys[index] == key)
            {
                value = v;
                break;
            }

            index = (index + 1) & mask;
        }

        // Backward-shift: move later entries of the same probe run into the hole.
        var hole = index;
        var next = (hole + 1) & mask;
        while (values[next] != Empty)
        {
            var home = Hash(keys[next]) & mask;
            if (((next - home) & mask) >= ((next - hole) & mask))
            {
                keys[hole] = keys[next];
                values[hole] = values[next];
                hole = next;
            }

            next = (next + 1) & mask;
        }

        values[hole] = Empty;
        Count--;
        return true;
    }

    public IEnumerable<ulong> Keys
    {
        get
        {
            for (var i = 0; i < keys.Length; i++)
            {
                if (values[i] != Empty)
                {
                    yield return keys[i];
                }
            }
        }
    }

    private void Grow()
    {
        var oldKeys = keys;
        var oldValues = values;
        keys = new Slots<ulong>(oldKeys.Length * 2, 0);
        values = new Slots<int>(oldKeys.Length * 2, Empty);
        mask = keys.Length - 1;
        for (var i = 0; i < oldKeys.Length; i++)
        {
            if (oldValues[i] != Empty)
            {
                var index = Hash(oldKeys[i]) & mask;
                while (values[index] != Empty)
                {
                    index = (index + 1) & mask;
                }

                keys[index] = oldKeys[i];
                values[index] = oldValues[i];
            }
        }
    }

    /// <summary>A fixed number of slots (a power of two) in chunks of at most 8,192.</summary>
    private readonly struct Slots<T>
    {
        private const int ChunkShift = 13;
        private const int ChunkMask = (1 << ChunkShift) - 1;
        private readonly T[][] chunks;

        public Slots(int length, T fill)
        {
            Length = length;
            var chunkLength = Math.Min(length, 1 << ChunkShift);
            chunks = new T[length / chunkLength][];
            for (var c = 0; c < chunks.Length; c++)
            {
                chunks[c] = new T[chunkLength];
                if (!EqualityComparer<T>.Default.Equals(fill, default!))
                {
                    chunks[c].AsSpan().Fill(fill);
                }
            }
        }

        public int Length { get; }

        public ref T this[int index]
        {
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            get => ref chunks[index >> ChunkShift][index & ChunkMask];
        }
    }
}
