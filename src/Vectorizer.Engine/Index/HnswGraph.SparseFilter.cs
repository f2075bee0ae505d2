using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using static Vectorizer.Engine.Index.ScoredNodeHeap;

namespace Vectorizer.Engine.Index;

public sealed partial class HnswGraph
{
    /// <summary>
    /// Most neighbours scored per expansion by <see cref="SearchLayer0TwoHop{TScorer, TFilter}"/> (direct ones first,
    /// then those reached through a rejected neighbour): the walk's degree on the filtered subgraph, as ACORN-1
    /// truncates its expanded lists.
    /// </summary>
    private int TwoHopBatch => 2 * M0;

    /// <summary>
    /// Layer-0 beam search for a filter that rejects most nodes and costs almost nothing to check (a bitmap: the
    /// payload index's candidates or a remembered filter's matches). Only accepted nodes are scored and queued; a
    /// rejected neighbour is not scored (its vector is never read) but its own links are followed one hop further,
    /// so the walk moves on the subgraph of accepted nodes with the connectivity of the full graph (ACORN-1,
    /// Patel et al., SIGMOD 2024). The plain filtered walk (<see cref="SearchLayer0{TScorer, TFilter}"/>) scores every
    /// node it meets and needs about 1 ÷ selectivity times more of them to fill ef results; with 784-d vectors a
    /// score reads 49 cache lines and a link list 2 or 3.
    /// </summary>
    [SkipLocalsInit]
    private unsafe void SearchLayer0TwoHop<TScorer, TFilter>(
        ref TScorer scorer, ref TFilter filter, int entryNode, float entryDistance, int ef, int nodeLimit, SearchContext context)
        where TScorer : struct, IGraphScorer
        where TFilter : struct, INodeFilter
    {
        context.Reset(nodeLimit);
        context.EnsureHeapCapacity(ef + 2);
        var marks = context.VisitedMarks;
        var tag = context.Epoch;
        ref var visited = ref MemoryMarshal.GetArrayDataReference(marks);
        var records = Layer0;
        var chunkTable = records.ChunkPointers;
        var chunks = (nint*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(chunkTable));
        var shift = records.ChunkShift;
        var mask = records.ChunkMask;
        var stride = (long)records.RecordBytes;
        var maxLinks = M0;
        var limit = (uint)Math.Min(nodeLimit, (long)chunkTable.Length << shift);
        var batchLimit = TwoHopBatch;

        var batch = stackalloc int[batchLimit];
        var candidates = context.Candidates;
        var candidateCount = 0;
        ref var results = ref MemoryMarshal.GetArrayDataReference(context.Results);
        var resultCount = 0;

        Unsafe.Add(ref visited, entryNode) = tag;
        var lowerBound = float.MaxValue;
        if (filter.Accept(entryNode))
        {
            HeapPushMax(ref results, resultCount++, new ScoredNode(entryDistance, entryNode));
            lowerBound = entryDistance;
        }

        HeapPushMin(ref MemoryMarshal.GetArrayDataReference(candidates), candidateCount++, new ScoredNode(entryDistance, entryNode));
        while (candidateCount > 0)
        {
            ref var candidateHeap = ref MemoryMarshal.GetArrayDataReference(candidates);
            var current = candidateHeap;
            if (current.Distance > lowerBound && resultCount >= ef)
            {
                break;
            }

            HeapPopMin(ref candidateHeap, --candidateCount);
            var links = (int*)((byte*)chunks[current.Node >> shift] + ((current.Node & mask) * stride));
            var count = Math.Min(Volatile.Read(ref *links), maxLinks);

            // Pass 1: accepted direct neighbours (their vectors requested at once); rejected ones are remembered in
            // the tail of the batch, to be crossed in pass 2.
            var fresh = 0;
            var rejected = batchLimit;
            for (var i = 1; i <= count; i++)
            {
                var neighbor = links[i];
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
                if (filter.Accept(neighbor))
                {
                    batch[fresh++] = neighbor;
                    scorer.Prefetch(neighbor);
                }
                else if (rejected > fresh)
                {
                    batch[--rejected] = neighbor;
                    if (Sse.IsSupported)
                    {
                        Sse.Prefetch0((byte*)chunks[neighbor >> shift] + ((neighbor & mask) * stride));
                    }
                }
            }

            // Pass 2: through each rejected neighbour to its accepted neighbours, until the batch is full. The rejected
            // neighbour itself stays visited (its links are not crossed twice); a two-hop node that is rejected too is
            // left unmarked, as another path may reach it directly.
            var firstRejected = rejected;
            for (var r = batchLimit - 1; r >= firstRejected && fresh < r; r--)
            {
                var via = batch[r];
                var hop = (int*)((byte*)chunks[via >> shift] + ((via & mask) * stride));
                var hopCount = Math.Min(Volatile.Read(ref *hop), maxLinks);
                for (var i = 1; i <= hopCount && fresh < r; i++)
                {
                    var neighbor = hop[i];
                    if ((uint)neighbor >= limit)
                    {
                        continue;
                    }

                    ref var mark = ref Unsafe.Add(ref visited, neighbor);
                    if (mark == tag || !filter.Accept(neighbor))
                    {
                        continue;
                    }

                    mark = tag;
                    batch[fresh++] = neighbor;
                    scorer.Prefetch(neighbor);
                }
            }

            // Pass 3: score the accepted ones; every queued candidate is an accepted node.
            for (var j = 0; j < fresh; j++)
            {
                var neighbor = batch[j];
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
                        var next = candidates[0].Node;
                        Sse.Prefetch0((byte*)chunks[next >> shift] + ((next & mask) * stride));
                    }

                    HeapPushMax(ref results, resultCount++, new ScoredNode(distance, neighbor));
                    if (resultCount > ef)
                    {
                        HeapPopMax(ref results, --resultCount);
                    }

                    lowerBound = results.Distance;
                }
            }
        }

        context.CandidateCount = candidateCount;
        context.ResultCount = resultCount;
        GC.KeepAlive(records);
        GC.KeepAlive(chunkTable);
        GC.KeepAlive(marks);
    }
}
