using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace Vectorizer.Engine.Index;

public sealed partial class HnswGraph
{
    /// <summary>
    /// Beam search on layer 0, the hot loop of every query and insert. Link lists, visited marks and heaps are
    /// reached through raw pointers or unchecked refs; the next neighbour's visited mark and vector, and the next
    /// candidate's link list, are prefetched while the current distance is computed (as hnswlib does).
    /// Leaves up to <paramref name="ef"/> accepted nodes in the context's result heap.
    /// </summary>
    [SkipLocalsInit]
    private unsafe void SearchLayer0<TScorer, TFilter>(
        ref TScorer scorer, ref TFilter filter, int entryNode, float entryDistance, int ef, int nodeLimit, SearchContext context)
        where TScorer : struct, IGraphScorer
        where TFilter : struct, INodeFilter
    {
        var exhaustive = typeof(TFilter) != typeof(AcceptAllFilter);
        context.Reset(nodeLimit);
        context.EnsureHeapCapacity(ef + 2);
        var marks = context.VisitedMarks;
        var tag = context.Epoch;
        ref var visited = ref MemoryMarshal.GetArrayDataReference(marks);
        var chunkTable = Volatile.Read(ref level0Pointers);
        var chunks = (nint*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(chunkTable));
        var stride = level0Stride;
        var maxLinks = M0;
        var limit = (uint)nodeLimit;

        var candidates = context.Candidates;
        var candidateCount = 0;
        ref var results = ref MemoryMarshal.GetArrayDataReference(context.Results);
        var resultCount = 0;

        Unsafe.Add(ref visited, entryNode) = tag;
        float lowerBound;
        if (filter.Accept(entryNode))
        {
            HeapPushMax(ref results, resultCount++, new ScoredNode(entryDistance, entryNode));
            lowerBound = entryDistance;
        }
        else
        {
            lowerBound = float.MaxValue;
        }

        HeapPushMin(ref MemoryMarshal.GetArrayDataReference(candidates), candidateCount++, new ScoredNode(entryDistance, entryNode));
        while (candidateCount > 0)
        {
            ref var candidateHeap = ref MemoryMarshal.GetArrayDataReference(candidates);
            var current = candidateHeap;
            if (current.Distance > lowerBound && (resultCount >= ef || !exhaustive))
            {
                break;
            }

            HeapPopMin(ref candidateHeap, --candidateCount);
            var links = (int*)chunks[current.Node >> NodeChunkShift] + ((current.Node & NodeChunkMask) * stride);
            var count = Math.Min(Volatile.Read(ref *links), maxLinks);
            if (count > 0 && (uint)links[1] < limit)
            {
                Prefetch(ref Unsafe.Add(ref visited, links[1]));
                scorer.Prefetch(links[1]);
            }

            for (var i = 1; i <= count; i++)
            {
                var neighbor = links[i];
                if (i < count && (uint)links[i + 1] < limit)
                {
                    Prefetch(ref Unsafe.Add(ref visited, links[i + 1]));
                    scorer.Prefetch(links[i + 1]);
                }

                if ((uint)neighbor >= limit)
                {
                    continue;
                }

                ref var mark = ref Unsafe.Add(ref visited, neighbor);
                if (mark == tag)
                {
                    continue;
                }

                mark = tag;
                var distance = scorer.Distance(neighbor);
                if (resultCount < ef || distance < lowerBound)
                {
                    if (candidateCount == candidates.Length)
                    {
                        Array.Resize(ref candidates, candidates.Length * 2);
                        context.Candidates = candidates;
                    }

                    HeapPushMin(ref MemoryMarshal.GetArrayDataReference(candidates), candidateCount++, new ScoredNode(distance, neighbor));
                    if (Sse.IsSupported)
                    {
                        // The best candidate is expanded next: start fetching its link list.
                        var next = candidates[0].Node;
                        Sse.Prefetch0((int*)chunks[next >> NodeChunkShift] + ((next & NodeChunkMask) * stride));
                    }

                    if (filter.Accept(neighbor))
                    {
                        HeapPushMax(ref results, resultCount++, new ScoredNode(distance, neighbor));
                        if (resultCount > ef)
                        {
                            HeapPopMax(ref results, --resultCount);
                        }
                    }

                    if (resultCount > 0)
                    {
                        lowerBound = results.Distance;
                    }
                }
            }
        }

        context.CandidateCount = candidateCount;
        context.ResultCount = resultCount;
        // The link lists live in native blocks owned by this graph: keep it reachable until the loop is done.
        GC.KeepAlive(this);
        GC.KeepAlive(marks);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Prefetch(ref ushort mark)
    {
        if (Sse.IsSupported)
        {
            Sse.Prefetch0(Unsafe.AsPointer(ref mark));
        }
    }

    /// <summary>Adds <paramref name="item"/> at index <paramref name="count"/> of a min-heap and sifts it up.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void HeapPushMin(ref ScoredNode heap, int count, ScoredNode item)
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

    /// <summary>Removes the top of a min-heap whose last element is at <paramref name="last"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void HeapPopMin(ref ScoredNode heap, int last)
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

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void HeapPushMax(ref ScoredNode heap, int count, ScoredNode item)
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

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void HeapPopMax(ref ScoredNode heap, int last)
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
