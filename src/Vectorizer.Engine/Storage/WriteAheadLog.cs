using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using Microsoft.Extensions.Logging;
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
/// appended so far, and the others find their LSN already durable. A segment is fsynced before the next one is
/// created, so only the last segment can end in a torn record.
/// </para>
/// <para>
/// Recovery cuts exactly one kind of damage: a torn or checksum-failing tail of the last segment (or a last segment
/// whose header never became durable), which holds nothing that was acknowledged as durable. Anything else (damage
/// in an earlier segment, a missing range of LSNs, a record with a valid checksum and the wrong LSN, a newer format)
/// throws <see cref="CorruptDataException"/> or <see cref="UnsupportedFormatException"/> and changes nothing on disk.
/// After a failed fsync the log refuses further writes: the kernel may have dropped the unsynced pages, and a later
/// fsync that succeeds would acknowledge records behind a hole.
/// </para>
/// </summary>
public sealed class WriteAheadLog : IDisposable
{
    public const int HeaderSize = 32;
    public const int FrameOverhead = 8 + 8 + 1;
    public const ushort FormatVersion = OnDiskFormat.WalSegment;
    private const int MaxRecordBytes = 1 << 30;
    private static ReadOnlySpan<byte> Magic => "VZWAL\0\0\0"u8;

    private readonly IStorage storage;
    private readonly string directory;
    private readonly long segmentCapacity;
    private readonly ILogger logger;
    private readonly object appendLock = new();
    private readonly SemaphoreSlim flushGate = new(1, 1);
    private readonly List<(long FirstLsn, string Path)> segments = [];

    private readonly List<IStorageFile> retired = [];
    private IStorageFile? current;
    private long currentSize;
    private bool currentIsOlderFormat;
    private long lastLsn;
    private long durableLsn;
    private Exception? syncFailure;
    private bool disposed;

    private WriteAheadLog(IStorage storage, string directory, long segmentCapacity, ILogger logger)
    {
        this.storage = storage;
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
                    total += storage.GetFileLength(path);
                }

