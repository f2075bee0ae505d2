using System.Buffers.Binary;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Operations;
using Vectorizer.Engine.Points;
using Vectorizer.Engine.Sparse;
using Vectorizer.Engine.Storage;
using Vectorizer.Engine.Vectors;

namespace Vectorizer.Engine.Tests.Golden;

/// <summary>
/// Golden fixtures of WAL format 2 (<c>Fixtures/v2</c>): the vector-change records (<see cref="WalOperationKind.CreateVector"/>,
/// <see cref="WalOperationKind.DeleteVector"/>) between data records, in a collection whose log reaches back to LSN 1.
/// Written once by <see cref="WriteV2Fixtures"/> (commit of issue 13's finish); every later commit must read them back
/// to the same points, with its checkpoints or without any. The other formats of v2 are those of v1.
/// </summary>
public class GoldenWalV2Tests
{
    private const string Version = "v2";
    private const string Name = "vectors";

    [FixtureGeneratorFact]
    public async Task WriteV2Fixtures()
    {
        var output = Environment.GetEnvironmentVariable("VECTORIZER_WRITE_FIXTURES")!;
        Assert.True(!Directory.Exists(output) || !Directory.EnumerateFileSystemEntries(output).Any(), $"{output} must be empty");
        var data = Path.Combine(output, "data");
        var expected = new JsonObject();
        using (var manager = CollectionManager.Open(Options(data), NullLoggerFactory.Instance))
        {
            var collection = manager.Create(Name, new CollectionConfig
            {
                Vectors = new Dictionary<string, VectorParams>(StringComparer.Ordinal) { [""] = new() { Size = 4, Distance = Distance.Euclid } },
                NamedVectors = false,
                Hnsw = new HnswConfig { M = 8, EfConstruct = 32, FullScanThreshold = 10000 },
                Optimizers = new OptimizersConfig { IndexingThreshold = 10000 },
                Wal = new WalConfig { WalCapacityMb = 32 },
            });
            static PointStruct P(ulong id, float[] plain, Dictionary<string, float[]>? more = null, Dictionary<string, SparseVector>? sparse = null)
            {
                var vectors = new Dictionary<string, float[]>(StringComparer.Ordinal) { [""] = plain };
                foreach (var (k, v) in more ?? [])
                {
                    vectors[k] = v;
                }

                return new PointStruct(PointId.FromNumber(id), vectors, Payload.PointPayload.FromUtf8(System.Text.Encoding.UTF8.GetBytes($$"""{"n":{{id}}}""")), sparse);
            }

            collection.CreateVector("b", new VectorParams { Size = 4, Distance = Distance.Cosine }, null);                 // LSN 1
            await collection.UpdateAsync(new UpsertOperation([P(1, [1, 0, 0, 0], new() { ["b"] = [0, 1, 0, 0] }), P(2, [0, 1, 0, 0], new() { ["b"] = [0, 0, 1, 0] })]), wait: true); // 2
            collection.Checkpoint();
            await collection.UpdateAsync(new UpsertOperation([P(3, [0, 0, 1, 0], new() { ["b"] = [1, 0, 0, 0] })]), wait: true); // 3
            collection.DeleteVector("b");                                                                                 // 4
            collection.CreateVector("b", new VectorParams { Size = 2, Distance = Distance.Dot }, null);                   // 5
            collection.CreateVector("s", null, new SparseVectorParams { Modifier = SparseVectorModifier.Idf });           // 6
            await collection.UpdateAsync(new UpsertOperation([P(4, [0, 0, 0, 1], new() { ["b"] = [0.5f, -2] }, new() { ["s"] = SparseVector.Create([3, 9], [0.5f, 1]) }), P(5, [1, 1, 0, 0])]), wait: true); // 7
            collection.DeleteVector("s");                                                                                 // 8
            await collection.UpdateAsync(new UpdateVectorsOperation([new PointVectors(PointId.FromNumber(5), new Dictionary<string, float[]> { ["b"] = [3, 4] })]), wait: true); // 9
            expected["last_lsn"] = collection.LastLsn;
            expected["checkpoint_lsn"] = collection.CheckpointLsn;
            expected["points"] = GoldenFixture.Render(collection);
            collection.Close(checkpoint: false);
        }

        File.WriteAllText(Path.Combine(output, "expected.json"), expected.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
    }

    private static EngineOptions Options(string dataDir) => new()
    {
        DataDir = dataDir,
        AutoSave = new AutoSaveOptions { Enabled = false },
        MaintenanceInterval = TimeSpan.FromHours(1),
    };

    private static JsonObject Expected() =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(GoldenFixture.Folder(Version), "expected.json")))!.AsObject();

    private static string Install(string target)
    {
        CopyDirectory(Path.Combine(GoldenFixture.Folder(Version), "data"), target);
        return Path.Combine(target, "collections", Name);
    }

    private static void CopyDirectory(string source, string target)
    {
        Directory.CreateDirectory(target);
        foreach (var file in Directory.EnumerateFiles(source))
        {
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        }

        foreach (var directory in Directory.EnumerateDirectories(source))
        {
            CopyDirectory(directory, Path.Combine(target, Path.GetFileName(directory)));
        }
    }

    [Fact]
    public void TheFormat2SegmentHoldsTheVectorChanges()
    {
        using var dir = new TempDirectory();
        var wal = Path.Combine(Install(dir.Path), "wal");
        var segment = Assert.Single(Directory.GetFiles(wal, "*.wal"));
        Assert.Equal(2, BinaryPrimitives.ReadUInt16LittleEndian(File.ReadAllBytes(segment).AsSpan(8)));

        var records = new List<WalRecord>();
        using (WriteAheadLog.Open(wal, 32 << 20, NullLogger.Instance, 0, r => records.Add(new WalRecord(r.Lsn, r.Kind, r.Body.ToArray()))))
        {
        }

        var operations = records.Select(r => WalOperation.Decode(r.Kind, r.Body.Span)).ToList();
        Assert.Equal(Expected()["last_lsn"]!.GetValue<long>(), records[^1].Lsn);
        Assert.Equal(
            ["CreateVector b", "Upsert", "Upsert", "DeleteVector b", "CreateVector b", "CreateVector s", "Upsert", "DeleteVector s", "UpdateVectors"],
            operations.Select(o => o.ChangedVector is { } name ? $"{o.Kind} {name}" : o.Kind.ToString()));
        Assert.Equal((4, Distance.Cosine), (operations[0].DenseParams!.Size, operations[0].DenseParams!.Distance));
        Assert.Equal((2, Distance.Dot), (operations[4].DenseParams!.Size, operations[4].DenseParams!.Distance));
        Assert.True(operations[5].SparseParams!.Idf);
        Assert.Null(operations[5].DenseParams);
    }

    [Fact]
    public void TheFixtureOpensWithTheSamePoints()
    {
        using var dir = new TempDirectory();
        Install(dir.Path);
        var expected = Expected();
        using var manager = CollectionManager.Open(Options(dir.Path), NullLoggerFactory.Instance);
        Assert.Empty(manager.Failed);
        var collection = manager.Get(Name);
        Assert.Equal(expected["checkpoint_lsn"]!.GetValue<long>(), collection.CheckpointLsn);
        Assert.Equal(expected["last_lsn"]!.GetValue<long>(), collection.LastLsn);
        Assert.Equal(expected["points"]!.ToJsonString(), GoldenFixture.Render(collection).ToJsonString());
        Assert.Equal(["", "b"], collection.Config.Vectors.Keys.Order(StringComparer.Ordinal));
        Assert.Empty(collection.Config.SparseVectors);
    }

    [Fact]
    public void WithoutItsCheckpointsTheWholeLogReplaysAcrossTheChangesToTheSamePoints()
    {
        using var dir = new TempDirectory();
        var root = Install(dir.Path);
        Directory.Delete(Path.Combine(root, "checkpoints"), recursive: true);
        Directory.CreateDirectory(Path.Combine(root, "checkpoints"));
        using var manager = CollectionManager.Open(Options(dir.Path), NullLoggerFactory.Instance);
        Assert.Empty(manager.Failed);
        var collection = manager.Get(Name);
        Assert.Equal(0, collection.CheckpointLsn);
        Assert.Equal(Expected()["points"]!.ToJsonString(), GoldenFixture.Render(collection).ToJsonString());

        // Hand-checked: the deleted 4-dimensional `b` of points 1-3 is not in the re-created 2-dimensional one.
        var points = collection.Retrieve([.. Enumerable.Range(1, 5).Select(i => PointId.FromNumber((ulong)i))], PayloadSelector.None, VectorSelector.All);
        Assert.Equal([false, false, false, true, true], points.Select(p => p.Vectors!.ContainsKey("b")));
        Assert.Equal([3f, 4f], points[4].Vectors!["b"]);
    }
}
