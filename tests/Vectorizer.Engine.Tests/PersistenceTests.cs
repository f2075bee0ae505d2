using Microsoft.Extensions.Logging;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Filters;
using Vectorizer.Engine.Operations;
using Vectorizer.Engine.Payload;
using Vectorizer.Engine.Points;

namespace Vectorizer.Engine.Tests;

public class PersistenceTests
{
    private static async Task<Collection> Populate(CollectionManager manager, int count, int size = 8, bool onDiskPayload = false)
    {
        var collection = manager.Create("c", TestData.Config(size, Vectors.Distance.Cosine, fullScanThreshold: 0, indexingThreshold: 1) with { OnDiskPayload = onDiskPayload });
        var random = new Random(11);
        for (var batch = 0; batch < count; batch += 100)
        {
            var points = Enumerable.Range(batch, Math.Min(100, count - batch))
                .Select(i => TestData.Point((ulong)i, TestData.RandomVector(random, size), $$"""{"n": {{i}}, "tag": "t{{i % 3}}"}"""))
                .ToList();
            await collection.UpdateAsync(new UpsertOperation(points), wait: true);
        }

        return collection;
    }

    private static IReadOnlyList<PointRecord> All(Collection collection) =>
        collection.Scroll(new ScrollRequest { Limit = 100_000, WithPayload = PayloadSelector.All, WithVector = VectorSelector.All }).Points;

