using System.Runtime.CompilerServices;

namespace Vectorizer.Engine.Index;

/// <summary>
/// A hierarchical navigable small world graph over dense node ids (the point offsets of a collection), after
/// Malkov and Yashunin and the hnswlib reference implementation: heuristic neighbour selection, M links per
/// upper layer and 2·M on layer 0.
/// <para>
/// Concurrency: any number of threads may insert (each node once) while any number of threads search.
/// Inserting threads serialise per node on striped locks; searches take no locks. A link list is written
/// ids first and count last, so a reader sees either list or a mix of two valid lists, never a garbage id.
/// </para>
/// </summary>
public sealed partial class HnswGraph
{
    public const int MaxLevel = 15;
    private const int NodeChunkShift = 16;
    private const int NodeChunkMask = (1 << NodeChunkShift) - 1;
    private const int StripeCount = 4096;

    private readonly double levelMultiplier;
    private readonly int upperStride;
    private readonly object[] stripes;
    private readonly object entryLock = new();

    // Serialises MoveLayer0: the indexer places layer 0 between batches, but a caller outside it (a config change
    // applied by the benchmark, a test) may too, and two moves must not copy into the same target at once.
    private readonly object moveLock = new();

    // Layer 0: one record per node holding its link count and links, usually followed by what scoring the node
    // reads (its vector or its quantized code; see NodeArena). Searches read this reference once and keep the
    // arena alive until they are done; it only changes between insert batches (MoveLayer0).
    private Vectors.NodeArena layer0;
    private int[]?[][] upper = [];
    private long entry = -1;

    // Running mean/variance (exponentially weighted; updated without locks, races only blur it) of the distance
    // from an inserted node to the closest node its layer-0 search found. See IsTrapped.
    private double nearestMean;
    private double nearestVariance;
    private long nearestSamples;
    private int widenedInserts;
    private int capacity;
    private int insertedCount;

    /// <param name="m">Links per node on the upper layers (2·M on layer 0).</param>
    /// <param name="efConstruct">Beam width of the insert searches.</param>
    /// <param name="seed">Seeds the level of each node.</param>
    /// <param name="layer0">
    /// Node records to keep layer 0 in (the vector store's, so that a node's links and vector share a record);
    /// ignored when its link header is too small for 2·M links. Null: the graph keeps its own link records.
    /// </param>
    public HnswGraph(int m, int efConstruct, ulong seed = 0x5EED_1234_ABCD_0001UL, Vectors.NodeArena? layer0 = null)
    {
        if (m < 2 || m > 512)
        {
            throw new ArgumentOutOfRangeException(nameof(m), "m must be between 2 and 512.");
        }

        M = m;
        M0 = 2 * m;
        EfConstruct = Math.Max(efConstruct, m);
        Seed = seed;
        levelMultiplier = 1.0 / Math.Log(m);
        upperStride = M + 1;
        stripes = new object[StripeCount];
        for (var i = 0; i < stripes.Length; i++)
        {
            stripes[i] = new object();
        }

        if (layer0 is not null && layer0.LinkSlots >= M0)
        {
            if (!layer0.ClaimLinks())
            {
                layer0.ClearLinks(0, (int)Math.Min(int.MaxValue, layer0.Capacity));
            }

            this.layer0 = layer0;
        }
        else
        {
            this.layer0 = OwnLayer0();
        }
    }

    /// <summary>Link records owned by the graph (no payload).</summary>
    private Vectors.NodeArena OwnLayer0() => new(M0, 0, 1 << NodeChunkShift);

    /// <summary>The records layer 0 lives in now.</summary>
    public Vectors.NodeArena Layer0 => Volatile.Read(ref layer0);

    public int M { get; }

    public int M0 { get; }

    public int EfConstruct { get; }

    public ulong Seed { get; }

    /// <summary>Node ids below this have link storage.</summary>
    public int Capacity => (int)Math.Min(Volatile.Read(ref capacity), Layer0.Capacity);

    /// <summary>Nodes inserted so far.</summary>
    public int InsertedCount => Volatile.Read(ref insertedCount);

