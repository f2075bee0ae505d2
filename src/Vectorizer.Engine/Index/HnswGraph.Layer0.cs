using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

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
