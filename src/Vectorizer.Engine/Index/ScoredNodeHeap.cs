using System.Runtime.CompilerServices;

namespace Vectorizer.Engine.Index;

/// <summary>
/// The one binary heap of <see cref="ScoredNode"/>s, ordered by distance: a min-heap (closest on top: the HNSW
/// candidate queue) and a max-heap (farthest on top: the best-k results, whose top is the one to evict). It works on a
/// <c>ref</c> to the first element and a count, with no bounds checks, so the layer-0 walk can keep its heaps in
/// locals; <see cref="SearchContext"/> wraps it for everyone else (growing the arrays). Callers make room first.
/// </summary>
internal static class ScoredNodeHeap
{
    /// <summary>Adds <paramref name="item"/> at index <paramref name="count"/> of a min-heap and sifts it up.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void HeapPushMin(ref ScoredNode heap, int count, ScoredNode item)
    {
        var i = count;
        while (i > 0)
        {
            var parent = (i - 1) >> 1;
            ref var p = ref Unsafe.Add(ref heap, parent);
            if (p.Distance <= item.Distance)
            {
                break;
            }

            Unsafe.Add(ref heap, i) = p;
            i = parent;
        }

        Unsafe.Add(ref heap, i) = item;
    }

    /// <summary>Removes the top of a min-heap whose last element is at <paramref name="last"/> (the new count).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void HeapPopMin(ref ScoredNode heap, int last)
    {
        var item = Unsafe.Add(ref heap, last);
        var i = 0;
        while (true)
        {
            var child = (2 * i) + 1;
            if (child >= last)
            {
                break;
            }

            if (child + 1 < last && Unsafe.Add(ref heap, child + 1).Distance < Unsafe.Add(ref heap, child).Distance)
            {
                child++;
            }

            ref var c = ref Unsafe.Add(ref heap, child);
            if (c.Distance >= item.Distance)
            {
                break;
            }

            Unsafe.Add(ref heap, i) = c;
            i = child;
        }

        Unsafe.Add(ref heap, i) = item;
    }

    /// <summary>Adds <paramref name="item"/> at index <paramref name="count"/> of a max-heap and sifts it up.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void HeapPushMax(ref ScoredNode heap, int count, ScoredNode item)
    {
        var i = count;
        while (i > 0)
        {
            var parent = (i - 1) >> 1;
            ref var p = ref Unsafe.Add(ref heap, parent);
            if (p.Distance >= item.Distance)
            {
                break;
            }

            Unsafe.Add(ref heap, i) = p;
            i = parent;
        }

        Unsafe.Add(ref heap, i) = item;
    }

    /// <summary>Removes the top of a max-heap whose last element is at <paramref name="last"/> (the new count).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void HeapPopMax(ref ScoredNode heap, int last)
    {
        var item = Unsafe.Add(ref heap, last);
        var i = 0;
        while (true)
        {
            var child = (2 * i) + 1;
            if (child >= last)
            {
                break;
            }

            if (child + 1 < last && Unsafe.Add(ref heap, child + 1).Distance > Unsafe.Add(ref heap, child).Distance)
            {
                child++;
            }

            ref var c = ref Unsafe.Add(ref heap, child);
            if (c.Distance <= item.Distance)
            {
                break;
            }

            Unsafe.Add(ref heap, i) = c;
            i = child;
        }

        Unsafe.Add(ref heap, i) = item;
    }
}
