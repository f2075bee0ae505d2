using System.Numerics;
using System.Runtime.CompilerServices;
using Vectorizer.Engine.Memory;

namespace Vectorizer.Engine.Vectors;

/// <summary>
/// Fixed-size records addressed by a dense offset, in native 64-byte aligned chunks of a power of two records
/// (at most 16 MiB each). Growing never moves existing records, so readers may hold raw pointers while a single
/// writer appends. Backs <see cref="DenseVectorStore"/> and the quantized codes.
/// </summary>
public sealed unsafe class ChunkedArena
{
    private const int TargetChunkBytes = 16 << 20;
    private const int MaxChunkRecords = 1 << 16;

    private readonly List<NativeBlock> chunks = [];
    private readonly string? spillDirectory;
    private nint[] chunkPointers = [];

    /// <param name="recordBytes">Bytes per record.</param>
    /// <param name="spillDirectory">When set, chunks are file-backed mappings in this directory.</param>
    /// <param name="recordsPerChunk">Records per chunk (a power of two); 0 picks <see cref="DefaultRecordsPerChunk"/>.</param>
    public ChunkedArena(int recordBytes, string? spillDirectory = null, int recordsPerChunk = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(recordBytes);
        ArgumentOutOfRangeException.ThrowIfNegative(recordsPerChunk);
        if (recordsPerChunk != 0 && !BitOperations.IsPow2(recordsPerChunk))
        {
            throw new ArgumentOutOfRangeException(nameof(recordsPerChunk), "must be a power of two");
        }

        RecordBytes = recordBytes;
        this.spillDirectory = spillDirectory;
        var perChunk = recordsPerChunk != 0 ? recordsPerChunk : DefaultRecordsPerChunk(recordBytes);
        ChunkShift = BitOperations.Log2((uint)perChunk);
        ChunkMask = perChunk - 1;
    }

    /// <summary>The largest power of two of records that fits 16 MiB (at least 1, at most 65,536).</summary>
    public static int DefaultRecordsPerChunk(int recordBytes)
    {
        var perChunk = Math.Max(1, TargetChunkBytes / recordBytes);
        return Math.Min(MaxChunkRecords, (int)BitOperations.RoundUpToPowerOf2((uint)perChunk + 1) >> 1);
    }

    public int RecordBytes { get; }

    public int ChunkShift { get; }

    public int ChunkMask { get; }

    public int ChunkCapacity => ChunkMask + 1;

    /// <summary>True when the chunks are memory-mapped files (paged in from disk on demand).</summary>
    public bool OnDisk => spillDirectory is not null && OperatingSystem.IsLinux();

    /// <summary>Records that have memory reserved (whole chunks).</summary>
    public long Capacity => (long)ChunkPointers.Length << ChunkShift;

    /// <summary>The current chunk table (pinned); valid for every offset below the capacity reserved before it was read.</summary>
    public nint[] ChunkPointers => Volatile.Read(ref chunkPointers);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte* GetPointer(int offset) =>
        (byte*)ChunkPointers[offset >> ChunkShift] + ((long)(offset & ChunkMask) * RecordBytes);

    /// <summary>Makes room for <paramref name="capacity"/> records. Single writer only.</summary>
    public void EnsureCapacity(int capacity)
    {
        var needed = (int)(((long)capacity + ChunkMask) >> ChunkShift);
        if (needed <= chunks.Count)
        {
            return;
        }

        var pointers = GC.AllocateArray<nint>(needed, pinned: true);
        Array.Copy(chunkPointers, pointers, chunkPointers.Length);
        for (var c = chunks.Count; c < needed; c++)
        {
            var block = new NativeBlock((long)ChunkCapacity * RecordBytes, spillDirectory);
            chunks.Add(block);
            pointers[c] = block.Pointer;
            if (c >= 1)
            {
                // Huge pages once the arena outgrows its first chunk: a small collection keeps 4 KiB pages (a huge
                // page would commit 2 MiB for its first record); the first chunk, full by now, is advised too (the
                // kernel's khugepaged collapses its pages in the background).
                block.AdviseHugePages();
                if (c == 1)
                {
                    chunks[0].AdviseHugePages();
                }
            }
        }

        Volatile.Write(ref chunkPointers, pointers);
    }

    /// <summary>Raw bytes of the first <paramref name="records"/> records of a chunk; valid while this arena is reachable.</summary>
    public ReadOnlySpan<byte> GetChunkBytes(int chunkIndex, int records) =>
        chunks[chunkIndex].AsSpan(0, records * RecordBytes);
}
