using System.Runtime.CompilerServices;

namespace Vectorizer.Engine.Vectors.Quantization;

/// <summary>
/// Raw access to a quantizer's codes for the scorers' hot loops: the chunk table pinned and read once, so a code
/// is two shifts, a multiply and an add away. Holds the quantizer so the native chunks stay reachable.
/// </summary>
public readonly unsafe struct CodeCursor
{
    private readonly nint* chunks;
    private readonly nint[] chunkTable;
    private readonly int shift;
    private readonly int mask;
    private readonly long recordBytes;
    private readonly int codeOffset;
    private readonly int codeBytes;

    public CodeCursor(QuantizedVectors quantizer)
    {
        Owner = quantizer;
        var codes = quantizer.Codes;
        chunkTable = codes.ChunkPointers;
        chunks = (nint*)Unsafe.AsPointer(ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(chunkTable));
        shift = codes.ChunkShift;
        mask = codes.ChunkMask;
        recordBytes = codes.RecordBytes;
        codeOffset = codes.PayloadOffset;
        codeBytes = codes.PayloadBytes;
    }

    public QuantizedVectors Owner { get; }

    /// <summary>The code of <paramref name="node"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte* Record(int node) => (byte*)chunks[node >> shift] + ((node & mask) * recordBytes) + codeOffset;

    /// <summary>Starts fetching the cache lines of a code (see <see cref="CacheLines.Prefetch"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Prefetch(int node) => CacheLines.Prefetch(Record(node), codeBytes);

    /// <summary>Keeps the codes reachable up to this point (call after the last distance).</summary>
    public void KeepAlive()
    {
        GC.KeepAlive(Owner);
        GC.KeepAlive(chunkTable);
    }

    public static NotSupportedException BetweenNotSupported() =>
        new("Quantized scorers only search; the graph is built from the originals.");
}
