using Microsoft.Extensions.Logging.Abstractions;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Operations;
using Vectorizer.Engine.Points;
using Vectorizer.Engine.Storage;
using Vectorizer.Engine.Vectors;

namespace Vectorizer.Engine.Tests;

/// <summary>
/// Defect B of issue 9: an acknowledged WAL record is never skipped. A record with a valid checksum that does not
/// decode or apply, a checkpoint format this code does not know, or an exception from the loaders' own code stops the
/// collection from opening (reported as failed, files untouched) instead of serving a state that silently differs.
/// </summary>
public class ReplayIntegrityTests
{
    private static async Task<string> TenPoints(string dataDir, bool checkpoint = false)
    {
        using var manager = TestData.Open(dataDir);
        var collection = manager.Create("c", TestData.Config(4));
        var random = new Random(3);
        await collection.UpdateAsync(new UpsertOperation([.. Enumerable.Range(1, 10).Select(i => TestData.Point((ulong)i, TestData.RandomVector(random, 4)))]), wait: true);
        if (checkpoint)
        {
            collection.Checkpoint();
            await collection.UpdateAsync(new DeletePointsOperation(PointSelector.ForIds([PointId.FromNumber(1)])), wait: true);
        }

        collection.Close(checkpoint: false);
        return collection.Paths.Root;
    }

    /// <summary>Appends records straight to a closed collection's WAL, with valid framing and checksums.</summary>
    private static void AppendRaw(string root, params (WalOperationKind Kind, byte[] Body)[] records)
    {
        using var wal = WriteAheadLog.Open(Path.Combine(root, "wal"), 32 << 20, NullLogger.Instance, 0, _ => { });
        foreach (var (kind, body) in records)
        {
            wal.Append((byte)kind, body);
        }
    }

