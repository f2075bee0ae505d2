using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace Vectorizer.Engine.Vectors;

/// <summary>Software prefetch of a node's data for the graph walks.</summary>
public static unsafe class CacheLines
{
    /// <summary>
    /// Cache lines requested per node. Measured (ann-duel): all seven lines of a 100-d vector pay (requesting three
    /// was 0.93× hnswlib, all of them 1.2–1.3×); of a 784-d vector's 49 lines, 8 are as good as more (the hardware's
    /// stream prefetcher keeps up with the rest) and better than all 49 (too many requests in flight).
    /// </summary>
    public const int Limit = 8;

    /// <summary>Requests the cache lines of <paramref name="bytes"/> bytes at <paramref name="data"/>, at most <see cref="Limit"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Prefetch(byte* data, int bytes)
    {
        if (Sse.IsSupported)
        {
            var last = data + Math.Min(bytes, Limit * 64) - 1;
            for (var p = data; p < last; p += 64)
            {
                Sse.Prefetch0(p);
            }

            // The line of the last byte (the data need not start on a line).
            Sse.Prefetch0(last);
        }
    }
}
