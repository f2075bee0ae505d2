using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using Vectorizer.Engine.Errors;

namespace Vectorizer.Engine.Storage;

/// <summary>One record read back from the log.</summary>
public readonly record struct WalRecord(long Lsn, byte Kind, ReadOnlyMemory<byte> Body);

/// <summary>
/// A segmented write-ahead log. Segment files are named by the first sequence number (LSN) they hold and start
/// with a 32-byte header (magic, format version, first LSN, CRC). Each record is framed as
/// <c>[u32 length][u32 crc32c][u64 lsn][u8 kind][body]</c>, the length and CRC covering lsn, kind and body.
/// <para>
/// <see cref="Append"/> writes through to the OS (a process crash cannot lose it); <see cref="WaitDurableAsync"/>
/// fsyncs. Concurrent waiters share one fsync (group commit): whoever holds the flush gate syncs everything
/// appended so far, and the others find their LSN already durable.
/// </para>
/// </summary>
public sealed class WriteAheadLog : IDisposable
{
    public const int HeaderSize = 32;
    public const int FrameOverhead = 8 + 8 + 1;
    public const ushort FormatVersion = 1;
    private const int MaxRecordBytes = 1 << 30;
    private static ReadOnlySpan<byte> Magic => "VZWAL\0\0\0"u8;

    private readonly string directory;
    private readonly long segmentCapacity;
    private readonly ILogger logger;
    private readonly object appendLock = new();
    private readonly SemaphoreSlim flushGate = new(1, 1);
    private readonly List<(long FirstLsn, string Path)> segments = [];

    private readonly List<SafeFileHandle> retired = [];
    private SafeFileHandle? current;
    private long currentSize;
    private long lastLsn;
    private long durableLsn;
    private bool disposed;

    private WriteAheadLog(string directory, long segmentCapacity, ILogger logger)
    {
        this.directory = directory;
        this.segmentCapacity = segmentCapacity;
        this.logger = logger;
    }

    /// <summary>The last LSN appended.</summary>
    public long LastLsn => Interlocked.Read(ref lastLsn);

    /// <summary>The last LSN known to be on stable storage.</summary>
    public long DurableLsn => Interlocked.Read(ref durableLsn);

    /// <summary>The first LSN still held by the log (0 when empty).</summary>
    public long FirstLsn
    {
        get
        {
            lock (appendLock)
            {
                return segments.Count == 0 ? 0 : segments[0].FirstLsn;
            }
        }
    }

    public long SizeBytes
    {
        get
        {
            lock (appendLock)
            {
                long total = 0;
                foreach (var (_, path) in segments)
                {
                    total += new FileInfo(path).Length;
                }

                return total;
            }
        }
    }

    /// <summary>
    /// Opens (or creates) the log in <paramref name="directory"/>, passing every intact record with an LSN above
    /// <paramref name="afterLsn"/> to <paramref name="replay"/> in order. A torn or corrupt tail is cut off with a
    /// warning; records after it (including later segments) are discarded.
    /// </summary>
    public static WriteAheadLog Open(string directory, long segmentCapacityBytes, ILogger logger, long afterLsn, Action<WalRecord> replay)
    {
        Directory.CreateDirectory(directory);
        var wal = new WriteAheadLog(directory, Math.Max(segmentCapacityBytes, 1 << 16), logger);
        wal.Recover(afterLsn, replay);
        return wal;
    }

    private void Recover(long afterLsn, Action<WalRecord> replay)
    {
        foreach (var file in Directory.EnumerateFiles(directory, "*.wal"))
        {
            var stem = Path.GetFileNameWithoutExtension(file);
            if (long.TryParse(stem, NumberStyles.None, CultureInfo.InvariantCulture, out var first))
            {
                segments.Add((first, file));
            }
        }

        foreach (var stale in Directory.EnumerateFiles(directory, "*.tmp"))
        {
            File.Delete(stale);
        }

        segments.Sort((a, b) => a.FirstLsn.CompareTo(b.FirstLsn));
        long expected = -1;
        for (var i = 0; i < segments.Count; i++)
        {
            var (first, path) = segments[i];
            if (expected >= 0 && first != expected)
            {
                logger.LogWarning("WAL segment {Path} starts at LSN {First} but {Expected} was expected; discarding it and later segments", path, first, expected);
                DropSegmentsFrom(i);
                break;
            }

            var (validEnd, last, intact) = ReadSegment(path, first, afterLsn, replay);
            expected = last + 1;
            if (validEnd < 0)
            {
                logger.LogWarning("WAL segment {Path} has a torn header; discarding it and later segments", path);
                DropSegmentsFrom(i);
                break;
            }

            if (!intact)
            {
                logger.LogWarning("WAL segment {Path}: torn or corrupt record after LSN {Last}; truncating at byte {Offset}", path, last, validEnd);
                using (var handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite))
                {
                    RandomAccess.SetLength(handle, validEnd);
                    RandomAccess.FlushToDisk(handle);
                }

                DropSegmentsFrom(i + 1);
                break;
            }
        }

