using System.Buffers.Binary;
using Microsoft.Extensions.Logging.Abstractions;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Operations;
using Vectorizer.Engine.Points;
using Vectorizer.Engine.Storage;
using Vectorizer.Engine.Vectors;

namespace Vectorizer.Engine.Tests;

/// <summary>
/// Creating and deleting a named vector are WAL records (format 2): an open that replays across them, because the
/// checkpoints after them are damaged or gone, ends in the state the live changes left (issue 13's remaining edge
/// case: before, a vector re-created with the same size got the old vector's values, and one re-created with another
/// size stopped the open).
/// </summary>
public class VectorChangeRecoveryTests
{
    private static PointStruct Point(ulong id, float[] plain, float[]? b) =>
        new(PointId.FromNumber(id), b is null ? new Dictionary<string, float[]> { [""] = plain } : new Dictionary<string, float[]> { [""] = plain, ["b"] = b }, null);

    private static float[] Unit(int size, int hot)
    {
        var v = new float[size];
        v[hot % size] = 1;
        return v;
    }

    /// <summary>
    /// Points 1-3 with `b` (size 4), a checkpoint (kept aside as <paramref name="saved"/>), point 4 with the old `b`,
    /// `b` deleted and re-created with <paramref name="newSize"/>, point 5 with the new `b`, point 6 without. Returns the
    /// collection folder.
    /// </summary>
    private static async Task<string> ChangeAcrossACheckpoint(string dataDir, int newSize, string saved)
    {
        using var manager = TestData.Open(dataDir);
        var collection = manager.Create("c", TestData.Config(4));
        collection.CreateVector("b", new VectorParams { Size = 4, Distance = Distance.Cosine }, null);
        await collection.UpdateAsync(new UpsertOperation([Point(1, Unit(4, 0), Unit(4, 1)), Point(2, Unit(4, 1), Unit(4, 2)), Point(3, Unit(4, 2), Unit(4, 3))]), wait: true);
        collection.Checkpoint();
        var newest = Directory.GetDirectories(Path.Combine(collection.Paths.Root, "checkpoints")).Max(StringComparer.Ordinal)!;
        CopyDirectory(newest, Path.Combine(saved, Path.GetFileName(newest)));
        CopyDirectory(Path.Combine(collection.Paths.Root, "vectors"), Path.Combine(saved, "vectors"));

        await collection.UpdateAsync(new UpsertOperation([Point(4, Unit(4, 3), Unit(4, 0))]), wait: true);
        collection.DeleteVector("b");
        collection.CreateVector("b", new VectorParams { Size = newSize, Distance = Distance.Cosine }, null);
        await collection.UpdateAsync(new UpsertOperation([Point(5, Unit(4, 0), Unit(newSize, 5)), Point(6, Unit(4, 1), null)]), wait: true);
        collection.Close(checkpoint: false);
        return collection.Paths.Root;
    }

