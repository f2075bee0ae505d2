using System.Numerics;
using System.Runtime.CompilerServices;

namespace Vectorizer.Engine.Collections;

/// <summary>
/// An open-addressing hash map from integer point ids to offsets: two parallel arrays (12 bytes a slot, load at
/// most 3/4) instead of a Dictionary's 24-byte entries plus buckets. Linear probing with backward-shift deletion,
/// so there are no tombstones. Not thread-safe: mutated under the collection's write lock.
/// </summary>
public sealed class NumericIdMap
{
    private const int Empty = -1;
    private ulong[] keys;
    private int[] values;
    private int mask;

    public NumericIdMap(int capacity = 16)
    {
        var size = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, capacity * 4 / 3 + 1));
        keys = new ulong[size];
        values = new int[size];
        Array.Fill(values, Empty);
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
        keys = new ulong[oldKeys.Length * 2];
        values = new int[oldKeys.Length * 2];
        Array.Fill(values, Empty);
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
}
