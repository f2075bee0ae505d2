using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using static Vectorizer.Engine.Index.ScoredNodeHeap;

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
}