                return total;
            }
        }
    }

    /// <summary>Opens (or creates) a log on the real file system; see <see cref="Open(IStorage, string, long, ILogger, long, Action{WalRecord})"/>.</summary>
    public static WriteAheadLog Open(string directory, long segmentCapacityBytes, ILogger logger, long afterLsn, Action<WalRecord> replay) =>
        Open(PhysicalStorage.Instance, directory, segmentCapacityBytes, logger, afterLsn, replay);

    /// <summary>
    /// Opens (or creates) the log in <paramref name="directory"/>, passing every intact record with an LSN above
    /// <paramref name="afterLsn"/> to <paramref name="replay"/> in order. A torn or corrupt tail of the last segment is
    /// cut off with a warning. An exception from <paramref name="replay"/>, damage anywhere else, or a log that does not
    /// reach back to <paramref name="afterLsn"/> + 1 throws, and nothing is changed on disk.
    /// </summary>
    public static WriteAheadLog Open(IStorage storage, string directory, long segmentCapacityBytes, ILogger logger, long afterLsn, Action<WalRecord> replay)
    {
        FileUtil.CreateDirectoryDurable(storage, directory);
        var wal = new WriteAheadLog(storage, directory, Math.Max(segmentCapacityBytes, 1 << 16), logger);
        wal.Recover(afterLsn, replay);
        return wal;
    }

    /// <summary>What <see cref="ReadSegment"/> found at the end of a segment.</summary>
    private enum SegmentEnd
    {
        Intact,
        TornTail,
        TornHeader,
    }

    /// <summary>
    /// Reads the log in <paramref name="directory"/> without changing anything: replays every intact record above
    /// <paramref name="afterLsn"/> and says what <see cref="Open(IStorage, string, long, ILogger, long, Action{WalRecord})"/>
    /// would cut. Throws what Open throws (<see cref="CorruptDataException"/>, <see cref="UnsupportedFormatException"/>,
    /// or the replay's exception). <paramref name="position"/>, when given, hears where each record starts.
    /// </summary>
    public static WalScan Scan(IStorage storage, string directory, long afterLsn, Action<WalRecord> replay, Action<long, string, long>? position = null)
    {
        var segments = new List<WalSegment>();
        foreach (var file in storage.ListFiles(directory))
        {
            if (file.EndsWith(".wal", StringComparison.Ordinal) &&
                long.TryParse(Path.GetFileNameWithoutExtension(file), NumberStyles.None, CultureInfo.InvariantCulture, out var first))
            {
                segments.Add(new WalSegment(first, file));
            }
        }

        segments.Sort((a, b) => a.FirstLsn.CompareTo(b.FirstLsn));
        if (segments.Count > 0 && segments[0].FirstLsn > afterLsn + 1)
        {
            throw new CorruptDataException(
                $"WAL in {directory} starts at LSN {segments[0].FirstLsn}, but the state it replays onto ends at LSN {afterLsn}: " +
                $"operations {afterLsn + 1}..{segments[0].FirstLsn - 1} are in neither");
        }

        // Replay while verifying; the one cut there may be is made by the caller once everything was read (a replay
        // exception or damage further on leaves the files as they are).
        long expected = -1;
        WalTornTail? torn = null;
        for (var i = 0; i < segments.Count; i++)
        {
            var (first, path) = segments[i];
            if (expected >= 0 && first != expected)
            {
                throw new CorruptDataException($"WAL segment {path} starts at LSN {first} but {expected} was expected: operations are missing");
            }

            var (validEnd, last, end, length) = ReadSegment(storage, path, first, afterLsn, replay, position);
            if (end != SegmentEnd.Intact && i < segments.Count - 1)
            {
                throw new CorruptDataException(
                    $"WAL segment {path} is damaged after LSN {last} (byte {validEnd}), but a later segment exists, so it had been fsynced: not a torn tail");
            }

            if (end != SegmentEnd.Intact)
            {
                torn = new WalTornTail(path, end == SegmentEnd.TornHeader, Math.Max(validEnd, 0), last, length - Math.Max(validEnd, 0));
            }

            expected = last + 1;
        }

        var lastLsn = segments.Count == 0 ? 0 : expected - 1;
        return new WalScan(segments, lastLsn, torn, segments.Count > 0 && lastLsn < afterLsn);
    }

    private void Recover(long afterLsn, Action<WalRecord> replay)
    {
        var scan = Scan(storage, directory, afterLsn, replay);
        segments.AddRange(scan.Segments.Select(s => (s.FirstLsn, s.Path)));
        if (scan.TornTail is { } torn)
        {
            if (torn.Header)
            {
                logger.LogWarning("WAL segment {Path} has a torn header (a rotation that never completed); removing it", torn.Path);
                DropSegmentsFrom(segments.Count - 1);
            }
            else
            {
                logger.LogWarning("WAL segment {Path}: torn or corrupt record after LSN {Last}; truncating at byte {Offset} ({Bytes} bytes never acknowledged as durable)", torn.Path, torn.LastLsn, torn.ValidEnd, torn.DroppedBytes);
                using var handle = storage.OpenFile(torn.Path, StorageOpenMode.Open);
                handle.SetLength(torn.ValidEnd);
                handle.Flush();
            }
        }

        if (scan.EndsBeforeCheckpoint)
        {
            // Everything the log holds is older than the checkpoint (its tail was lost after the checkpoint was
            // written): start over at afterLsn + 1 so LSNs stay contiguous within the log.
            logger.LogWarning("WAL in {Directory} ends at LSN {Last}, before the checkpoint at {Checkpoint}; starting a new log", directory, scan.LastLsn, afterLsn);
            DropSegmentsFrom(0);
        }

        if (segments.Count > 0)
        {
            var (first, path) = segments[^1];
            current = storage.OpenFile(path, StorageOpenMode.Open);
            currentSize = current.Length;
            currentIsOlderFormat = SegmentVersion(current) < FormatVersion;
            lastLsn = Math.Max(scan.LastLsn, first - 1);

            // After a killed process, what was read may be only in the page cache: the last segment's records and even
            // its name. Make both durable before anything is acknowledged on top of them (a later fsync of the file
            // alone would not save a name that was never synced).
            current.Flush();
            storage.SyncDirectory(directory);
        }

        lastLsn = Math.Max(lastLsn, afterLsn);
        durableLsn = lastLsn;
    }

    /// <summary>
    /// Removes every record after <paramref name="lsn"/> from a closed log, and anything unreadable (an operator's repair,
    /// accepting the loss): the segment holding <paramref name="lsn"/> + 1, or the first damage after
    /// <paramref name="lsn"/>, is cut there and later segments are deleted. Works on a damaged log (it only follows
    /// the framing). Returns how many intact records were removed.
    /// </summary>
    public static long TruncateAfter(IStorage storage, string directory, long lsn)
    {
        var segments = new List<WalSegment>();
        foreach (var file in storage.ListFiles(directory))
        {
            if (file.EndsWith(".wal", StringComparison.Ordinal) &&
                long.TryParse(Path.GetFileNameWithoutExtension(file), NumberStyles.None, CultureInfo.InvariantCulture, out var first))
            {
                segments.Add(new WalSegment(first, file));
            }
        }

        segments.Sort((a, b) => a.FirstLsn.CompareTo(b.FirstLsn));
        long removed = 0;
        var cut = false;
        foreach (var (first, path) in segments)
        {
            var bytes = storage.ReadAllBytes(path);
            var headerOk = bytes.Length >= HeaderSize && bytes.AsSpan(0, 8).SequenceEqual(Magic) &&
                BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(24)) == Crc32C.Compute(bytes.AsSpan(0, 24));
            if (cut || first > lsn + 1 || !headerOk)
            {
                removed += headerOk ? CountFrames(bytes, HeaderSize, long.MinValue).Count : 0;
                storage.DeleteFile(path);
                cut = true;
                continue;
            }

            var (_, end, stopped) = CountFrames(bytes, HeaderSize, lsn, first);
            if (stopped)
            {
                removed += CountFrames(bytes, (int)end, long.MinValue).Count;
                using var handle = storage.OpenFile(path, StorageOpenMode.Open);
                handle.SetLength(end);
                handle.Flush();
                cut = true;
            }
        }

        storage.SyncDirectory(directory);
        return removed;
    }

    /// <summary>
    /// Walks intact frames from <paramref name="at"/>; stops at the first frame that is damaged, or (with
    /// <paramref name="firstLsn"/>) whose LSN is above <paramref name="keepUpTo"/>. Returns the frames passed, where it
    /// stopped, and whether it stopped before the end of the file.
    /// </summary>
    private static (long Count, long End, bool Stopped) CountFrames(byte[] bytes, int at, long keepUpTo, long firstLsn = 0)
    {
        long count = 0;
        var lsn = firstLsn - 1;
        while (at < bytes.Length)
        {
            if (bytes.Length - at < 8)
            {
                return (count, at, true);
            }

            var length = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(at));
            if (length < 9 || length > bytes.Length - at - 8 || Crc32C.Compute(bytes.AsSpan(at + 8, length)) != BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at + 4)))
            {
                return (count, at, true);
            }

            var recordLsn = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(at + 8));
            if (keepUpTo != long.MinValue && (recordLsn > keepUpTo || recordLsn != lsn + 1))
            {
                return (count, at, true);
            }

            lsn = recordLsn;
            count++;
            at += 8 + length;
        }

        return (count, at, false);
    }

    private void DropSegmentsFrom(int index)
    {
        for (var j = segments.Count - 1; j >= index; j--)
        {
            storage.DeleteFile(segments[j].Path);
            segments.RemoveAt(j);
        }

        storage.SyncDirectory(directory);
    }

    /// <summary>
    /// Reads one segment, passing records above <paramref name="afterLsn"/> to <paramref name="replay"/>; returns the
    /// end of the last intact record, the last LSN seen, how the segment ends, and its length.
    /// </summary>
    private static (long ValidEnd, long LastLsn, SegmentEnd End, long Length) ReadSegment(
        IStorage storage, string path, long firstLsn, long afterLsn, Action<WalRecord> replay, Action<long, string, long>? position = null)
    {
        var bytes = storage.ReadAllBytes(path);
        if (bytes.Length < HeaderSize || !ValidHeader(path, bytes, firstLsn))
        {
            if (bytes.Length > HeaderSize)
            {
                throw new CorruptDataException($"WAL segment {path} has a damaged header but holds records");
            }

            return (-1, firstLsn - 1, SegmentEnd.TornHeader, bytes.Length);
        }

        var at = HeaderSize;
        var lsn = firstLsn - 1;
        while (at < bytes.Length)
        {
            if (bytes.Length - at < 8)
            {
                return (at, lsn, SegmentEnd.TornTail, bytes.Length);
            }

            var length = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(at));
            var crc = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at + 4));
            if (length < 9 || length > MaxRecordBytes || length > bytes.Length - at - 8)
            {
                return (at, lsn, SegmentEnd.TornTail, bytes.Length);
            }

            var body = bytes.AsMemory(at + 8, length);
            if (Crc32C.Compute(body.Span) != crc)
            {
                return (at, lsn, SegmentEnd.TornTail, bytes.Length);
            }

            var recordLsn = BinaryPrimitives.ReadInt64LittleEndian(body.Span);
            if (recordLsn != lsn + 1)
            {
                throw new CorruptDataException($"WAL segment {path}: record at byte {at} has LSN {recordLsn} and a valid checksum, but {lsn + 1} was expected");
            }

            lsn = recordLsn;
            position?.Invoke(lsn, path, at);
            if (lsn > afterLsn)
            {
                replay(new WalRecord(lsn, body.Span[8], body[9..]));
            }

            at += 8 + length;
        }

        return (at, lsn, SegmentEnd.Intact, bytes.Length);
    }

    /// <summary>True for a valid header; false for a torn one; throws for a newer version or a header that contradicts the file name.</summary>
    private static bool ValidHeader(string path, ReadOnlySpan<byte> bytes, long firstLsn)
    {
        if (!bytes[..8].SequenceEqual(Magic) || BinaryPrimitives.ReadUInt32LittleEndian(bytes[24..]) != Crc32C.Compute(bytes[..24]))
        {
            return false;
        }

        var version = BinaryPrimitives.ReadUInt16LittleEndian(bytes[8..]);
        if (version is > FormatVersion or < OnDiskFormat.OldestWalSegment)
        {
            throw new UnsupportedFormatException($"WAL segment {path} has format version {version}; this Vectorizer reads versions {OnDiskFormat.OldestWalSegment} to {FormatVersion} (written by a newer version?)");
        }

        var headerLsn = BinaryPrimitives.ReadInt64LittleEndian(bytes[16..]);
        return headerLsn == firstLsn
            ? true
            : throw new CorruptDataException($"WAL segment {path} says it starts at LSN {headerLsn}, its name says {firstLsn}");
    }

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
                ThrowIfSyncFailed();
                var lsn = lastLsn + 1;
                var span = frame.AsSpan(0, frameLength);
                BinaryPrimitives.WriteInt32LittleEndian(span, 9 + body.Length);
                BinaryPrimitives.WriteInt64LittleEndian(span[8..], lsn);
                span[16] = kind;
                body.CopyTo(span[17..]);
                BinaryPrimitives.WriteUInt32LittleEndian(span[4..], Crc32C.Compute(span[8..]));
                try
                {
                    // A segment of an older format takes no record of this one (an older reader of it would meet kinds
                    // it does not know instead of a version it refuses).
                    if (current is null || currentIsOlderFormat || (currentSize + frameLength > segmentCapacity && currentSize > HeaderSize))
                    {
                        Rotate(lsn);
                    }

                    current!.Write(span, currentSize);
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
            // The old segment must be durable before any later LSN can be reported durable (and before a later
            // segment exists: recovery cuts torn tails in the last segment only). Its handle is retired rather than
            // closed: a concurrent flusher may still be syncing it.
            SyncOrPoison(current);
            retired.Add(current);
            current = null;
            Interlocked.Exchange(ref durableLsn, Math.Max(Interlocked.Read(ref durableLsn), firstLsn - 1));
        }

        var path = Path.Combine(directory, firstLsn.ToString("D20", CultureInfo.InvariantCulture) + ".wal");
        var handle = storage.OpenFile(path, StorageOpenMode.Create);
        try
        {
            Span<byte> header = stackalloc byte[HeaderSize];
            WriteHeader(header, firstLsn);
            handle.Write(header, 0);
            SyncOrPoison(handle);
            storage.SyncDirectory(directory);
        }
        catch
        {
            handle.Dispose();
            throw;
        }

        if (segments.Count == 0 || segments[^1].FirstLsn != firstLsn)
        {
            segments.Add((firstLsn, path));
        }

        current = handle;
        currentSize = HeaderSize;
        currentIsOlderFormat = false;
    }

    /// <summary>The format version in an open segment's header (0 when it has none yet).</summary>
    private static ushort SegmentVersion(IStorageFile file)
    {
        Span<byte> header = stackalloc byte[HeaderSize];
        return file.Length >= HeaderSize && file.Read(header, 0) == HeaderSize ? BinaryPrimitives.ReadUInt16LittleEndian(header[8..]) : (ushort)0;
    }

    /// <summary>fsyncs <paramref name="file"/>; a failure poisons the log (see the type's remarks).</summary>
    private void SyncOrPoison(IStorageFile file)
    {
        try
        {
            file.Flush();
        }
        catch (IOException e)
        {
            Volatile.Write(ref syncFailure, e);
            throw new VectorizerException(ErrorCode.StorageFailure, $"Write-ahead log fsync failed: {e.Message}; the log accepts no more writes until the collection is reopened", e);
        }
    }

    private void ThrowIfSyncFailed()
    {
        if (Volatile.Read(ref syncFailure) is { } failure)
        {
            throw new VectorizerException(
                ErrorCode.StorageFailure,
                $"Write-ahead log in {directory} failed an fsync earlier ({failure.Message}); it accepts no more writes until the collection is reopened (restart the server)",
                failure);
        }
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

            IStorageFile? handle;
            long target;
            lock (appendLock)
            {
                ThrowIfSyncFailed();
                ObjectDisposedException.ThrowIf(disposed, this);
                handle = current;
                target = lastLsn;
            }

            // No current segment: a rotation failed after syncing (and retiring) the previous one.
            if (handle is not null)
            {
                SyncOrPoison(handle);
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
                ThrowIfSyncFailed();
                if (current is not null && !disposed)
                {
                    SyncOrPoison(current);
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
                storage.DeleteFile(segments[0].Path);
                segments.RemoveAt(0);
                removed = true;
            }

            if (removed)
            {
                storage.SyncDirectory(directory);
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
                ReadSegment(storage, path, first, afterLsn, r => records.Add(new WalRecord(r.Lsn, r.Kind, r.Body.ToArray())));
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

            retired.Clear();
            if (current is not null)
            {
                try
                {
                    if (syncFailure is null)
                    {
                        current.Flush();

                        // Everything is on disk: waiters still queued find their LSN durable instead of a closed handle.
                        Interlocked.Exchange(ref durableLsn, lastLsn);
                    }
                }
                catch (IOException e)
                {
                    Volatile.Write(ref syncFailure, e);
                    logger.LogError(e, "WAL in {Directory}: the fsync on close failed; operations after LSN {Durable} may be lost", directory, durableLsn);
                }
                finally
                {
                    current.Dispose();
                }
            }
            else
            {
                Interlocked.Exchange(ref durableLsn, lastLsn);
            }
        }
    }
}

