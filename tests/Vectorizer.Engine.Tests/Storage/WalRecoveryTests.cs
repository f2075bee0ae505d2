using System.Buffers.Binary;
using Microsoft.Extensions.Logging.Abstractions;
using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Storage;

namespace Vectorizer.Engine.Tests;

/// <summary>
/// What WAL recovery may cut (a torn or checksum-failing tail of the last segment) and what it must refuse without
/// changing a byte (damage anywhere else, missing LSNs, a newer format, a record the caller cannot apply), and the
/// log's refusal to go on after a failed fsync.
/// </summary>
public class WalRecoveryTests
{
    private static void Write(string dir, int records, int bodyBytes = 2000, long capacity = 1 << 16)
    {
        using var wal = WriteAheadLog.Open(dir, capacity, NullLogger.Instance, 0, _ => { });
        for (var i = 1; i <= records; i++)
        {
            wal.Append(1, new byte[bodyBytes]);
        }
    }

    private static Dictionary<string, byte[]> Files(string dir) =>
        Directory.GetFiles(dir).ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes);

    private static WriteAheadLog Open(string dir, long after = 0, Action<WalRecord>? replay = null) =>
        WriteAheadLog.Open(dir, 1 << 16, NullLogger.Instance, after, replay ?? (_ => { }));

    [Fact]
    public void DamageInASegmentThatIsNotTheLastIsRefusedAndKept()
    {
        using var dir = new TempDirectory();
        Write(dir.Path, 100);
        var segments = Directory.GetFiles(dir.Path, "*.wal").Order().ToList();
        Assert.True(segments.Count > 2);
        var bytes = File.ReadAllBytes(segments[0]);
        bytes[WriteAheadLog.HeaderSize + 100] ^= 0x40;
        File.WriteAllBytes(segments[0], bytes);
        var before = Files(dir.Path);

        var error = Assert.Throws<CorruptDataException>(() => Open(dir.Path));
        Assert.Contains("not a torn tail", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, Files(dir.Path));
    }

    [Fact]
    public void AMissingSegmentIsRefused()
    {
        using var dir = new TempDirectory();
        Write(dir.Path, 100);
        var segments = Directory.GetFiles(dir.Path, "*.wal").Order().ToList();
        File.Delete(segments[1]);
        var before = Files(dir.Path);
        Assert.Contains("operations are missing", Assert.Throws<CorruptDataException>(() => Open(dir.Path)).Message, StringComparison.Ordinal);
        Assert.Equal(before, Files(dir.Path));
    }

    [Fact]
    public void ALogThatDoesNotReachBackToTheCheckpointIsRefused()
    {
        using var dir = new TempDirectory();
        Write(dir.Path, 100);
        var segments = Directory.GetFiles(dir.Path, "*.wal").Order().ToList();
        File.Delete(segments[0]);
        Assert.Contains("are in neither", Assert.Throws<CorruptDataException>(() => Open(dir.Path, after: 0)).Message, StringComparison.Ordinal);

        // With a checkpoint that covers the deleted segment, the rest replays.
        var second = long.Parse(Path.GetFileNameWithoutExtension(segments[1]), System.Globalization.CultureInfo.InvariantCulture);
        var replayed = new List<long>();
        using (Open(dir.Path, after: second - 1, replay: r => replayed.Add(r.Lsn)))
        {
        }

        Assert.Equal(Enumerable.Range((int)second, 100 - (int)second + 1).Select(i => (long)i), replayed);
    }

    [Fact]
    public void ANewerFormatVersionIsRefusedNotTakenForATornHeader()
    {
        using var dir = new TempDirectory();
        Write(dir.Path, 3);
        var segment = Directory.GetFiles(dir.Path, "*.wal").Single();
        var bytes = File.ReadAllBytes(segment);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(8), OnDiskFormat.WalSegment + 1);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(24), Crc32C.Compute(bytes.AsSpan(0, 24)));
        File.WriteAllBytes(segment, bytes);
        var before = Files(dir.Path);

        Assert.Contains($"format version {OnDiskFormat.WalSegment + 1}", Assert.Throws<UnsupportedFormatException>(() => Open(dir.Path)).Message, StringComparison.Ordinal);
        Assert.Equal(before, Files(dir.Path));
    }

    [Fact]
    public void ARecordTheCallerCannotApplyStopsTheOpenAndTheTornTailStaysUncut()
    {
        using var dir = new TempDirectory();
        Write(dir.Path, 10, bodyBytes: 100, capacity: 1 << 20);
        var segment = Directory.GetFiles(dir.Path, "*.wal").Single();
        File.WriteAllBytes(segment, File.ReadAllBytes(segment)[..^30]); // and a torn tail
        var before = Files(dir.Path);
        var error = Assert.Throws<ArgumentException>(() => Open(dir.Path, replay: r =>
        {
            if (r.Lsn == 4)
            {
                throw new ArgumentException("a bug in the decoder");
            }
        }));
        Assert.Equal("a bug in the decoder", error.Message);
        Assert.Equal(before, Files(dir.Path));
    }

    [Fact]
    public void ATornHeaderOfTheLastSegmentIsRemovedButNotOneWithRecordsBehindIt()
    {
        using var dir = new TempDirectory();
        Write(dir.Path, 100);
        var segments = Directory.GetFiles(dir.Path, "*.wal").Order().ToList();
        var last = segments[^1];
        var first = long.Parse(Path.GetFileNameWithoutExtension(last), System.Globalization.CultureInfo.InvariantCulture);

        // A header that was never fsynced (a rotation cut short): nothing in it was acknowledged.
        var original = File.ReadAllBytes(last);
        File.WriteAllBytes(last, new byte[WriteAheadLog.HeaderSize]);
        using (var wal = Open(dir.Path))
        {
            Assert.Equal(first - 1, wal.LastLsn);
        }

        Assert.False(File.Exists(last));

        // The same header damage in front of records is not a rotation cut short.
        original.AsSpan(0, 8).Clear();
        File.WriteAllBytes(last, original);
        Assert.Throws<CorruptDataException>(() => Open(dir.Path));
        Assert.True(File.Exists(last));
    }

    [Fact]
    public async Task AFailedFsyncStopsTheLogFromAcknowledgingAnythingElse()
    {
        using var dir = new TempDirectory();
        var storage = new FlakyStorage();
        using var wal = WriteAheadLog.Open(storage, dir.Path, 1 << 20, NullLogger.Instance, 0, _ => { });
        var first = wal.Append(1, [1]);
        await wal.WaitDurableAsync(first);

        storage.FailFlush = true;
        var second = wal.Append(1, [2]);
        Assert.Equal(ErrorCode.StorageFailure, (await Assert.ThrowsAsync<VectorizerException>(() => wal.WaitDurableAsync(second).AsTask())).Code);

        // fsync works again, but the pages it failed on may be gone: a later success must not acknowledge them.
        storage.FailFlush = false;
        Assert.Contains("failed an fsync earlier", Assert.Throws<VectorizerException>(() => wal.Append(1, [3])).Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<VectorizerException>(() => wal.WaitDurableAsync(second).AsTask());
        Assert.Equal(first, wal.DurableLsn);
    }

    /// <summary>The real file system, with fsyncs of files that fail on demand (as after an I/O error).</summary>
    private sealed class FlakyStorage() : DelegatingStorage(PhysicalStorage.Instance)
    {
        public bool FailFlush { get; set; }

        public override IStorageFile OpenFile(string path, StorageOpenMode mode) => new File(this, base.OpenFile(path, mode));

        private sealed class File(FlakyStorage owner, IStorageFile file) : IStorageFile
        {
            public long Length => file.Length;

            public void Write(ReadOnlySpan<byte> data, long offset) => file.Write(data, offset);

            public int Read(Span<byte> buffer, long offset) => file.Read(buffer, offset);

            public void SetLength(long length) => file.SetLength(length);

            public void Flush()
            {
                if (owner.FailFlush)
                {
                    throw new IOException("Input/output error (simulated)");
                }

                file.Flush();
            }

            public void Dispose() => file.Dispose();
        }
    }
}