    /// <summary>The current entry node, or -1 for an empty graph.</summary>
    public int EntryNode => (int)Volatile.Read(ref entry);

    /// <summary>Bytes held by link lists.</summary>
    public long LinkBytes
    {
        get
        {
            // Link lists of the nodes inserted so far (pages past them are never touched, so never resident).
            long bytes = (long)InsertedCount * (M0 + 1) * sizeof(int);
            foreach (var chunk in upper)
            {
                bytes += chunk.Length * (long)IntPtr.Size;
                foreach (var links in chunk)
                {
                    bytes += links is null ? 0 : (links.Length * sizeof(int)) + 24;
                }
            }

            return bytes;
        }
    }

    /// <summary>
    /// Allocates link storage for node ids below <paramref name="nodes"/>. One caller at a time, and the same
    /// thread that inserts. Layer-0 records owned by a vector store must already exist (the store writes them
    /// before the graph sees the node).
    /// </summary>
    public void EnsureCapacity(int nodes)
    {
        var records = Layer0;
        if (records.Capacity < nodes)
        {
            if (records.PayloadOwnerGrows)
            {
                throw new InvalidOperationException($"Node {nodes - 1} has no record in the vector store yet.");
            }

            // Off the GC heap and zero-filled lazily: an empty link list is a zero count.
            records.EnsureCapacity(nodes);
        }

        if (nodes <= capacity)
        {
            return;
        }

        var chunksNeeded = (int)(((long)nodes + NodeChunkMask) >> NodeChunkShift);
        if (chunksNeeded > upper.Length)
        {
            var newUpper = new int[]?[chunksNeeded][];
            Array.Copy(upper, newUpper, upper.Length);
            for (var c = upper.Length; c < chunksNeeded; c++)
            {
                newUpper[c] = new int[]?[NodeChunkMask + 1];
            }

            Volatile.Write(ref upper, newUpper);
        }

        Volatile.Write(ref capacity, chunksNeeded << NodeChunkShift);
    }

    /// <summary>
    /// Moves layer 0 into <paramref name="target"/> (null: records of the graph's own), copying the links of the
    /// nodes below <paramref name="nodeCount"/> (every inserted node must be below it). Searches may run meanwhile
    /// (they finish on the records they started with, which hold the same links); inserts must not. Returns
    /// false, changing nothing, when the target cannot hold 2·M links or lacks records for the nodes.
    /// </summary>
    public unsafe bool MoveLayer0(Vectors.NodeArena? target, int nodeCount)
    {
        lock (moveLock)
        {
            return MoveLayer0Locked(target, nodeCount);
        }
    }

    private unsafe bool MoveLayer0Locked(Vectors.NodeArena? target, int nodeCount)
    {
        var source = Layer0;
        if (ReferenceEquals(target, source) || (target is null && !source.PayloadOwnerGrows && source.PayloadBytes == 0))
        {
            return true;
        }

        target ??= OwnLayer0();
        if (target.LinkSlots < M0 || (target.PayloadOwnerGrows && target.Capacity < nodeCount))
        {
            return false;
        }

        if (target.Capacity < nodeCount)
        {
            target.EnsureCapacity(nodeCount);
        }

        var stale = !target.ClaimLinks();
        for (var node = 0; node < nodeCount; node++)
        {
            var from = source.LinksPointer(node);
            var to = target.LinksPointer(node);
            var count = Math.Min(*from, M0);
            new ReadOnlySpan<int>(from + 1, count).CopyTo(new Span<int>(to + 1, count));
            *to = count;
        }

        if (stale)
        {
            target.ClearLinks(nodeCount, (int)Math.Min(int.MaxValue, target.Capacity));
        }

        Volatile.Write(ref layer0, target);
        GC.KeepAlive(source);
        return true;
    }

    /// <summary>The layer a node is assigned to: deterministic per (seed, node), exponentially distributed.</summary>
    public int LevelOf(int node)
    {
        var h = SplitMix64((ulong)(uint)node ^ Seed);
        var u = 1.0 - ((h >> 11) * (1.0 / (1UL << 53)));
        return Math.Min(MaxLevel, (int)(-Math.Log(u) * levelMultiplier));
    }