/// <summary>One segment file of a log: the first LSN it holds (its name) and its path.</summary>
public readonly record struct WalSegment(long FirstLsn, string Path);

/// <summary>The torn end of a log's last segment: what recovery cuts (nothing in it was acknowledged as durable).</summary>
/// <param name="Path">The segment.</param>
/// <param name="Header">True when the segment's header itself is torn (a rotation cut short): the file is removed.</param>
/// <param name="ValidEnd">Where the intact records end (the file is truncated there).</param>
/// <param name="LastLsn">The last intact record's LSN.</param>
/// <param name="DroppedBytes">Bytes after <paramref name="ValidEnd"/>.</param>
public sealed record WalTornTail(string Path, bool Header, long ValidEnd, long LastLsn, long DroppedBytes);

/// <summary>What reading a log found, before recovery changes anything (see <see cref="WriteAheadLog.Scan"/>).</summary>
/// <param name="Segments">The segments, in order.</param>
/// <param name="LastLsn">The last intact record's LSN (0 when the log is empty).</param>
/// <param name="TornTail">The torn end of the last segment, when there is one.</param>
/// <param name="EndsBeforeCheckpoint">True when every record is at or below the checkpoint (the log is started over).</param>
public sealed record WalScan(IReadOnlyList<WalSegment> Segments, long LastLsn, WalTornTail? TornTail, bool EndsBeforeCheckpoint)
{
    public long FirstLsn => Segments.Count == 0 ? 0 : Segments[0].FirstLsn;
}
