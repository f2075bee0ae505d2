using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Vectorizer.Engine.Storage;

namespace Vectorizer.Engine.Tests;

public class WalTests
{
    private static List<WalRecord> Reopen(string dir, ILogger? logger = null, long after = 0)
    {
        var records = new List<WalRecord>();
        using var wal = WriteAheadLog.Open(dir, 1 << 20, logger ?? NullLogger.Instance, after, r => records.Add(new WalRecord(r.Lsn, r.Kind, r.Body.ToArray())));
        return records;
    }

    [Fact]
    public void Crc32CMatchesTheStandardCheckValue()
    {
        Assert.Equal(0xE3069283u, Crc32C.Compute("123456789"u8));
        Assert.Equal(Crc32C.Compute("123456789"u8), Crc32C.Compute("6789"u8, Crc32C.Compute("12345"u8)));
    }

    [Fact]
    public void RecordsSurviveReopenInOrder()
    {
        using var dir = new TempDirectory();
        using (var wal = WriteAheadLog.Open(dir.Path, 1 << 20, NullLogger.Instance, 0, _ => { }))
        {
            for (var i = 1; i <= 100; i++)
            {
                Assert.Equal(i, wal.Append((byte)(i % 7), BitConverter.GetBytes(i)));
            }
        }

        var records = Reopen(dir.Path);
        Assert.Equal(100, records.Count);
        for (var i = 0; i < 100; i++)
        {
            Assert.Equal(i + 1, records[i].Lsn);
            Assert.Equal((byte)((i + 1) % 7), records[i].Kind);
            Assert.Equal(i + 1, BitConverter.ToInt32(records[i].Body.Span));
        }

        Assert.Equal(60, Reopen(dir.Path, after: 40).Count);
    }

    [Fact]
    public void TornTailIsTruncatedWithAWarningAndAppendsContinue()
    {
        using var dir = new TempDirectory();
        using (var wal = WriteAheadLog.Open(dir.Path, 1 << 20, NullLogger.Instance, 0, _ => { }))
        {
            for (var i = 1; i <= 10; i++)
            {
                wal.Append(1, new byte[100]);
            }
        }

        var file = Directory.GetFiles(dir.Path, "*.wal").Single();
        var length = new FileInfo(file).Length;
        using (var stream = new FileStream(file, FileMode.Open))
        {
            stream.SetLength(length - 50); // cut the last record in half
        }

        var log = new ListLogger();
        var records = Reopen(dir.Path, log);
        Assert.Equal(9, records.Count);
        Assert.True(log.Has(LogLevel.Warning, "torn or corrupt"));

        using (var wal = WriteAheadLog.Open(dir.Path, 1 << 20, NullLogger.Instance, 0, _ => { }))
        {
            Assert.Equal(10, wal.Append(2, [1, 2, 3]));
        }

        records = Reopen(dir.Path);
        Assert.Equal(10, records.Count);
        Assert.Equal(new byte[] { 1, 2, 3 }, records[^1].Body.ToArray());
    }

    [Fact]
    public void CorruptRecordCutsTheLogThere()
    {
        using var dir = new TempDirectory();
        using (var wal = WriteAheadLog.Open(dir.Path, 1 << 20, NullLogger.Instance, 0, _ => { }))
        {
            for (var i = 1; i <= 10; i++)
            {
                wal.Append(1, new byte[100]);
            }
        }

        var file = Directory.GetFiles(dir.Path, "*.wal").Single();
        var bytes = File.ReadAllBytes(file);
        var recordSize = 8 + 9 + 100;
        bytes[WriteAheadLog.HeaderSize + (5 * recordSize) + 30] ^= 0xFF; // flip a byte inside record 6
        File.WriteAllBytes(file, bytes);

        var log = new ListLogger();
        Assert.Equal(5, Reopen(dir.Path, log).Count);
        Assert.True(log.Has(LogLevel.Warning, "truncating"));
    }

    [Fact]
    public void SegmentsRotateAndPrefixTruncationKeepsTheRest()
    {
        using var dir = new TempDirectory();
        using (var wal = WriteAheadLog.Open(dir.Path, 1 << 16, NullLogger.Instance, 0, _ => { }))
        {
            for (var i = 1; i <= 100; i++)
            {
                wal.Append(1, new byte[2000]);
            }

            Assert.True(Directory.GetFiles(dir.Path, "*.wal").Length > 2);
            wal.TruncatePrefix(50);
            Assert.True(wal.FirstLsn <= 51);
        }

        var records = new List<WalRecord>();
        using (WriteAheadLog.Open(dir.Path, 1 << 16, NullLogger.Instance, 50, r => records.Add(r)))
        {
        }

        Assert.Equal(Enumerable.Range(51, 50).Select(i => (long)i), records.Select(r => r.Lsn));
    }

    [Fact]
    public async Task ConcurrentWaitersShareFsyncsAndAllBecomeDurable()
    {
        using var dir = new TempDirectory();
        using var wal = WriteAheadLog.Open(dir.Path, 1 << 20, NullLogger.Instance, 0, _ => { });
        var tasks = Enumerable.Range(0, 64).Select(_ => Task.Run(async () =>
        {
            var lsn = wal.Append(1, new byte[64]);
            await wal.WaitDurableAsync(lsn);
            Assert.True(wal.DurableLsn >= lsn);
        }));
        await Task.WhenAll(tasks);
        Assert.Equal(64, wal.DurableLsn);
    }

    [Fact]
    public void LogOlderThanTheCheckpointStartsOverContiguously()
    {
        using var dir = new TempDirectory();
        using (var wal = WriteAheadLog.Open(dir.Path, 1 << 20, NullLogger.Instance, 0, _ => { }))
        {
            for (var i = 1; i <= 5; i++)
            {
                wal.Append(1, [1]);
            }
        }

        // A checkpoint at LSN 8 whose WAL tail (6..8) was lost: appends must continue at 9 and survive reopening.
        var log = new ListLogger();
        using (var wal = WriteAheadLog.Open(dir.Path, 1 << 20, log, 8, _ => Assert.Fail("nothing to replay")))
        {
            Assert.Equal(9, wal.Append(1, [9]));
            Assert.Equal(10, wal.Append(1, [10]));
        }

        Assert.True(log.Has(LogLevel.Warning, "before the checkpoint"));
        var records = Reopen(dir.Path, after: 8);
        Assert.Equal([9L, 10L], records.Select(r => r.Lsn));
    }

    [Fact]
    public async Task WaitersAfterDisposeFindTheirRecordsDurable()
    {
        using var dir = new TempDirectory();
        var wal = WriteAheadLog.Open(dir.Path, 1 << 20, NullLogger.Instance, 0, _ => { });
        var lsn = wal.Append(1, [1, 2, 3]);
        wal.Dispose();
        await wal.WaitDurableAsync(lsn);
        Assert.Single(Reopen(dir.Path));
    }
}