    private static Dictionary<string, byte[]> Snapshot(string root) =>
        Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).ToDictionary(f => Path.GetRelativePath(root, f), File.ReadAllBytes);

    private static byte[] Delete(ulong id) => new WalOperation(WalOperationKind.Delete, [PointId.FromNumber(id)]).Encode();

    [Fact]
    public async Task ARecordWithAValidChecksumThatDoesNotDecodeStopsTheOpen()
    {
        using var dir = new TempDirectory();
        var root = await TenPoints(dir.Path);

        // LSN 2 is acknowledged but its body is not an upsert; LSN 3 is fine. The old code skipped LSN 2 and served LSN 3.
        AppendRaw(root, (WalOperationKind.Upsert, [1, 0, 0, 0, 9, 9]), (WalOperationKind.Delete, Delete(5)));
        var files = Snapshot(root);
        using (var manager = TestData.Open(dir.Path))
        {
            var failed = Assert.Single(manager.Failed);
            Assert.Contains("WAL record 2 passed its checksum but does not decode", failed.Reason, StringComparison.Ordinal);
            Assert.Null(manager.TryGet("c"));
        }

        Assert.Equal(files, Snapshot(root));
    }

    [Fact]
    public async Task ARecordThatFailsToApplyStopsTheOpen()
    {
        using var dir = new TempDirectory();
        var root = await TenPoints(dir.Path);

        // Decodes (the decoder does not know the collection), but a 3-dimensional vector cannot go into a 4-dimensional
        // collection: whatever throws there is a bug, and the record was acknowledged.
        var wrong = new WalOperation(WalOperationKind.Upsert, [PointId.FromNumber(99)], [VectorMap.Single("", [1f, 2f, 3f])], [null]);
        AppendRaw(root, (WalOperationKind.Upsert, wrong.Encode()), (WalOperationKind.Delete, Delete(5)));
        var files = Snapshot(root);
        using (var manager = TestData.Open(dir.Path))
        {
            var failed = Assert.Single(manager.Failed);
            Assert.Contains("Replaying WAL record 2 (Upsert) failed", failed.Reason, StringComparison.Ordinal);
        }

        Assert.Equal(files, Snapshot(root));
    }

    [Fact]
    public async Task AVectorReCreatedWithAnotherSizeReopensFromItsCheckpoint()
    {
        // Creating or deleting a vector rewrites the checkpoint at its LSN, so the records replayed on a normal open are
        // all of the current vector schema (a replay across a change: VectorChangeRecoveryTests).
        using var dir = new TempDirectory();
        var random = new Random(5);
        using (var manager = TestData.Open(dir.Path))
        {
            var collection = manager.Create("c", TestData.Config(4));
            collection.CreateVector("b", new VectorParams { Size = 4, Distance = Distance.Cosine }, null);
            await collection.UpdateAsync(new UpsertOperation([new PointStruct(PointId.FromNumber(1), new Dictionary<string, float[]> { [""] = TestData.RandomVector(random, 4), ["b"] = TestData.RandomVector(random, 4) }, null)]), wait: true);
            collection.DeleteVector("b");
            collection.CreateVector("b", new VectorParams { Size = 8, Distance = Distance.Cosine }, null);
            await collection.UpdateAsync(new UpsertOperation([new PointStruct(PointId.FromNumber(2), new Dictionary<string, float[]> { [""] = TestData.RandomVector(random, 4), ["b"] = TestData.RandomVector(random, 8) }, null)]), wait: true);
            collection.Close(checkpoint: false);
        }

        using (var manager = TestData.Open(dir.Path))
        {
            Assert.Empty(manager.Failed);
            var collection = manager.Get("c");
            var points = collection.Retrieve([PointId.FromNumber(1), PointId.FromNumber(2)], PayloadSelector.None, new VectorSelector(true, ["b"]));
            Assert.Equal(2, points.Count);
            Assert.False(points[0].Vectors?.ContainsKey("b") ?? false);
            Assert.Equal(8, points[1].Vectors!["b"].Length);
        }
    }

    [Fact]
    public async Task ACheckpointFromANewerVersionIsNotTakenForDamage()
    {
        using var dir = new TempDirectory();
        var root = await TenPoints(dir.Path, checkpoint: true);
        var checkpoint = Directory.GetDirectories(Path.Combine(root, "checkpoints")).Single();
        var manifest = Path.Combine(checkpoint, "manifest.json");
        var body = File.ReadAllText(manifest).Split("\n#crc32c=")[0].Replace("\"format\": 1", "\"format\": 2", StringComparison.Ordinal);
        File.WriteAllText(manifest, body + $"\n#crc32c={Crc32C.Compute(System.Text.Encoding.UTF8.GetBytes(body)):x8}\n");
        var files = Snapshot(root);

        using (var manager = TestData.Open(dir.Path))
        {
            Assert.Contains("manifest format 2", Assert.Single(manager.Failed).Reason, StringComparison.Ordinal);
        }

        Assert.Equal(files, Snapshot(root));
        Assert.False(Directory.Exists(checkpoint + ".corrupt"));
    }

    [Theory]
    [InlineData("argument")]
    [InlineData("index")]
    public async Task AnExceptionFromTheCheckpointLoadersOwnCodeIsNotTakenForDamage(string kind)
    {
        using var dir = new TempDirectory();
        var root = await TenPoints(dir.Path, checkpoint: true);
        var files = Snapshot(root);

        // Stands in for a bug in the loader: reading points.bin throws what buggy code throws.
        var buggy = new BuggyReads(kind == "argument" ? new ArgumentException("bug") : new IndexOutOfRangeException("bug"));
        using (var manager = CollectionManager.Open(TestData.Options(dir.Path), NullLoggerFactory.Instance, buggy))
        {
            var failed = Assert.Single(manager.Failed);
            Assert.Contains("an error in Vectorizer itself", failed.Reason, StringComparison.Ordinal);
        }

        Assert.Equal(files, Snapshot(root));
        Assert.Empty(Directory.GetDirectories(Path.Combine(root, "checkpoints"), "*.corrupt"));
    }

    [Fact]
    public async Task DamageStillFallsBackAndKeepsEveryOperation()
    {
        using var dir = new TempDirectory();
        var root = await TenPoints(dir.Path, checkpoint: true);
        var points = Directory.GetFiles(Path.Combine(root, "checkpoints"), "points.bin", SearchOption.AllDirectories).Single();
        var bytes = File.ReadAllBytes(points);
        bytes[20] ^= 1;
        File.WriteAllBytes(points, bytes);
        using var manager = TestData.Open(dir.Path);
        Assert.Empty(manager.Failed);
        Assert.Equal(9, manager.Get("c").GetInfo().PointsCount);
    }

    private sealed class BuggyReads(Exception bug) : DelegatingStorage(PhysicalStorage.Instance)
    {
        public override byte[] ReadAllBytes(string path) =>
            Path.GetFileName(path) == "points.bin" ? throw bug : base.ReadAllBytes(path);
    }
}
