using System.Runtime.CompilerServices;

namespace Vectorizer.Engine.Index;

/// <summary>A node and its distance to the query.</summary>
public readonly record struct ScoredNode(float Distance, int Node);

/// <summary>
/// Per-thread scratch space for graph search: an epoch-stamped visited set (cleared in O(1) per search) and
/// the two heaps. Rented from a thread-static slot, so a search allocates nothing.
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

    public static SearchContext Rent() => cached ?? new SearchContext();

    public static void Return(SearchContext context) => cached = context;

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

    // ------------------------------------------------------------ candidate min-heap (closest on top)

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void PushCandidate(float distance, int node)
    {
        if (CandidateCount == Candidates.Length)
        {
            Array.Resize(ref Candidates, Candidates.Length * 2);
        }

        var heap = Candidates;
        var i = CandidateCount++;
        while (i > 0)
        {
            var parent = (i - 1) >> 1;
            if (heap[parent].Distance <= distance)
            {
                break;
            }

            heap[i] = heap[parent];
            i = parent;
        }

        heap[i] = new ScoredNode(distance, node);
    }

    internal ScoredNode PopCandidate()
    {
        var heap = Candidates;
        var top = heap[0];
        var last = heap[--CandidateCount];
        var n = CandidateCount;
        var i = 0;
        while (true)
        {
            var child = (2 * i) + 1;
            if (child >= n)
            {
                break;
            }

            if (child + 1 < n && heap[child + 1].Distance < heap[child].Distance)
            {
                child++;
            }

            if (heap[child].Distance >= last.Distance)
            {
                break;
            }

            heap[i] = heap[child];
            i = child;
        }

        if (n > 0)
        {
            heap[i] = last;
        }

        return top;
    }

    // ------------------------------------------------------------ result max-heap (farthest on top)

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void PushResult(float distance, int node)
    {
        if (ResultCount == Results.Length)
        {
            Array.Resize(ref Results, Results.Length * 2);
        }

        var heap = Results;
        var i = ResultCount++;
        while (i > 0)
        {
            var parent = (i - 1) >> 1;
            if (heap[parent].Distance >= distance)
            {
                break;
            }

            heap[i] = heap[parent];
            i = parent;
        }

        heap[i] = new ScoredNode(distance, node);
    }

    internal ScoredNode PopResult()
    {
        var heap = Results;
        var top = heap[0];
        var last = heap[--ResultCount];
        var n = ResultCount;
        var i = 0;
        while (true)
        {
            var child = (2 * i) + 1;
            if (child >= n)
            {
                break;
            }

            if (child + 1 < n && heap[child + 1].Distance > heap[child].Distance)
            {
                child++;
            }

            if (heap[child].Distance <= last.Distance)
            {
                break;
            }

            heap[i] = heap[child];
            i = child;
        }

        if (n > 0)
        {
            heap[i] = last;
        }

        return top;
    }

    internal float WorstResult => Results[0].Distance;
}