    private static void AssertSamePoints(IReadOnlyList<PointRecord> expected, IReadOnlyList<PointRecord> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Id, actual[i].Id);
            Assert.Equal(expected[i].Version, actual[i].Version);
            Assert.Equal(expected[i].Payload!.Root.GetRawText(), actual[i].Payload!.Root.GetRawText());
            Assert.Equal(expected[i].Vectors![""], actual[i].Vectors![""]);
        }
    }

    private static async Task MutateAfterCheckpoint(Collection collection)
    {
        await collection.UpdateAsync(new DeletePointsOperation(PointSelector.ForIds([PointId.FromNumber(3), PointId.FromNumber(4)])), wait: true);
        await collection.UpdateAsync(new SetPayloadOperation(PointPayload.FromUtf8("""{"extra": true}"""u8), PointSelector.ForIds([PointId.FromNumber(5)]), null), wait: true);
        var filter = new Filter { Must = [new FieldCondition(JsonPath.Parse("tag")) { Match = new MatchCondition { Kind = MatchKind.Value, Value = MatchValue.Of("t2") } }] };
        await collection.UpdateAsync(new DeletePayloadOperation([JsonPath.Parse("n")], PointSelector.ForFilter(filter)), wait: true);
    }

    [Fact]
    public async Task RestartWithoutCheckpointReplaysTheWal()
    {
        using var dir = new TempDirectory();
        IReadOnlyList<PointRecord> before;
        var manager = TestData.Open(dir.Path);
        var collection = await Populate(manager, 500);
        await MutateAfterCheckpoint(collection);
        before = All(collection);
        collection.Close(checkpoint: false); // as after a crash: no checkpoint written
        using var reopened = TestData.Open(dir.Path);
        AssertSamePoints(before, All(reopened.Get("c")));
    }

    [Fact]
    public async Task RestartLoadsCheckpointGraphAndWalTail()
    {
        using var dir = new TempDirectory();
        IReadOnlyList<PointRecord> before;
        using (var manager = TestData.Open(dir.Path))
        {
            var collection = await Populate(manager, 3000);
            await collection.WaitForIndexingAsync(TimeSpan.FromSeconds(60));
            collection.Checkpoint();
            await MutateAfterCheckpoint(collection);
            before = All(collection);
            manager.UpdateAliases([new CreateAlias("c", "alias-c")]);
        }

        var log = new ListLogger();
        using var reopened = TestData.Open(dir.Path, log);
        var again = reopened.Get("alias-c");
        AssertSamePoints(before, All(again));
        Assert.Equal(2998, again.GetInfo().PointsCount);
        // The graph came back from disk: everything is indexed without a rebuild.
        Assert.Equal(again.GetInfo().PointsCount, again.GetInfo().IndexedVectorsCount);
        Assert.Single(reopened.ListAliases());
    }

    [Fact]
    public async Task ACheckpointAfterTheIndexerProgressedSavesTheGrownGraphAtTheSameLsn()
    {
        // The indexer extends the graph without a WAL record: a checkpoint (a snapshot for a replica or a backup, a
        // shutdown) taken once indexing finished must not reuse one written mid-build at the same LSN.
        using var dir = new TempDirectory();
        using var manager = TestData.Open(dir.Path);
        var collection = manager.Create("c", TestData.Config(64, Vectors.Distance.Cosine, fullScanThreshold: 0, indexingThreshold: 1));
        var random = new Random(5);
        var points = Enumerable.Range(0, 6000).Select(i => TestData.Point((ulong)i, TestData.RandomVector(random, 64), "{}")).ToList();
        await collection.UpdateAsync(new UpsertOperation(points), wait: true);
        collection.Checkpoint(); // the indexer has only begun
        var lsn = collection.CheckpointLsn;
        await collection.WaitForIndexingAsync(TimeSpan.FromSeconds(120));
        collection.Checkpoint(); // no write since: same LSN, bigger graph

        Assert.Equal(lsn, collection.CheckpointLsn);
        var manifestPath = Path.Combine(collection.Paths.Checkpoint(lsn), "manifest.json");
        var manifest = Vectorizer.Engine.Collections.Checkpoints.CheckpointFormat.DecodeManifest(File.ReadAllBytes(manifestPath), manifestPath);
        Assert.Equal(6000, Assert.Single(manifest.Slots).IndexedUpTo);
    }

    [Fact]
    public async Task CorruptNewestCheckpointFallsBackToThePreviousOne()
    {
        using var dir = new TempDirectory();
        IReadOnlyList<PointRecord> before;
        string newest;
        using (var manager = TestData.Open(dir.Path))
        {
            var collection = await Populate(manager, 1000);
            collection.Checkpoint();
            await MutateAfterCheckpoint(collection);
            collection.Checkpoint();
            newest = collection.Paths.Checkpoint(collection.CheckpointLsn);
            await collection.UpdateAsync(new UpsertOperation([TestData.Point(99_999, new float[8] { 1, 0, 0, 0, 0, 0, 0, 0 })]), wait: true);
            before = All(collection);
            collection.Close(checkpoint: false);
        }

        var points = Path.Combine(newest, "points.bin");
        var bytes = File.ReadAllBytes(points);
        bytes[bytes.Length / 2] ^= 0x5A;
        File.WriteAllBytes(points, bytes);

        var log = new ListLogger();
        using var reopened = TestData.Open(dir.Path, log);
        AssertSamePoints(before, All(reopened.Get("c")));
        Assert.True(log.Has(LogLevel.Warning, "is damaged"));
        Assert.True(Directory.Exists(newest + ".corrupt"));
    }

    [Fact]
    public async Task CorruptOnlyCheckpointFallsBackToFullWalReplay()
    {
        using var dir = new TempDirectory();
        IReadOnlyList<PointRecord> before;
        string checkpoint;
        using (var manager = TestData.Open(dir.Path))
        {
            var collection = await Populate(manager, 800);
            collection.Checkpoint();
            checkpoint = collection.Paths.Checkpoint(collection.CheckpointLsn);
            before = All(collection);
            collection.Close(checkpoint: false);
        }

        File.WriteAllText(Path.Combine(checkpoint, "manifest.json"), "{ not a manifest");
        var log = new ListLogger();
        using var reopened = TestData.Open(dir.Path, log);
        AssertSamePoints(before, All(reopened.Get("c")));
        Assert.True(log.Has(LogLevel.Warning, "is damaged"));
    }

    [Fact]
    public async Task TornWalTailLosesOnlyTheTornRecord()
    {
        using var dir = new TempDirectory();
        string walDirectory;
        using (var manager = TestData.Open(dir.Path))
        {
            var collection = await Populate(manager, 300); // three records of 100 points
            walDirectory = collection.Paths.WalDirectory;
            collection.Close(checkpoint: false);
        }

        var file = Directory.GetFiles(walDirectory, "*.wal").Single();
        using (var stream = new FileStream(file, FileMode.Open))
        {
            stream.SetLength(stream.Length - 7);
        }

        var log = new ListLogger();
        using var reopened = TestData.Open(dir.Path, log);
        Assert.Equal(200, reopened.Get("c").Count(null));
        Assert.True(log.Has(LogLevel.Warning, "torn or corrupt"));
    }

    [Fact]
    public async Task VacuumDropsTombstonesAndKeepsResults()
    {
        using var dir = new TempDirectory();
        using var manager = TestData.Open(dir.Path);
        var collection = await Populate(manager, 3000);
        await collection.WaitForIndexingAsync(TimeSpan.FromSeconds(60));
        var doomed = Enumerable.Range(0, 1500).Select(i => PointId.FromNumber((ulong)i)).ToList();
        await collection.UpdateAsync(new DeletePointsOperation(PointSelector.ForIds(doomed)), wait: true);
        Assert.True(collection.VacuumDue);
        var query = new QueryRequest { Query = new DenseVectorQuery(TestData.RandomVector(new Random(5), 8)), Limit = 10, Exact = true };
        var expected = collection.Query(query).Select(p => p.Id).ToList();
        collection.Vacuum();
        Assert.False(collection.VacuumDue);
        Assert.Equal(1500, collection.State.Count);
        Assert.Equal(expected, collection.Query(query).Select(p => p.Id).ToList());
        Assert.Equal(1500, collection.GetInfo().IndexedVectorsCount);
        collection.Checkpoint();
        manager.Dispose();
        using var reopened = TestData.Open(dir.Path);
        Assert.Equal(expected, reopened.Get("c").Query(query).Select(p => p.Id).ToList());
    }

    [Fact]
    public async Task OnDiskPayloadsSurviveVacuumCheckpointAndWalReplay()
    {
        using var dir = new TempDirectory();
        var manager = TestData.Open(dir.Path);
        var collection = await Populate(manager, 3000, onDiskPayload: true);
        Assert.True(collection.State.Payloads.OnDisk);
        var doomed = Enumerable.Range(0, 1500).Select(i => PointId.FromNumber((ulong)i)).ToList();
        await collection.UpdateAsync(new DeletePointsOperation(PointSelector.ForIds(doomed)), wait: true);
        var before = All(collection);
        collection.Vacuum();
        Assert.True(collection.State.Payloads.OnDisk);
        AssertSamePoints(before, All(collection));
        collection.Checkpoint();

        // After the checkpoint: a write that only the WAL holds, then a reopen.
        await collection.UpdateAsync(new UpsertOperation([TestData.Point(5000, TestData.RandomVector(new Random(1), 8), """{"n": 5000, "tag": "late"}""")]), wait: true);
        var expected = All(collection);
        manager.Dispose();
        using var reopened = TestData.Open(dir.Path);
        var restored = reopened.Get("c");
        Assert.True(restored.State.Payloads.OnDisk);
        AssertSamePoints(expected, All(restored));
        Assert.Equal("late", All(restored).Single(p => p.Id == PointId.FromNumber(5000)).Payload!.Root.GetProperty("tag").GetString());
    }

    [Fact]
    public void CollectionNamesAreValidated()
    {
        using var dir = new TempDirectory();
        using var manager = TestData.Open(dir.Path);
        foreach (var bad in new[] { "", "..", "a/b", "..\\x", "x:y", new string('a', 256), "tab\tname" })
        {
            var error = Assert.Throws<Errors.VectorizerException>(() => manager.Create(bad, TestData.Config(4)));
            Assert.Equal(Errors.ErrorCode.ValidationFailed, error.Code);
        }

        Assert.Empty(Directory.GetDirectories(Path.Combine(dir.Path, "collections")));
    }

    [Fact]
    public async Task DeletingACollectionRemovesItsFilesAndAliases()
    {
        using var dir = new TempDirectory();
        using var manager = TestData.Open(dir.Path);
        var collection = await Populate(manager, 100);
        manager.UpdateAliases([new CreateAlias("c", "a1")]);
        var root = collection.Paths.Root;
        Assert.True(manager.Delete("c"));
        Assert.False(Directory.Exists(root));
        Assert.Empty(manager.ListAliases());
        Assert.False(manager.Delete("c"));
    }
}
