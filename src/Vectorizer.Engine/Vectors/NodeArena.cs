using System.Runtime.CompilerServices;

namespace Vectorizer.Engine.Vectors;

/// <summary>
/// One fixed-size record per node, laid out as hnswlib lays out its layer 0: the node's layer-0 link count and
/// links first, then the data that scoring the node reads (its float32 vector, or its quantized code).
/// <code>
/// [count: int32][links: LinkSlots × int32][payload: PayloadBytes]
/// </code>
/// Expanding a node and scoring it touch the same record, so a graph walk misses the cache once per node instead
/// of once for the links and once more for the vector. The arena is shared: the payload's owner (a
/// <see cref="DenseVectorStore"/> or a quantizer) writes the payload, the HNSW graph writes the links; both only
/// ever append records, so readers hold raw pointers while writers work.
/// </summary>
public sealed unsafe class NodeArena
{
    private int claimed;

    /// <param name="linkSlots">Links a record can hold (2·M for an HNSW layer 0); 0 for payload only.</param>
    /// <param name="payloadBytes">Bytes of payload after the links.</param>
    /// <param name="recordsPerChunk">Records per chunk (a power of two); 0 picks the arena's default.</param>
    /// <param name="payloadOwnerGrows">
    /// True when the payload's owner appends records (a vector store, under the collection's write lock): the graph
    /// then never grows the arena and only links nodes the owner has written. False when the graph's inserting
    /// thread may grow it (links alone, or quantized codes written by that same thread).
    /// </param>
    public NodeArena(int linkSlots, int payloadBytes, int recordsPerChunk = 0, bool payloadOwnerGrows = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(linkSlots);
        ArgumentOutOfRangeException.ThrowIfNegative(payloadBytes);
        LinkSlots = linkSlots;
        PayloadOffset = linkSlots == 0 ? 0 : (linkSlots + 1) * sizeof(int);
        PayloadBytes = payloadBytes;
        PayloadOwnerGrows = payloadOwnerGrows;
        Records = new ChunkedArena(Math.Max(1, PayloadOffset + payloadBytes), recordsPerChunk: recordsPerChunk);
    }

    public ChunkedArena Records { get; }

    /// <summary>Links a record can hold (0: no link header).</summary>
    public int LinkSlots { get; }

    /// <summary>Offset of the payload in a record (the size of the link header).</summary>
    public int PayloadOffset { get; }

    public int PayloadBytes { get; }

    public bool PayloadOwnerGrows { get; }

    public int RecordBytes => Records.RecordBytes;

    public int ChunkShift => Records.ChunkShift;

    public int ChunkMask => Records.ChunkMask;

    public long Capacity => Records.Capacity;

    /// <summary>The current chunk table (pinned).</summary>
    public nint[] ChunkPointers => Records.ChunkPointers;

    /// <summary>The record of <paramref name="node"/>: its link count, then its links.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int* LinksPointer(int node) => (int*)Records.GetPointer(node);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte* PayloadPointer(int node) => Records.GetPointer(node) + PayloadOffset;

    /// <summary>Makes room for <paramref name="records"/> records. One writer at a time.</summary>
    public void EnsureCapacity(int records) => Records.EnsureCapacity(records);

    /// <summary>
    /// Marks the link headers as owned by a graph. Returns false when a graph held them before (a graph load that
    /// failed half-way, or a graph that moved elsewhere): their counts may then be stale and must be cleared.
    /// </summary>
    public bool ClaimLinks() => Interlocked.Exchange(ref claimed, 1) == 0;

    /// <summary>Sets the link count of the records in [from, to) to zero.</summary>
    public void ClearLinks(int from, int to)
    {
        to = (int)Math.Min(to, Capacity);
        for (var node = from; node < to; node++)
        {
            Volatile.Write(ref *LinksPointer(node), 0);
        }

        GC.KeepAlive(this);
    }
}
