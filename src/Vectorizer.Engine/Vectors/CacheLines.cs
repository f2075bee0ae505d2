using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace Vectorizer.Engine.Vectors;

/// <summary>Software prefetch of a node's data for the graph walks.</summary>
public static unsafe class CacheLines
{
    /// <summary>
    /// Cache lines requested per node. Measured with <c>bench ann-duel</c>: all seven lines of a 100-d vector pay
    /// (requesting three was 0.93× hnswlib, all of them 1.2–1.3×); of a 784-d vector's 49 lines, 8 are as good as
    /// more (the hardware's stream prefetcher keeps up with the rest) and better than all 49.
    /// </summary>
    public const int Limit = 8;

    /// <summary>
    /// Requests the cache lines of <paramref name="bytes"/> bytes at <paramref name="data"/>, at most
    /// <see cref="Limit"/>, into L2 (<c>prefetcht1</c>). A walk requests the data of a dozen or more neighbours at
    /// once; into L1 (<c>prefetcht0</c>) the requests stall on the few line-fill buffers, into L2 they do not
    /// (glove-100: 1.15–1.42× hnswlib with t0, 1.24–1.64× with t1 in five paired runs; even on fashion-mnist).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Prefetch(byte* data, int bytes)
    {
        if (Sse.IsSupported)
        {
            var last = data + Math.Min(bytes, Limit * 64) - 1;
            for (var p = data; p < last; p += 64)
            {
                Sse.Prefetch1(p);
            }

            // The line of the last byte (the data need not start on a line).
            Sse.Prefetch1(last);
        }
    }
}
