using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;
using Vectorizer.Engine.Vectors;

namespace Vectorizer.Engine.Index;

/// <summary>
/// Distance source for graph traversal: distances to a bound query and between stored nodes. Implemented by
/// structs and passed by <c>ref</c> so generic graph code is specialised per scorer (no virtual calls).
/// </summary>
public interface IGraphScorer
{
    /// <summary>Distance from the bound query to <paramref name="node"/> (lower is closer).</summary>
    float Distance(int node);

    /// <summary>Distance between two stored nodes.</summary>
    float Between(int a, int b);

    /// <summary>Hints the CPU to fetch <paramref name="node"/>'s data.</summary>
    void Prefetch(int node);

    /// <summary>Keeps the memory the scorer reads reachable up to this point (call after the last distance).</summary>
    void KeepAlive();
}

/// <summary>Which nodes may appear in results (deleted and filtered-out nodes are still traversed).</summary>
public interface INodeFilter
{
    bool Accept(int node);
}

/// <summary>Accepts every node.</summary>
public readonly struct AcceptAllFilter : INodeFilter
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Accept(int node) => true;
}

/// <summary>Float32 vectors from a <see cref="DenseVectorStore"/> with a metric chosen at compile time.</summary>
public unsafe struct DenseScorer<TMetric> : IGraphScorer
    where TMetric : struct, IMetric
{
    private readonly nint* chunks;
    private readonly nint[] chunkTable;
    private readonly DenseVectorStore store;
    private readonly int shift;
    private readonly int mask;
    private readonly int dim;
    private readonly long stride;
    private readonly int vectorOffset;
    private readonly float* query;

    /// <param name="store">The vectors.</param>
    /// <param name="query">A preprocessed query of the store's dimension; must stay pinned while this scorer is used.</param>
    public DenseScorer(DenseVectorStore store, float* query)
    {
        this.store = store;
        chunkTable = store.ChunkPointers;
        chunks = (nint*)Unsafe.AsPointer(ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(chunkTable));
        shift = store.ChunkShift;
        mask = store.ChunkMask;
        dim = store.Dimension;
        stride = store.RecordBytes;
        vectorOffset = store.VectorOffset;
        this.query = query;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly float* Pointer(int node) => (float*)((byte*)chunks[node >> shift] + ((node & mask) * stride) + vectorOffset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly float Distance(int node) => TMetric.Distance(query, Pointer(node), dim);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly float Between(int a, int b) => TMetric.Distance(Pointer(a), Pointer(b), dim);

    public readonly void KeepAlive() => GC.KeepAlive(store);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly void Prefetch(int node) => CacheLines.Prefetch((byte*)Pointer(node), dim * sizeof(float));
}
