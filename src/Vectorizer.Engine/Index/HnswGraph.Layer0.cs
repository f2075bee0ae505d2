using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using static Vectorizer.Engine.Index.ScoredNodeHeap;

namespace Vectorizer.Engine.Index;

public sealed partial class HnswGraph
{
    /// <summary>
    /// Beam search on layer 0, the hot loop of every query and insert. Link lists, visited marks and heaps are
    /// reached through raw pointers or unchecked refs. Expanding a node first requests the data of all its
    /// unvisited neighbours, then scores them; the best candidate's record is requested as soon as it is known.
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
        var records = Layer0;
        var chunkTable = records.ChunkPointers;
        var chunks = (nint*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(chunkTable));
        var shift = records.ChunkShift;
        var mask = records.ChunkMask;
        var stride = (long)records.RecordBytes;
        var maxLinks = M0;
        // Nodes past the chunk table read above have no record this search can see (the indexer may be growing it).
        var limit = (uint)Math.Min(nodeLimit, (long)chunkTable.Length << shift);

        var batch = stackalloc int[maxLinks];
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
            var links = (int*)((byte*)chunks[current.Node >> shift] + ((current.Node & mask) * stride));
            var count = Math.Min(Volatile.Read(ref *links), maxLinks);

            // Pass 1: the neighbours not visited yet, each marked and its data requested from memory. Every miss
            // is then in flight at once instead of one after another (a graph walk waits on memory, not on
            // arithmetic: this is worth more than any layout or kernel change).
            var fresh = 0;
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
                batch[fresh++] = neighbor;
                scorer.Prefetch(neighbor);
            }

            // Pass 2: score them in link order (the same order, hence the same results, as one pass would give).
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
                        // The best candidate is expanded next: start fetching its record (links first).
                        var next = candidates[0].Node;
                        Sse.Prefetch0((byte*)chunks[next >> shift] + ((next & mask) * stride));
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
        // The link lists live in native blocks owned by the records: keep them reachable until the loop is done.
        GC.KeepAlive(records);
        GC.KeepAlive(chunkTable);
        GC.KeepAlive(marks);
    }
}