        if (segments.Count > 0 && expected - 1 < afterLsn)
        {
            // Everything the log holds is older than the checkpoint (its tail was lost after the checkpoint was
            // written): start over at afterLsn + 1 so LSNs stay contiguous within the log.
            logger.LogWarning("WAL in {Directory} ends at LSN {Last}, before the checkpoint at {Checkpoint}; starting a new log", directory, expected - 1, afterLsn);
            DropSegmentsFrom(0);
        }

        if (segments.Count > 0)
        {
            var (first, path) = segments[^1];
            current = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
            currentSize = RandomAccess.GetLength(current);
            lastLsn = Math.Max(expected - 1, first - 1);
        }

        lastLsn = Math.Max(lastLsn, afterLsn);
        durableLsn = lastLsn;
    }

    private void DropSegmentsFrom(int index)
    {
        for (var j = segments.Count - 1; j >= index; j--)
        {
            File.Delete(segments[j].Path);
            segments.RemoveAt(j);
        }

        FileUtil.SyncDirectory(directory);
    }

    /// <summary>Reads one segment; returns the end of the last intact record, the last LSN seen, and whether the file was intact.</summary>
    private (long ValidEnd, long LastLsn, bool Intact) ReadSegment(string path, long firstLsn, long afterLsn, Action<WalRecord> replay)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < HeaderSize || !ValidHeader(bytes, firstLsn))
        {
            return (-1, firstLsn - 1, false);
        }

        var position = HeaderSize;
        var lsn = firstLsn - 1;
        while (position < bytes.Length)
        {
            if (bytes.Length - position < 8)
            {
                return (position, lsn, false);
            }

            var length = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(position));
            var crc = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(position + 4));
            if (length < 9 || length > MaxRecordBytes || length > bytes.Length - position - 8)
            {
                return (position, lsn, false);
            }

            var body = bytes.AsMemory(position + 8, length);
            if (Crc32C.Compute(body.Span) != crc)
            {
                return (position, lsn, false);
            }

            var recordLsn = BinaryPrimitives.ReadInt64LittleEndian(body.Span);
            if (recordLsn != lsn + 1)
            {
                return (position, lsn, false);
            }

            lsn = recordLsn;
            if (lsn > afterLsn)
            {
                replay(new WalRecord(lsn, body.Span[8], body[9..]));
            }

            position += 8 + length;
        }

        return (position, lsn, true);
    }

    private static bool ValidHeader(ReadOnlySpan<byte> bytes, long firstLsn) =>
        bytes[..8].SequenceEqual(Magic) &&
        BinaryPrimitives.ReadUInt16LittleEndian(bytes[8..]) == FormatVersion &&
        BinaryPrimitives.ReadInt64LittleEndian(bytes[16..]) == firstLsn &&
        BinaryPrimitives.ReadUInt32LittleEndian(bytes[24..]) == Crc32C.Compute(bytes[..24]);

    private static void WriteHeader(Span<byte> header, long firstLsn)
    {
        header.Clear();
        Magic.CopyTo(header);
        BinaryPrimitives.WriteUInt16LittleEndian(header[8..], FormatVersion);
        BinaryPrimitives.WriteInt64LittleEndian(header[16..], firstLsn);
        BinaryPrimitives.WriteUInt32LittleEndian(header[24..], Crc32C.Compute(header[..24]));
    }

    /// <summary>Appends one record and returns its LSN. The bytes reach the OS before this returns.</summary>
    public long Append(byte kind, ReadOnlySpan<byte> body)
    {
        if (body.Length > MaxRecordBytes - 9)
        {
            throw new VectorizerException(ErrorCode.OperationTooLarge, $"Operation too large for the write-ahead log ({body.Length} bytes)");
        }

        var frameLength = 8 + 9 + body.Length;
        var frame = ArrayPool<byte>.Shared.Rent(frameLength);
        try
        {
            lock (appendLock)
            {
                ObjectDisposedException.ThrowIf(disposed, this);
                var lsn = lastLsn + 1;
                var span = frame.AsSpan(0, frameLength);
                BinaryPrimitives.WriteInt32LittleEndian(span, 9 + body.Length);
                BinaryPrimitives.WriteInt64LittleEndian(span[8..], lsn);
                span[16] = kind;
                body.CopyTo(span[17..]);
                BinaryPrimitives.WriteUInt32LittleEndian(span[4..], Crc32C.Compute(span[8..]));
                if (current is null || (currentSize + frameLength > segmentCapacity && currentSize > HeaderSize))
                {
                    Rotate(lsn);
                }

                try
                {
                    RandomAccess.Write(current!, span, currentSize);
                }
                catch (IOException e)
                {
                    throw new VectorizerException(ErrorCode.StorageFailure, $"Write-ahead log append failed: {e.Message}", e);
                }

                currentSize += frameLength;
                Interlocked.Exchange(ref lastLsn, lsn);
                return lsn;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(frame);
        }
    }

    /// <summary>Starts a new segment whose first record will be <paramref name="firstLsn"/>. Caller holds the append lock.</summary>
    private void Rotate(long firstLsn)
    {
        if (current is not null)
        {
            // The old segment must be durable before any later LSN can be reported durable. Its handle is
            // retired rather than closed: a concurrent flusher may still be syncing it.
            RandomAccess.FlushToDisk(current);
            retired.Add(current);
            Interlocked.Exchange(ref durableLsn, Math.Max(Interlocked.Read(ref durableLsn), firstLsn - 1));
        }

        var path = Path.Combine(directory, firstLsn.ToString("D20", CultureInfo.InvariantCulture) + ".wal");
        var handle = File.OpenHandle(path, FileMode.Create, FileAccess.ReadWrite, FileShare.Read);
        Span<byte> header = stackalloc byte[HeaderSize];
        WriteHeader(header, firstLsn);
        RandomAccess.Write(handle, header, 0);
        RandomAccess.FlushToDisk(handle);
        FileUtil.SyncDirectory(directory);
        segments.Add((firstLsn, path));
        current = handle;
        currentSize = HeaderSize;
    }

    /// <summary>Returns once every record up to <paramref name="lsn"/> is on stable storage.</summary>
    public async ValueTask WaitDurableAsync(long lsn, CancellationToken cancellationToken = default)
    {
        if (Interlocked.Read(ref durableLsn) >= lsn)
        {
            return;
        }

        await flushGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (Interlocked.Read(ref durableLsn) >= lsn)
            {
                return;
            }

            SafeFileHandle handle;
            long target;
            lock (appendLock)
            {
                handle = current!;
                target = lastLsn;
            }

            try
            {
                RandomAccess.FlushToDisk(handle);
            }
            catch (IOException e)
            {
                throw new VectorizerException(ErrorCode.StorageFailure, $"Write-ahead log fsync failed: {e.Message}", e);
            }

            Interlocked.Exchange(ref durableLsn, Math.Max(Interlocked.Read(ref durableLsn), target));
            DisposeRetired();
        }
        finally
        {
            flushGate.Release();
        }
    }

    /// <summary>Closes handles of rotated segments. Caller holds the flush gate, so no flusher is using them.</summary>
    private void DisposeRetired()
    {
        lock (appendLock)
        {
            foreach (var handle in retired)
            {
                handle.Dispose();
            }

            retired.Clear();
        }
    }

    /// <summary>fsyncs everything appended so far.</summary>
    public void Flush()
    {
        flushGate.Wait();
        try
        {
            lock (appendLock)
            {
                if (current is not null && !disposed)
                {
                    RandomAccess.FlushToDisk(current);
                }

                Interlocked.Exchange(ref durableLsn, lastLsn);
            }

            DisposeRetired();
        }
        finally
        {
            flushGate.Release();
        }
    }

    /// <summary>Deletes closed segments whose records all have LSN ≤ <paramref name="lsn"/>.</summary>
    public void TruncatePrefix(long lsn)
    {
        lock (appendLock)
        {
            var removed = false;
            while (segments.Count > 1 && segments[1].FirstLsn - 1 <= lsn)
            {
                File.Delete(segments[0].Path);
                segments.RemoveAt(0);
                removed = true;
            }

            if (removed)
            {
                FileUtil.SyncDirectory(directory);
            }
        }
    }

    /// <summary>Reads all records with LSN above <paramref name="afterLsn"/> (used by tools and replication).</summary>
    public List<WalRecord> ReadAfter(long afterLsn)
    {
        var records = new List<WalRecord>();
        lock (appendLock)
        {
            foreach (var (first, path) in segments)
            {
                ReadSegment(path, first, afterLsn, r => records.Add(new WalRecord(r.Lsn, r.Kind, r.Body.ToArray())));
            }
        }

        return records;
    }

    public void Dispose()
    {
        flushGate.Wait();
        try
        {
            DisposeCore();
        }
        finally
        {
            flushGate.Release();
        }
    }

    private void DisposeCore()
    {
        lock (appendLock)
        {
            if (disposed)
            {
                return;
            }

            disposed = true;
            foreach (var handle in retired)
            {
                handle.Dispose();
            }

            if (current is not null)
            {
                RandomAccess.FlushToDisk(current);
                current.Dispose();
            }

            // Everything is on disk: waiters still queued find their LSN durable instead of a closed handle.
            Interlocked.Exchange(ref durableLsn, lastLsn);
        }
    }
}
