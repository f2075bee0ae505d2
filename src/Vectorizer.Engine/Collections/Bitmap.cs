using System.Numerics;
using System.Runtime.CompilerServices;

namespace Vectorizer.Engine.Collections;

/// <summary>A growable bit set over point offsets. Mutated only under the collection's write lock.</summary>
public sealed class Bitmap
{
    private ulong[] words;
    private int setCount;

    public Bitmap(int capacityBits = 64)
    {
        words = new ulong[Math.Max(1, (capacityBits + 63) >> 6)];
    }

    private Bitmap(ulong[] words)
    {
        this.words = words;
    }

    /// <summary>The backing words; valid for reading while the caller holds the collection lock.</summary>
    public ulong[] Words => words;

    /// <summary>Number of set bits.</summary>
    public int SetCount => setCount;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Get(int index)
    {
        var w = words;
        var word = index >> 6;
        return (uint)word < (uint)w.Length && (w[word] & (1UL << index)) != 0;
    }

    public void Set(int index)
    {
        EnsureCapacity(index + 1);
        ref var word = ref words[index >> 6];
        var mask = 1UL << index;
        if ((word & mask) == 0)
        {
            word |= mask;
            setCount++;
        }
    }

    public void Clear(int index)
    {
        var w = index >> 6;
        if (w < words.Length && (words[w] & (1UL << index)) != 0)
        {
            words[w] &= ~(1UL << index);
            setCount--;
        }
    }

    public void EnsureCapacity(int bits)
    {
        var needed = (bits + 63) >> 6;
        if (needed > words.Length)
        {
            var grown = new ulong[Math.Max(needed, words.Length * 2)];
            Array.Copy(words, grown, words.Length);
            words = grown;
        }
    }

    /// <summary>Number of set bits among the first <paramref name="bits"/> positions.</summary>
    public int CountBelow(int bits)
    {
        var total = 0;
        var full = Math.Min(bits >> 6, words.Length);
        for (var i = 0; i < full; i++)
        {
            total += BitOperations.PopCount(words[i]);
        }

        var rest = bits & 63;
        if (rest != 0 && full < words.Length)
        {
            total += BitOperations.PopCount(words[full] & ((1UL << rest) - 1));
        }

        return total;
    }

    /// <summary>A copy of the first <paramref name="bits"/> positions.</summary>
    public ulong[] Snapshot(int bits)
    {
        var copy = new ulong[(bits + 63) >> 6];
        Array.Copy(words, copy, Math.Min(copy.Length, words.Length));
        if ((bits & 63) != 0 && copy.Length > 0)
        {
            copy[^1] &= (1UL << (bits & 63)) - 1;
        }

        return copy;
    }

    public static Bitmap FromWords(ulong[] words)
    {
        var bitmap = new Bitmap(words.Length == 0 ? new ulong[1] : words);
        foreach (var word in bitmap.words)
        {
            bitmap.setCount += BitOperations.PopCount(word);
        }

        return bitmap;
    }
}
