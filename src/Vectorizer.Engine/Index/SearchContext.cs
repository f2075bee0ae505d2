using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Vectorizer.Engine.Index;

/// <summary>A node and its distance to the query.</summary>
public readonly record struct ScoredNode(float Distance, int Node);

/// <summary>
/// Per-thread scratch space for graph search: an epoch-stamped visited set (cleared in O(1) per search) and
/// the two heaps (<see cref="ScoredNodeHeap"/> over growable arrays). Rented from a thread-static slot, so a search allocates nothing.
/// </summary>
public sealed class SearchContext
{
    [ThreadStatic]
    private static SearchContext? cached;

    private ushort[] visited = GC.AllocateArray<ushort>(1024, pinned: true);
    private ushort epoch;

    internal ScoredNode[] Candidates = new ScoredNode[256];
    internal int CandidateCount;
    internal ScoredNode[] Results = new ScoredNode[256];
    internal int ResultCount;

    /// <summary>Insert: the new node's neighbour candidates (sorted by distance) and the ones the heuristic keeps.</summary>
    internal ScoredNode[] Sorted = new ScoredNode[256];
    internal ScoredNode[] Selected = new ScoredNode[256];

    /// <summary>Insert: a full neighbour's links plus the new node, and the ones kept when its list is pruned.</summary>
    internal ScoredNode[] ReverseLinkCandidates = new ScoredNode[256];
    internal ScoredNode[] ReverseLinkKept = new ScoredNode[256];

    /// <summary>Contexts of threads that come and go (the indexer's insert workers), kept for the next ones.</summary>
    private static readonly System.Collections.Concurrent.ConcurrentBag<SearchContext> Shared = [];

    public static SearchContext Rent() => cached ?? new SearchContext();

    public static void Return(SearchContext context) => cached = context;

    /// <summary>
    /// A context for a thread that does not live long (one per insert batch): taken from a process-wide pool instead
    /// of the thread's own slot. Each new thread used to size a new visited array for the whole graph (pinned, so on
    /// the pinned object heap, which is never compacted): 10 MiB of that heap was fragmentation at the end of a
    /// 331k-point build (issue 18).
    /// </summary>
    public static SearchContext RentShared() => Shared.TryTake(out var context) ? context : new SearchContext();

    /// <summary>Gives back a context of <see cref="RentShared"/>; at most two per core are kept.</summary>
    public static void ReturnShared(SearchContext context)
    {
        if (Shared.Count < 2 * Environment.ProcessorCount)
        {
            Shared.Add(context);
        }
    }

    /// <summary>Starts a new search over node ids below <paramref name="capacity"/>.</summary>
    public void Reset(int capacity)
    {
        if (visited.Length < capacity)
        {
            visited = GC.AllocateArray<ushort>(Math.Max(capacity, visited.Length * 2), pinned: true);
            epoch = 0;
        }

        epoch++;
        if (epoch == 0)
        {
            Array.Clear(visited);
            epoch = 1;
        }

        CandidateCount = 0;
        ResultCount = 0;
    }

    /// <summary>The visited marks (pinned) and the current epoch, for hot loops that index them directly.</summary>
    internal ushort[] VisitedMarks => visited;

    internal ushort Epoch => epoch;

    /// <summary>Makes sure the candidate heap can hold <paramref name="size"/> entries.</summary>
    internal void EnsureHeapCapacity(int size)
    {
        if (Candidates.Length < size)
        {
            Array.Resize(ref Candidates, Math.Max(size, Candidates.Length * 2));
        }

        if (Results.Length < size)
        {
            Array.Resize(ref Results, Math.Max(size, Results.Length * 2));
        }
    }

    /// <summary>Marks <paramref name="node"/> visited; returns false when it already was.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryVisit(int node)
    {
        var marks = visited;
        if ((uint)node >= (uint)marks.Length)
        {
            return false;
        }

        ref var slot = ref marks[node];
        if (slot == epoch)
        {
            return false;
        }

        slot = epoch;
        return true;
    }

    // ------------------------------------------------------------ the heaps (ScoredNodeHeap over growable arrays)

    /// <summary>Candidate min-heap (closest on top).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void PushCandidate(float distance, int node)
    {
        if (CandidateCount == Candidates.Length)
        {
            Array.Resize(ref Candidates, Candidates.Length * 2);
        }

        ScoredNodeHeap.HeapPushMin(ref MemoryMarshal.GetArrayDataReference(Candidates), CandidateCount++, new ScoredNode(distance, node));
    }

    internal ScoredNode PopCandidate()
    {
        var top = Candidates[0];
        ScoredNodeHeap.HeapPopMin(ref MemoryMarshal.GetArrayDataReference(Candidates), --CandidateCount);
        return top;
    }

    /// <summary>Result max-heap (farthest on top).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void PushResult(float distance, int node)
    {
        if (ResultCount == Results.Length)
        {
            Array.Resize(ref Results, Results.Length * 2);
        }

        ScoredNodeHeap.HeapPushMax(ref MemoryMarshal.GetArrayDataReference(Results), ResultCount++, new ScoredNode(distance, node));
    }

    internal ScoredNode PopResult()
    {
        var top = Results[0];
        ScoredNodeHeap.HeapPopMax(ref MemoryMarshal.GetArrayDataReference(Results), --ResultCount);
        return top;
    }

    internal float WorstResult => Results[0].Distance;
}