    /// <summary>Highest layer that <paramref name="node"/> has links on (0 for plain nodes).</summary>
    public int NodeLevel(int node)
    {
        var links = upper[node >> NodeChunkShift][node & NodeChunkMask];
        return links is null ? 0 : links.Length / upperStride;
    }

    /// <summary>Copies the neighbours of <paramref name="node"/> on <paramref name="layer"/> into <paramref name="destination"/>.</summary>
    public int GetNeighbors(int node, int layer, Span<int> destination)
    {
        var links = Links(node, layer);
        var count = Math.Min(Volatile.Read(ref links[0]), layer == 0 ? M0 : M);
        links.Slice(1, count).CopyTo(destination);
        GC.KeepAlive(this);
        return count;
    }

    /// <summary>A node's link list on a layer: element 0 is the count, then up to M (2·M on layer 0) ids.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private unsafe Span<int> Links(int node, int layer)
    {
        if (layer == 0)
        {
            return new Span<int>(Layer0.LinksPointer(node), M0 + 1);
        }

        return upper[node >> NodeChunkShift][node & NodeChunkMask].AsSpan((layer - 1) * upperStride, upperStride);
    }

    private static long Pack(int level, int node) => ((long)level << 32) | (uint)node;

    private static int LevelOfEntry(long packed) => packed < 0 ? -1 : (int)(packed >> 32);

    private static ulong SplitMix64(ulong x)
    {
        x += 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }

    // ==================================================================== search

    /// <summary>
    /// Finds up to <paramref name="k"/> nearest accepted nodes. Nodes at or above <paramref name="nodeLimit"/>
    /// are ignored (they may have been inserted after the scorer was created). Results are written to
    /// <paramref name="output"/> closest first; the count is returned. <paramref name="twoHop"/>: the filter rejects
    /// most nodes and is cheap to check; walk the accepted nodes only, crossing rejected ones without scoring them
    /// (see <see cref="SearchLayer0TwoHop{TScorer, TFilter}"/>).
    /// </summary>
    public int Search<TScorer, TFilter>(
        ref TScorer scorer, ref TFilter filter, int k, int ef, int nodeLimit, Span<ScoredNode> output, SearchContext context, bool twoHop = false)
        where TScorer : struct, IGraphScorer
        where TFilter : struct, INodeFilter
    {
        var packed = Volatile.Read(ref entry);
        if (packed < 0 || k <= 0)
        {
            return 0;
        }

        var current = (int)packed;
        if (current >= nodeLimit)
        {
            return 0;
        }

        var currentDistance = scorer.Distance(current);
        context.Reset(nodeLimit);
        for (var layer = LevelOfEntry(packed); layer > 0; layer--)
        {
            current = GreedyClosest(ref scorer, current, ref currentDistance, layer, nodeLimit, context);
        }

        ef = Math.Max(ef, k);
        if (twoHop)
        {
            SearchLayer0TwoHop(ref scorer, ref filter, current, currentDistance, ef, nodeLimit, context);
        }
        else
        {
            SearchLayer0(ref scorer, ref filter, current, currentDistance, ef, nodeLimit, context);
        }
        while (context.ResultCount > k)
        {
            context.PopResult();
        }

        var count = Math.Min(context.ResultCount, output.Length);
        while (context.ResultCount > count)
        {
            context.PopResult();
        }

        for (var i = count - 1; i >= 0; i--)
        {
            output[i] = context.PopResult();
        }

        scorer.KeepAlive();
        GC.KeepAlive(this);
        return count;
    }

