using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Index;
using Vectorizer.Engine.Operations;
using Vectorizer.Engine.Payload;
using Vectorizer.Engine.Points;
using Vectorizer.Engine.Storage;
using Vectorizer.Engine.Vectors;

namespace Vectorizer.Engine.Tests.Golden;

/// <summary>Runs only when <c>VECTORIZER_WRITE_FIXTURES</c> names an output folder (never over a committed version).</summary>
public sealed class FixtureGeneratorFactAttribute : FactAttribute
{
    public FixtureGeneratorFactAttribute()
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("VECTORIZER_WRITE_FIXTURES")))
        {
            Skip = "writes golden fixtures: set VECTORIZER_WRITE_FIXTURES=<empty folder> to run (a new format version only)";
        }
    }
}

/// <summary>
/// Golden on-disk fixtures: a WAL segment, checkpoints (manifest, points.bin, tails, graphs, sparse.bin, a full vector
/// chunk), a <c>collection.json</c> and <c>aliases.json</c> written by the code of ff4e969, read back by today's code.
/// A failure here means a format changed without a new version (or a reader dropped an old one).
/// </summary>
public class GoldenFormatTests
{
    private const string Version = "v1";

    [FixtureGeneratorFact]
    public async Task WriteFixtures()
    {
        var output = Environment.GetEnvironmentVariable("VECTORIZER_WRITE_FIXTURES")!;
        Assert.True(!Directory.Exists(output) || !Directory.EnumerateFileSystemEntries(output).Any(), $"{output} must be empty");
        await GoldenFixture.WriteAsync(output);
    }