    private static void CopyDirectory(string source, string target)
    {
        Directory.CreateDirectory(target);
        foreach (var file in Directory.EnumerateFiles(source))
        {
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)), overwrite: true);
        }

        foreach (var directory in Directory.EnumerateDirectories(source))
        {
            CopyDirectory(directory, Path.Combine(target, Path.GetFileName(directory)));
        }
    }

    /// <summary>Only the checkpoint taken before the vector changes is left: the open replays the WAL across both.</summary>
    private static void FallBackTo(string root, string saved)
    {
        foreach (var checkpoint in Directory.GetDirectories(Path.Combine(root, "checkpoints")))
        {
            Directory.Delete(checkpoint, recursive: true);
        }

        foreach (var directory in Directory.GetDirectories(saved))
        {
            CopyDirectory(directory, Path.Combine(root, Path.GetFileName(directory) == "vectors" ? "vectors" : Path.Combine("checkpoints", Path.GetFileName(directory))));
        }
    }

    private static void AssertEndState(Collection collection, int newSize)
    {
        var points = collection.Retrieve([.. Enumerable.Range(1, 6).Select(i => PointId.FromNumber((ulong)i))], PayloadSelector.None, VectorSelector.All);
        Assert.Equal(6, points.Count);
        foreach (var point in points)
        {
            var id = point.Id.Number;
            Assert.Equal(Unit(4, id switch { 1 => 0, 2 => 1, 3 => 2, 4 => 3, 5 => 0, _ => 1 }), point.Vectors![""]);
            if (id == 5)
            {
                Assert.Equal(Unit(newSize, 5), point.Vectors["b"]);
            }
            else
            {
                // Values of the deleted `b` never reach the re-created one.
                Assert.False(point.Vectors.ContainsKey("b"), $"point {id} has `b`");
            }
        }

        Assert.Equal(newSize, collection.Config.Vectors["b"].Size);
        var hits = collection.Query(new QueryRequest { Query = new DenseVectorQuery(Unit(newSize, 5)), Using = "b", Limit = 10 });
        Assert.Equal([5UL], hits.Select(h => h.Id.Number));
    }

    [Theory]
    [InlineData(4)] // the same size: the old code put the deleted vector's values in the new one
    [InlineData(8)] // another size: the old code stopped the open
    public async Task AReplayFromACheckpointBeforeAVectorDeleteAndCreateEndsInTheLiveState(int newSize)
    {
        using var dir = new TempDirectory();
        using var saved = new TempDirectory();
        var root = await ChangeAcrossACheckpoint(dir.Path, newSize, saved.Path);
        using (var manager = TestData.Open(dir.Path))
        {
            AssertEndState(manager.Get("c"), newSize);
        }

        FallBackTo(root, saved.Path);
        using (var manager = TestData.Open(dir.Path))
        {
            Assert.Empty(manager.Failed);
            var collection = manager.Get("c");
            Assert.True(collection.CheckpointLsn > 0);
            AssertEndState(collection, newSize);
            collection.Checkpoint();
        }

        // The checkpoint written after that replay holds the same state.
        using (var manager = TestData.Open(dir.Path))
        {
            AssertEndState(manager.Get("c"), newSize);
        }
    }

    [Fact]
    public async Task EveryCheckpointDamagedReplaysTheWholeLogAcrossTheChanges()
    {
        using var dir = new TempDirectory();
        using var saved = new TempDirectory();
        var root = await ChangeAcrossACheckpoint(dir.Path, 4, saved.Path);
        foreach (var points in Directory.GetFiles(Path.Combine(root, "checkpoints"), "points.bin", SearchOption.AllDirectories))
        {
            var bytes = File.ReadAllBytes(points);
            bytes[20] ^= 1;
            File.WriteAllBytes(points, bytes);
        }

        // The WAL reaches back to LSN 1 only while no checkpoint let it be cut: a log cut after the checkpoints
        // cannot be replayed alone, and the open stops (files kept) instead of guessing.
        var walStart = Collection.WalStart(PhysicalStorage.Instance, new CollectionPaths(root));
        using var manager = TestData.Open(dir.Path);
        if (walStart == 1)
        {
            Assert.Empty(manager.Failed);
            AssertEndState(manager.Get("c"), 4);
        }
        else
        {
            Assert.Single(manager.Failed);
        }
    }

    [Fact]
    public async Task ACrashBetweenTheRecordAndCollectionJsonIsRolledForward()
    {
        using var dir = new TempDirectory();
        string root;
        byte[] before;
        using (var manager = TestData.Open(dir.Path))
        {
            var collection = manager.Create("c", TestData.Config(4));
            await collection.UpdateAsync(new UpsertOperation([Point(1, Unit(4, 0), null)]), wait: true);
            root = collection.Paths.Root;
            before = File.ReadAllBytes(collection.Paths.ConfigFile);
            collection.CreateVector("b", new VectorParams { Size = 3, Distance = Distance.Dot }, null);
            await collection.UpdateAsync(new UpsertOperation([Point(2, Unit(4, 1), Unit(3, 2))]), wait: true);
            collection.Close(checkpoint: false);
        }

        // As if the process died after appending the record and before collection.json was replaced.
        File.WriteAllBytes(Path.Combine(root, "collection.json"), before);
        foreach (var checkpoint in Directory.GetDirectories(Path.Combine(root, "checkpoints")).Order(StringComparer.Ordinal).Skip(1))
        {
            Directory.Delete(checkpoint, recursive: true);
        }

        using (var manager = TestData.Open(dir.Path))
        {
            Assert.Empty(manager.Failed);
            var collection = manager.Get("c");
            Assert.Equal((3, Distance.Dot), (collection.Config.Vectors["b"].Size, collection.Config.Vectors["b"].Distance));
            var two = Assert.Single(collection.Retrieve([PointId.FromNumber(2)], PayloadSelector.None, VectorSelector.All));
            Assert.Equal(Unit(3, 2), two.Vectors!["b"]);
        }

        Assert.Contains("\"b\"", File.ReadAllText(Path.Combine(root, "collection.json")), StringComparison.Ordinal);
    }

    [Fact]
    public void VectorChangeRecordsRoundTrip()
    {
        var dense = WalOperation.CreateVector("image", new VectorParams { Size = 7, Distance = Distance.Euclid, OnDisk = true }, null);
        var decoded = WalOperation.Decode((byte)dense.Kind, dense.Encode());
        Assert.Equal(WalOperationKind.CreateVector, decoded.Kind);
        Assert.Equal("image", decoded.ChangedVector);
        Assert.Equal((7, Distance.Euclid, true), (decoded.DenseParams!.Size, decoded.DenseParams.Distance, decoded.DenseParams.OnDisk));
        Assert.Null(decoded.SparseParams);

        var sparse = WalOperation.CreateVector("bm25", null, new SparseVectorParams { Modifier = SparseVectorModifier.Idf });
        decoded = WalOperation.Decode((byte)sparse.Kind, sparse.Encode());
        Assert.True(decoded.SparseParams!.Idf);
        Assert.Null(decoded.DenseParams);

        var delete = WalOperation.DeleteVector("image");
        decoded = WalOperation.Decode((byte)delete.Kind, delete.Encode());
        Assert.Equal((WalOperationKind.DeleteVector, "image"), (decoded.Kind, decoded.ChangedVector));
        Assert.Empty(decoded.Ids);

        // A delete naming points, or settings that hold another vector, do not decode.
        var bad = delete.Encode();
        BinaryPrimitives.WriteInt32LittleEndian(bad, 1);
        Assert.Throws<CorruptDataException>(() => WalOperation.Decode((byte)WalOperationKind.DeleteVector, bad));
        var two = CollectionConfigFile.ToUtf8(new CollectionConfig
        {
            Vectors = new Dictionary<string, VectorParams> { ["vector"] = new() { Size = 2, Distance = Distance.Dot }, ["more"] = new() { Size = 2, Distance = Distance.Dot } },
            NamedVectors = true,
        });
        var body = new byte[4 + 4 + 1 + 4 + two.Length];
        BinaryPrimitives.WriteInt32LittleEndian(body.AsSpan(4), 1);
        body[8] = (byte)'x';
        BinaryPrimitives.WriteInt32LittleEndian(body.AsSpan(9), two.Length);
        two.CopyTo(body, 13);
        Assert.Throws<CorruptDataException>(() => WalOperation.Decode((byte)WalOperationKind.CreateVector, body));
        two = CollectionConfigFile.ToUtf8(new CollectionConfig { Vectors = new Dictionary<string, VectorParams> { ["vector"] = new() { Size = 2, Distance = Distance.Dot } }, NamedVectors = true });
        body = [.. body.AsSpan(0, 9), .. BitConverter.GetBytes(two.Length), .. two];
        Assert.Equal(2, WalOperation.Decode((byte)WalOperationKind.CreateVector, body).DenseParams!.Size);
    }

    [Fact]
    public async Task ALogWhoseLastSegmentIsFormat1TakesNewRecordsInAFormat2Segment()
    {
        using var dir = new TempDirectory();
        string walDirectory;
        using (var manager = TestData.Open(dir.Path))
        {
            var collection = manager.Create("c", TestData.Config(4));
            await collection.UpdateAsync(new UpsertOperation([Point(1, Unit(4, 0), null)]), wait: true);
            walDirectory = Path.Combine(collection.Paths.Root, "wal");
            collection.Close(checkpoint: false);
        }

        // Rewrite the one segment's header as format 1 (what the code before format 2 wrote).
        var segment = Assert.Single(Directory.GetFiles(walDirectory, "*.wal"));
        var bytes = File.ReadAllBytes(segment);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(8), 1);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(24), Crc32C.Compute(bytes.AsSpan(0, 24)));
        File.WriteAllBytes(segment, bytes);

        using (var manager = TestData.Open(dir.Path))
        {
            var collection = manager.Get("c");
            collection.CreateVector("b", new VectorParams { Size = 2, Distance = Distance.Dot }, null);
            await collection.UpdateAsync(new UpsertOperation([Point(2, Unit(4, 1), Unit(2, 1))]), wait: true);
            collection.Close(checkpoint: false);
        }

        var versions = Directory.GetFiles(walDirectory, "*.wal").Order(StringComparer.Ordinal)
            .Select(f => BinaryPrimitives.ReadUInt16LittleEndian(File.ReadAllBytes(f).AsSpan(8))).ToList();
        Assert.Equal(1, versions[0]);
        Assert.All(versions.Skip(1), v => Assert.Equal(OnDiskFormat.WalSegment, v));
        Assert.True(versions.Count > 1);
        using (var manager = TestData.Open(dir.Path))
        {
            Assert.Equal(2, manager.Get("c").GetInfo().PointsCount);
        }
    }

    [Fact]
    public void ASegmentOfANewerFormatIsRefusedNotTakenForDamage()
    {
        using var dir = new TempDirectory();
        using (var wal = WriteAheadLog.Open(dir.Path, 1 << 20, NullLogger.Instance, 0, _ => { }))
        {
            wal.Append((byte)WalOperationKind.Delete, new WalOperation(WalOperationKind.Delete, [PointId.FromNumber(1)]).Encode());
        }

        var segment = Assert.Single(Directory.GetFiles(dir.Path, "*.wal"));
        var bytes = File.ReadAllBytes(segment);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(8), OnDiskFormat.WalSegment + 1);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(24), Crc32C.Compute(bytes.AsSpan(0, 24)));
        File.WriteAllBytes(segment, bytes);
        Assert.Throws<UnsupportedFormatException>(() => WriteAheadLog.Open(dir.Path, 1 << 20, NullLogger.Instance, 0, _ => { }));
    }
}
