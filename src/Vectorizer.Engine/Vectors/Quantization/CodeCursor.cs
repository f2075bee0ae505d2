using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace Vectorizer.Engine.Vectors.Quantization;

/// <summary>
/// Raw access to a quantizer's code records for the scorers' hot loops: the chunk table pinned and read once, so a
/// record is two shifts and an add away. Holds the quantizer so the native chunks stay reachable.
/// </summary>
public readonly unsafe struct CodeCursor
{
    private readonly nint* chunks;
    private readonly nint[] chunkTable;
    private readonly int shift;
    private readonly int mask;
    private readonly int recordBytes;

    public CodeCursor(QuantizedVectors quantizer)
    {
        Owner = quantizer;
        chunkTable = quantizer.Codes.ChunkPointers;
        chunks = (nint*)Unsafe.AsPointer(ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(chunkTable));
        shift = quantizer.Codes.ChunkShift;
        mask = quantizer.Codes.ChunkMask;
        recordBytes = quantizer.Codes.RecordBytes;
    }

    public QuantizedVectors Owner { get; }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte* Record(int node) => (byte*)chunks[node >> shift] + ((long)(node & mask) * recordBytes);

    /// <summary>Starts fetching the first <paramref name="lines"/> cache lines of a record.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Prefetch(int node, int lines)
    {
        if (Sse.IsSupported)
        {
            var p = Record(node);
            for (var i = 0; i < lines; i++)
            {
                Sse.Prefetch0(p + (64 * i));
            }
        }
    }

    /// <summary>Keeps the codes reachable up to this point (call after the last distance).</summary>
    public void KeepAlive()
    {
        GC.KeepAlive(Owner);
        GC.KeepAlive(chunkTable);
    }

    public static NotSupportedException BetweenNotSupported() =>
        new("Quantized scorers only search; the graph is built from the originals.");
}