    private static JsonObject Expected() =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(GoldenFixture.Folder(Version), "expected.json")))!.AsObject();

    private static void AssertSameJson(JsonNode? expected, JsonNode actual) =>
        Assert.Equal(expected!.ToJsonString(), actual.ToJsonString());

    private static EngineOptions Options(string dataDir) => new()
    {
        DataDir = dataDir,
        AutoSave = new AutoSaveOptions { Enabled = false },
        MaintenanceInterval = TimeSpan.FromHours(1),
    };

    [Fact]
    public void FormatVersionsAreNamedAndFrozen()
    {
        // Bumping one of these means a new fixture folder (and a reader for the old one).
        Assert.Equal(2, WriteAheadLog.FormatVersion);
        Assert.Equal(2, OnDiskFormat.WalSegment);
        Assert.Equal(1, OnDiskFormat.OldestWalSegment);
        Assert.Equal(1, OnDiskFormat.CheckpointManifest);
        Assert.Equal(1, OnDiskFormat.CheckpointPoints);
        Assert.Equal(1, OnDiskFormat.HnswGraph);
    }

    [Fact]
    public void EveryWalRecordKindIsFrozen()
    {
        // Persisted in every WAL record: never renumber, only add (and add the new kind here and to the fixture).
        var expected = new Dictionary<string, byte>
        {
            ["Upsert"] = 1,
            ["Delete"] = 2,
            ["SetPayload"] = 3,
            ["OverwritePayload"] = 4,
            ["DeletePayload"] = 5,
            ["ClearPayload"] = 6,
            ["UpdateVectors"] = 7,
            ["DeleteVectors"] = 8,
            ["CreateVector"] = 9,
            ["DeleteVector"] = 10,
        };
        var actual = Enum.GetValues<WalOperationKind>().ToDictionary(k => k.ToString(), k => (byte)k);
        Assert.Equal(expected.OrderBy(e => e.Key), actual.OrderBy(e => e.Key));
    }

    [Fact]
    public void EveryDistanceIsFrozen()
    {
        var expected = new Dictionary<string, int> { ["Cosine"] = 1, ["Euclid"] = 2, ["Dot"] = 3, ["Manhattan"] = 4 };
        var actual = Enum.GetValues<Distance>().ToDictionary(k => k.ToString(), k => (int)k);
        Assert.Equal(expected.OrderBy(e => e.Key), actual.OrderBy(e => e.Key));
    }

    [Fact]
    public void GoldenWalSegmentDecodesToEveryRecordKind()
    {
        using var dir = new TempDirectory();
        GoldenFixture.Install(Version, dir.Path);
        var walDirectory = Path.Combine(dir.Path, "collections", GoldenFixture.GoldenCollection, "wal");
        var segment = Assert.Single(Directory.GetFiles(walDirectory, "*.wal"));
        var header = File.ReadAllBytes(segment).AsSpan(0, WriteAheadLog.HeaderSize);
        Assert.True(header[..8].SequenceEqual("VZWAL\0\0\0"u8));
        Assert.Equal(1, System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(header[8..]));

        var records = new List<WalRecord>();
        using (WriteAheadLog.Open(walDirectory, 1 << 20, NullLogger.Instance, 0, r => records.Add(new WalRecord(r.Lsn, r.Kind, r.Body.ToArray()))))
        {
        }

        var expected = Expected();
        Assert.Equal(expected["golden_last_lsn"]!.GetValue<long>(), records[^1].Lsn);
        Assert.Equal(Enumerable.Range(1, records.Count).Select(i => (long)i), records.Select(r => r.Lsn));
        var operations = records.Select(r => WalOperation.Decode(r.Kind, r.Body.Span)).ToList();
        Assert.Equal(Enum.GetValues<WalOperationKind>().Where(k => k <= WalOperationKind.DeleteVectors).Order(), operations.Select(o => o.Kind).Distinct().Order());

        // The first record is the first upsert batch: ids 1..100, every one with a text vector.
        var first = operations[0];
        Assert.Equal(WalOperationKind.Upsert, first.Kind);
        Assert.Equal(Enumerable.Range(1, 100).Select(i => PointId.FromNumber((ulong)i)), first.Ids);
        Assert.All(first.Vectors!, v => Assert.Equal(8, v["text"].Length));
        Assert.Equal(1, first.Payloads![0]!.Root.GetProperty("n").GetInt32());
        Assert.NotNull(first.Sparse);
        var deletePayload = operations.First(o => o.Kind == WalOperationKind.DeletePayload);
        Assert.Equal(["n", "nested.ok"], deletePayload.Keys!.Select(k => k.Text));
        var deleteVectors = operations.First(o => o.Kind == WalOperationKind.DeleteVectors);
        Assert.Equal(["image", "bm25"], deleteVectors.VectorNames!);
    }

    [Fact]
    public void GoldenCollectionJsonReadsBack()
    {
        var path = Path.Combine(GoldenFixture.Folder(Version), "data", "collections", GoldenFixture.GoldenCollection, "collection.json");
        var config = CollectionConfigFile.Read(PhysicalStorage.Instance, path);
        Assert.True(config.NamedVectors);
        Assert.Equal(["dot", "image", "manhattan", "text"], config.Vectors.Keys.Order(StringComparer.Ordinal));
        Assert.Equal((8, Distance.Cosine), (config.Vectors["text"].Size, config.Vectors["text"].Distance));
        Assert.Equal((4, Distance.Euclid, true), (config.Vectors["image"].Size, config.Vectors["image"].Distance, config.Vectors["image"].OnDisk));
        Assert.Equal((3, Distance.Dot), (config.Vectors["dot"].Size, config.Vectors["dot"].Distance));
        Assert.Equal((2, Distance.Manhattan), (config.Vectors["manhattan"].Size, config.Vectors["manhattan"].Distance));
        Assert.Equal(6, config.HnswFor("text").M);
        Assert.Equal(24, config.HnswFor("text").EfConstruct);
        Assert.Equal((8, 32, 0, 64), (config.Hnsw.M, config.Hnsw.EfConstruct, config.Hnsw.FullScanThreshold, config.Hnsw.Ef));
        Assert.Equal((1, 100, 0.2), (config.Optimizers.IndexingThreshold, config.Optimizers.VacuumMinVectorNumber, config.Optimizers.DeletedThreshold));
        Assert.Equal(1, config.Wal.WalCapacityMb);
        Assert.Equal(new Vectors.Quantization.QuantizationSettings(Vectors.Quantization.QuantizationKind.Scalar, 0.99f, true), config.QuantizationFor("text"));
        Assert.Equal(Vectors.Quantization.QuantizationKind.Binary, config.QuantizationFor("dot")!.Kind);
        Assert.Equal(["bm25", "keywords"], config.SparseVectors.Keys.Order(StringComparer.Ordinal));
        Assert.True(config.SparseVectors["bm25"].Idf);
        Assert.False(config.SparseVectors["keywords"].Idf);
        Assert.Equal(100, config.SparseVectors["keywords"].Index!.FullScanThreshold);
        Assert.Equal("golden-fixture", JsonDocument.Parse(config.Metadata!.Utf8.ToArray()).RootElement.GetProperty("owner").GetString());
        Assert.False(config.StrictMode!.Enabled);
        Assert.Equal("hash", JsonDocument.Parse(config.Embedding!.Utf8.ToArray()).RootElement.GetProperty("dense").GetProperty("provider").GetString());
        Assert.Equal(
            ["body:text", "n:integer", "tag:keyword", "when:datetime"],
            config.PayloadSchema.Select(p => $"{p.Key}:{p.Value.TypeName}").Order(StringComparer.Ordinal));
        Assert.Equal(TokenizerKind.Word, config.PayloadSchema["body"].Params!.Text!.Tokenizer);
        Assert.Equal(2, config.PayloadSchema["body"].Params!.Text!.MinTokenLength);
    }

    [Fact]
    public void GoldenGraphFilesLoad()
    {
        var checkpoints = Path.Combine(GoldenFixture.Folder(Version), "data", "collections", GoldenFixture.GoldenCollection, "checkpoints");
        var graphs = Directory.GetFiles(checkpoints, "*.graph", SearchOption.AllDirectories);
        Assert.NotEmpty(graphs);
        foreach (var file in graphs)
        {
            var bytes = ChecksummedFile.Read(file).Span;
            Assert.Equal(OnDiskFormat.HnswGraph, System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(bytes[8..]));
            var (_, nodes) = HnswGraph.Load(bytes);
            var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(Path.GetDirectoryName(file)!, "manifest.json")).Split("\n#crc32c=")[0])!;
            var slot = manifest["slots"]!.AsArray().Single(s => s!["graph"]!.GetValue<string>().EndsWith("/" + Path.GetFileName(file), StringComparison.Ordinal))!;
            Assert.Equal(slot["indexed_up_to"]!.GetValue<int>(), nodes);
            Assert.True(nodes > 100, $"{file}: {nodes} nodes");
        }
    }

    [Fact]
    public async Task GoldenDataDirectoryOpensWithTheSamePoints()
    {
        using var dir = new TempDirectory();
        GoldenFixture.Install(Version, dir.Path);
        var expected = Expected();
        using (var manager = CollectionManager.Open(Options(dir.Path), NullLoggerFactory.Instance))
        {
            Assert.Equal([GoldenFixture.ChunkedCollection, GoldenFixture.GoldenCollection], manager.List());
            Assert.Equal(["another", "golden-alias"], manager.ListAliases().Select(a => a.AliasName));
            Assert.Same(manager.Get(GoldenFixture.GoldenCollection), manager.Get("golden-alias"));

            var golden = manager.Get(GoldenFixture.GoldenCollection);
            Assert.Equal(expected["golden_checkpoint_lsn"]!.GetValue<long>(), golden.CheckpointLsn);
            Assert.Equal(expected["golden_last_lsn"]!.GetValue<long>(), golden.LastLsn);
            Assert.Equal(1, golden.State.Generation);
            AssertSameJson(expected["golden"], GoldenFixture.Render(golden));
            AssertSameJson(expected["golden_query"], GoldenFixture.RenderQuery(golden));
            Assert.NotNull(golden.State.Slot("text")!.Graph);
            Assert.Equal(["body", "n", "tag", "when"], golden.GetInfo().PayloadSchema!.Select(p => p.Field).Order(StringComparer.Ordinal));

            // Hand-checked facts, independent of the rendering.
            Assert.Empty(golden.Retrieve([PointId.FromNumber(1), PointId.FromNumber(120), PointId.FromNumber(163)], PayloadSelector.All, VectorSelector.None));
            var overwritten = Assert.Single(golden.Retrieve([PointId.FromNumber(194)], PayloadSelector.All, VectorSelector.None));
            Assert.Equal("""{"overwritten":2}""", overwritten.Payload!.Root.GetRawText());

            var chunked = manager.Get(GoldenFixture.ChunkedCollection);
            Assert.Equal(expected["chunked_checkpoint_lsn"]!.GetValue<long>(), chunked.CheckpointLsn);
            AssertSameJson(expected["chunked"], GoldenFixture.Render(chunked));
            var five = Assert.Single(chunked.Retrieve([PointId.FromNumber(5)], PayloadSelector.All, VectorSelector.All));
            Assert.Equal(GoldenFixture.ChunkedVector(5), five.Vectors![""]);
            Assert.Equal(65, chunked.GetInfo().PointsCount);
        }

        // The full vector chunk is a file of its own, shared by checkpoints.
        Assert.Single(Directory.GetFiles(Path.Combine(dir.Path, "collections", GoldenFixture.ChunkedCollection, "vectors"), "chunk-*.bin", SearchOption.AllDirectories));
    }

    [Fact]
    public void TheOlderGoldenCheckpointLoadsToo()
    {
        using var dir = new TempDirectory();
        GoldenFixture.Install(Version, dir.Path);
        var expected = Expected();
        var root = Path.Combine(dir.Path, "collections", GoldenFixture.GoldenCollection);
        var newest = expected["golden_checkpoint_lsn"]!.GetValue<long>();
        var older = expected["golden_first_checkpoint_lsn"]!.GetValue<long>();
        Directory.Delete(Path.Combine(root, "checkpoints", newest.ToString("D20", System.Globalization.CultureInfo.InvariantCulture)), recursive: true);

        // Without the WAL after it, the older checkpoint alone gives the state it was written at.
        Directory.Delete(Path.Combine(root, "wal"), recursive: true);
        using var manager = CollectionManager.Open(Options(dir.Path), NullLoggerFactory.Instance);
        var golden = manager.Get(GoldenFixture.GoldenCollection);
        Assert.Equal(older, golden.CheckpointLsn);
        AssertSameJson(expected["golden_first_checkpoint"], GoldenFixture.Render(golden));
    }
}