    /// <summary>
    /// Greedy descent on one upper layer: moves to the closest neighbour until none is closer. Nodes scored earlier
    /// in the same descent (marked in <paramref name="context"/>'s visited set, started by the caller) are skipped:
    /// each was no closer than the best node at the time, so it cannot be closer than the best node now, and the
    /// walk is the one a descent without the marks takes. Neighbours' data is requested before any is scored.
    /// </summary>
    [SkipLocalsInit]
    private unsafe int GreedyClosest<TScorer>(ref TScorer scorer, int current, ref float currentDistance, int layer, int nodeLimit, SearchContext context)
        where TScorer : struct, IGraphScorer
    {
        var marks = context.VisitedMarks;
        var tag = context.Epoch;
        var limit = (uint)Math.Min(nodeLimit, marks.Length);
        if ((uint)current < (uint)marks.Length)
        {
            marks[current] = tag;
        }

        var batch = stackalloc int[M];
        var changed = true;
        while (changed)
        {
            changed = false;
            var links = Links(current, layer);
            var count = Math.Min(Volatile.Read(ref links[0]), M);
            var fresh = 0;
            for (var i = 1; i <= count; i++)
            {
                var candidate = links[i];
                if ((uint)candidate >= limit || marks[candidate] == tag)
                {
                    continue;
                }

                marks[candidate] = tag;
                batch[fresh++] = candidate;
                scorer.Prefetch(candidate);
            }

            for (var j = 0; j < fresh; j++)
            {
                var candidate = batch[j];
                var d = scorer.Distance(candidate);
                if (d < currentDistance)
                {
                    currentDistance = d;
                    current = candidate;
                    changed = true;
                }
            }
        }

        GC.KeepAlive(marks);
        return current;
    }

    /// <summary>Beam search on one layer; leaves up to <paramref name="ef"/> accepted nodes in the context's result heap.</summary>
    private void SearchLayer<TScorer, TFilter>(
        ref TScorer scorer, ref TFilter filter, int entryNode, float entryDistance, int layer, int ef, int nodeLimit, SearchContext context)
        where TScorer : struct, IGraphScorer
        where TFilter : struct, INodeFilter
    {
        var exhaustive = typeof(TFilter) != typeof(AcceptAllFilter);
        var maxLinks = layer == 0 ? M0 : M;
        context.Reset(nodeLimit);
        context.TryVisit(entryNode);
        float lowerBound;
        if (filter.Accept(entryNode))
        {
            context.PushResult(entryDistance, entryNode);
            lowerBound = entryDistance;
        }
        else
        {
            lowerBound = float.MaxValue;
        }

        context.PushCandidate(entryDistance, entryNode);
        while (context.CandidateCount > 0)
        {
            var candidate = context.Candidates[0];
            if (candidate.Distance > lowerBound && (context.ResultCount >= ef || !exhaustive))
            {
                break;
            }

            context.PopCandidate();
            var links = Links(candidate.Node, layer);
            var count = Math.Min(Volatile.Read(ref links[0]), maxLinks);
            for (var i = 1; i <= count; i++)
            {
                var neighbor = links[i];

                if ((uint)neighbor >= (uint)nodeLimit || !context.TryVisit(neighbor))
                {
                    continue;
                }

                var d = scorer.Distance(neighbor);
                if (context.ResultCount < ef || d < lowerBound)
                {
                    context.PushCandidate(d, neighbor);
                    if (filter.Accept(neighbor))
                    {
                        context.PushResult(d, neighbor);
                        if (context.ResultCount > ef)
                        {
                            context.PopResult();
                        }
                    }

                    if (context.ResultCount > 0)
                    {
                        lowerBound = context.WorstResult;
                    }
                }
            }
        }
    }

    // ==================================================================== insert

    private const int RetryEfFactor = 4;
    private const int TrapWarmup = 1000;
    private const double TrapSigmas = 3.0;

    /// <summary>Inserts whose layer-0 search was repeated with a wider beam (see <see cref="IsTrapped"/>).</summary>
    public int WidenedInserts => Volatile.Read(ref widenedInserts);

