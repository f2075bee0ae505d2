using System.Runtime.InteropServices;

namespace Vectorizer.Engine.Memory;

/// <summary>
/// A block of zero-initialised memory outside the GC heap. On Linux it is an anonymous <c>mmap</c>: pages are
/// zero-filled lazily, so only the bytes actually written count towards the resident set (an unused chunk tail
/// costs nothing). Elsewhere it falls back to an aligned, cleared <see cref="NativeMemory"/> allocation.
/// <para>
/// With a spill directory (collections with <c>on_disk: true</c> vectors) the block is a shared mapping of a
/// file in that directory, unlinked as soon as it is mapped: the kernel writes its pages back to disk and may
/// drop them from RAM under memory pressure, reading them again on demand. Nothing is left behind by a crash;
/// durability stays with the WAL and checkpoints.
/// </para>
/// <para>
/// Freed by <see cref="Dispose"/> or, when its owner is simply dropped (a vacuumed state, a deleted collection),
/// by the finalizer. Code that dereferences <see cref="Pointer"/> must keep the owner reachable until it is done
/// (<see cref="GC.KeepAlive(object?)"/> at the end of the loop).
/// </para>
/// </summary>
public sealed unsafe partial class NativeBlock : IDisposable
{
    private const int ProtRead = 1;
    private const int ProtWrite = 2;
    private const int MapShared = 0x01;
    private const int MapPrivate = 0x02;
    private const int MapAnonymous = 0x20;
    private static long totalBytes;
    private readonly bool mapped;
    private nint pointer;

    public NativeBlock(long bytes, string? spillDirectory = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytes);
        Length = bytes;
        if (spillDirectory is not null && OperatingSystem.IsLinux())
        {
            pointer = MapSpillFile(spillDirectory, bytes);
            mapped = true;
            FileBacked = true;
        }
        else if (OperatingSystem.IsLinux())
        {
            var address = Mmap(0, (nuint)bytes, ProtRead | ProtWrite, MapPrivate | MapAnonymous, -1, 0);
            if (address == -1)
            {
                throw new OutOfMemoryException($"mmap of {bytes} bytes failed (errno {Marshal.GetLastPInvokeError()})");
            }

            pointer = address;
            mapped = true;
        }
        else
        {
            pointer = (nint)NativeMemory.AlignedAlloc((nuint)bytes, 64);
            NativeMemory.Clear((void*)pointer, (nuint)bytes);
        }

        Interlocked.Add(ref totalBytes, bytes);
        GC.AddMemoryPressure(Math.Min(bytes, int.MaxValue));
    }

    /// <summary>
    /// Asks the kernel to back this block with 2 MiB pages where it can (<c>madvise(MADV_HUGEPAGE)</c>; Linux,
    /// anonymous blocks only; honoured when transparent huge pages are <c>always</c> or <c>madvise</c>, the usual
    /// default). A graph walk touches a few cache lines on each of thousands of random pages per query: with 4 KiB
    /// pages nearly every node costs a TLB miss, with 2 MiB pages almost none (ann-duel on glove-100 and
    /// fashion-mnist: +12–15 % queries per CPU second). Pages are then committed 2 MiB at a time, so callers advise
    /// only blocks they will fill. Returns false when the advice was not given.
    /// </summary>
    public bool AdviseHugePages()
    {
        if (!mapped || FileBacked || Length < HugePageBytes || !OperatingSystem.IsLinux())
        {
            return false;
        }

        return Madvise(pointer, (nuint)Length, MadvHugePage) == 0;
    }

    private const long HugePageBytes = 2 << 20;
    private const int MadvHugePage = 14;

    /// <summary>True when the pages are backed by a file on disk rather than by anonymous memory.</summary>
    public bool FileBacked { get; }

    ~NativeBlock() => Free();

    /// <summary>Bytes reserved by all live blocks (resident only where written).</summary>
    public static long TotalBytes => Interlocked.Read(ref totalBytes);

    public long Length { get; }

    public nint Pointer => pointer;

    public Span<byte> AsSpan(long offset, int length) =>
        offset < 0 || offset + length > Length ? throw new ArgumentOutOfRangeException(nameof(offset)) : new((byte*)pointer + offset, length);

    public void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }

    private void Free()
    {
        var p = Interlocked.Exchange(ref pointer, 0);
        if (p == 0)
        {
            return;
        }

        if (mapped)
        {
            _ = Munmap(p, (nuint)Length);
        }
        else
        {
            NativeMemory.AlignedFree((void*)p);
        }

        Interlocked.Add(ref totalBytes, -Length);
        GC.RemoveMemoryPressure(Math.Min(Length, int.MaxValue));
    }

    private static nint MapSpillFile(string directory, long bytes)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, $".spill-{Guid.NewGuid():N}");
        using var handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite);
        try
        {
            RandomAccess.SetLength(handle, bytes);
            var address = Mmap(0, (nuint)bytes, ProtRead | ProtWrite, MapShared, (int)handle.DangerousGetHandle(), 0);
            if (address == -1)
            {
                throw new IOException($"mmap of {bytes} bytes of {path} failed (errno {Marshal.GetLastPInvokeError()})");
            }

            return address;
        }
        finally
        {
            // The mapping keeps the inode alive; the name is not needed any more.
            File.Delete(path);
        }
    }

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    private static partial nint Mmap(nint address, nuint length, int protection, int flags, int fd, nint offset);

    [LibraryImport("libc", EntryPoint = "madvise", SetLastError = true)]
    private static partial int Madvise(nint address, nuint length, int advice);

    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    private static partial int Munmap(nint address, nuint length);
}