    /// <summary>
    /// True when the closest node the insert search found is an outlier (more than three standard deviations
    /// farther than usual). Greedy HNSW search can settle in a local minimum; on glove-100 about one insert in
    /// 50,000 does, and when that node is a hub (in the true top 10 of many queries) recall drops by whole
    /// points. Updates the running statistics as a side effect.
    /// </summary>
    private bool IsTrapped(SearchContext context)
    {
        var count = context.ResultCount;
        if (count == 0)
        {
            return false;
        }

        var results = context.Results;
        var best = results[0].Distance;
        for (var i = 1; i < count; i++)
        {
            best = Math.Min(best, results[i].Distance);
        }

        var samples = Interlocked.Increment(ref nearestSamples);
        var mean = nearestMean;
        var variance = nearestVariance;
        var rate = Math.Max(1.0 / samples, 1.0 / 4096);
        var delta = best - mean;
        var trapped = samples > TrapWarmup && delta > TrapSigmas * Math.Sqrt(variance);
        if (!trapped)
        {
            nearestMean = mean + (rate * delta);
            nearestVariance = (1 - rate) * (variance + (rate * delta * delta));
        }

        return trapped;
    }

    /// <summary>
    /// Links <paramref name="node"/> into the graph. <paramref name="scorer"/> must be bound to the node's own
    /// vector. Nodes at or above <paramref name="nodeLimit"/> are ignored during the search for neighbours.
    /// </summary>
    public void Insert<TScorer>(ref TScorer scorer, int node, int nodeLimit, SearchContext context)
        where TScorer : struct, IGraphScorer
    {
        if ((uint)node >= (uint)Capacity)
        {
            throw new ArgumentOutOfRangeException(nameof(node), "EnsureCapacity was not called for this node.");
        }

        var level = LevelOf(node);
        if (level > 0)
        {
            Volatile.Write(ref upper[node >> NodeChunkShift][node & NodeChunkMask], new int[level * upperStride]);
        }

        var packed = Volatile.Read(ref entry);
        var holdsEntryLock = false;
        if (level > LevelOfEntry(packed))
        {
            Monitor.Enter(entryLock);
            holdsEntryLock = true;
            packed = Volatile.Read(ref entry);
            if (level <= LevelOfEntry(packed))
            {
                Monitor.Exit(entryLock);
                holdsEntryLock = false;
            }
        }

        try
        {
            if (packed < 0)
            {
                Volatile.Write(ref entry, Pack(level, node));
                Interlocked.Increment(ref insertedCount);
                return;
            }

            var current = (int)packed;
            var topLevel = LevelOfEntry(packed);
            var currentDistance = scorer.Distance(current);
            context.Reset(nodeLimit);
            for (var layer = topLevel; layer > level; layer--)
            {
                current = GreedyClosest(ref scorer, current, ref currentDistance, layer, nodeLimit, context);
            }

            var accept = default(AcceptAllFilter);
            for (var layer = Math.Min(level, topLevel); layer >= 0; layer--)
            {
                if (layer == 0)
                {
                    SearchLayer0(ref scorer, ref accept, current, currentDistance, EfConstruct, nodeLimit, context);
                    if (IsTrapped(context))
                    {
                        // The beam settled far from where nodes' nearest neighbours usually are: most likely a
                        // local minimum (the node would end up linked to near-random nodes and unreachable by
                        // queries near it). Search again with a wider beam before linking.
                        SearchLayer0(ref scorer, ref accept, current, currentDistance, EfConstruct * RetryEfFactor, nodeLimit, context);
                        Interlocked.Increment(ref widenedInserts);
                    }
                }
                else
                {
                    SearchLayer(ref scorer, ref accept, current, currentDistance, layer, EfConstruct, nodeLimit, context);
                }

                var closest = ConnectNewNode(ref scorer, node, layer, context);
                current = closest.Node;
                currentDistance = closest.Distance;
            }

            if (level > topLevel)
            {
                Volatile.Write(ref entry, Pack(level, node));
            }

            Interlocked.Increment(ref insertedCount);
        }
        finally
        {
            if (holdsEntryLock)
            {
                Monitor.Exit(entryLock);
            }

            scorer.KeepAlive();
            GC.KeepAlive(this);
        }
    }

    /// <summary>Takes the layer search's results, links the new node to a diverse subset, and links back.</summary>
    private ScoredNode ConnectNewNode<TScorer>(ref TScorer scorer, int node, int layer, SearchContext context)
        where TScorer : struct, IGraphScorer
    {
        var found = context.ResultCount;
        EnsureScratch(context, found + 1);
        var sorted = context.Sorted;
        for (var i = found - 1; i >= 0; i--)
        {
            sorted[i] = context.PopResult();
        }

        var selected = context.Selected;
        var selectedCount = SelectNeighbors(ref scorer, sorted, found, M, selected);
        var closest = selectedCount > 0 ? selected[0] : new ScoredNode(float.MaxValue, node);

        var links = Links(node, layer);
        lock (stripes[node & (StripeCount - 1)])
        {
            for (var i = 0; i < selectedCount; i++)
            {
                links[1 + i] = selected[i].Node;
            }

            Volatile.Write(ref links[0], selectedCount);
        }

        var maxLinks = layer == 0 ? M0 : M;
        for (var i = 0; i < selectedCount; i++)
        {
            AddReverseLink(ref scorer, selected[i].Node, node, selected[i].Distance, layer, maxLinks, context);
        }

        return closest;
    }

    private void AddReverseLink<TScorer>(
        ref TScorer scorer, int target, int newNode, float distance, int layer, int maxLinks, SearchContext context)
        where TScorer : struct, IGraphScorer
    {
        var links = Links(target, layer);
        lock (stripes[target & (StripeCount - 1)])
        {
            var count = links[0];
            for (var i = 1; i <= count; i++)
            {
                if (links[i] == newNode)
                {
                    return;
                }
            }

            if (count < maxLinks)
            {
                links[1 + count] = newNode;
                Volatile.Write(ref links[0], count + 1);
                return;
            }

            // Full: keep the most diverse maxLinks among the old neighbours and the new node.
            EnsureScratch(context, count + 1);
            var candidates = context.ReverseLinkCandidates;
            candidates[0] = new ScoredNode(distance, newNode);
            for (var i = 1; i <= count; i++)
            {
                var neighbor = links[i];
                candidates[i] = new ScoredNode(scorer.Between(target, neighbor), neighbor);
            }

            Array.Sort(candidates, 0, count + 1, ScoredNodeComparer.Instance);
            var kept = context.ReverseLinkKept;
            var keptCount = SelectNeighbors(ref scorer, candidates, count + 1, maxLinks, kept);
            for (var i = 0; i < keptCount; i++)
            {
                links[1 + i] = kept[i].Node;
            }

            Volatile.Write(ref links[0], keptCount);
        }
    }

    /// <summary>
    /// hnswlib's getNeighborsByHeuristic2: walk candidates closest first, keep one unless an already kept node
    /// is closer to it than the base node is. <paramref name="sorted"/> is ascending by distance to the base.
    /// </summary>
    private static int SelectNeighbors<TScorer>(ref TScorer scorer, ScoredNode[] sorted, int count, int m, ScoredNode[] selected)
        where TScorer : struct, IGraphScorer
    {
        if (count <= m)
        {
            Array.Copy(sorted, selected, count);
            return count;
        }

        var kept = 0;
        for (var i = 0; i < count && kept < m; i++)
        {
            var candidate = sorted[i];
            var good = true;
            for (var j = 0; j < kept; j++)
            {
                if (scorer.Between(candidate.Node, selected[j].Node) < candidate.Distance)
                {
                    good = false;
                    break;
                }
            }

            if (good)
            {
                selected[kept++] = candidate;
            }
        }

        return kept;
    }

    private static void EnsureScratch(SearchContext context, int size)
    {
        if (context.Sorted.Length < size)
        {
            var length = Math.Max(size, context.Sorted.Length * 2);
            context.Sorted = new ScoredNode[length];
            context.Selected = new ScoredNode[length];
            context.ReverseLinkCandidates = new ScoredNode[length];
            context.ReverseLinkKept = new ScoredNode[length];
        }
    }

    private sealed class ScoredNodeComparer : IComparer<ScoredNode>
    {
        public static readonly ScoredNodeComparer Instance = new();

        public int Compare(ScoredNode x, ScoredNode y) => x.Distance.CompareTo(y.Distance);
    }
}
