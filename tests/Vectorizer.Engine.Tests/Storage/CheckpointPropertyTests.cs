using CsCheck;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Collections.Checkpoints;
using Vectorizer.Engine.Index;
using Vectorizer.Engine.Operations;
using Vectorizer.Engine.Points;
using Vectorizer.Engine.Sparse;
using Vectorizer.Engine.Storage;
using Vectorizer.Engine.Tests.Golden;

namespace Vectorizer.Engine.Tests;

/// <summary>
/// Property-based tests (CsCheck) of checkpoint decoding: random and mutated <c>points.bin</c>, <c>sparse.bin</c>,
/// manifests and graphs decode or throw a typed error (<see cref="CorruptDataException"/>,
/// <see cref="UnsupportedFormatException"/>), never anything else; and a checkpoint damaged on disk never changes what
/// a collection holds after it is opened (it falls back to an older checkpoint or the WAL).
/// </summary>
public class CheckpointPropertyTests
{
    private static readonly Lazy<Dictionary<string, byte[]>> GoldenFiles = new(() =>
    {
        // Real files to mutate: the golden fixture's newest checkpoint, CRC trailers stripped where they have one.
        var folder = Path.Combine(GoldenFixture.Folder("v1"), "data", "collections", GoldenFixture.GoldenCollection, "checkpoints");
        var newest = Directory.GetDirectories(folder).Max(StringComparer.Ordinal)!;
        return new Dictionary<string, byte[]>
        {
            ["points"] = ChecksummedFile.Read(Path.Combine(newest, "points.bin")).ToArray(),
            ["sparse"] = ChecksummedFile.Read(Path.Combine(newest, "sparse.bin")).ToArray(),
            ["graph"] = ChecksummedFile.Read(Directory.GetFiles(newest, "*.graph")[0]).ToArray(),
            ["manifest"] = File.ReadAllBytes(Path.Combine(newest, "manifest.json")),
        };
    });

    private static CollectionState NewState() => new(GoldenFixture.GoldenConfig(), 0, null);

    /// <summary>Runs one decoder; a typed error is a pass, success is a pass, anything else fails the property.</summary>
    private static void DecodeOrTyped(string which, byte[] bytes)
    {
        try
        {
            switch (which)
            {
                case "points":
                    CheckpointFormat.ReadPoints(bytes, NewState(), 1 + (bytes.Length % 300));
                    break;
                case "sparse":
                    CheckpointFormat.ReadSparse(bytes, NewState(), 300);
                    break;
                case "graph":
                    HnswGraph.Load(bytes);
                    break;
                default:
                    CheckpointFormat.DecodeManifest(bytes, "manifest.json");
                    break;
            }
        }
        catch (Exception e) when (e is CorruptDataException or UnsupportedFormatException)
        {
        }
    }

    private static readonly Gen<string> GenWhich = Gen.OneOf(Gen.Const("points"), Gen.Const("sparse"), Gen.Const("graph"), Gen.Const("manifest"));

    [Fact]
    public void RandomBytesDecodeOrAreReportedCorrupt()
    {
        Gen.Select(GenWhich, Gen.Byte.Array[0, 400]).Sample(DecodeOrTyped, iter: 20_000);
    }

    /// <summary>Mutations of real files: flip, truncate, insert, delete, or an int32 (often a count or length) set to an extreme.</summary>
    private static readonly Gen<Func<byte[], byte[]>> GenMutation = Gen.OneOf(
        Gen.Select(Gen.Int[0, int.MaxValue], Gen.Int[0, 7]).Select(Func<byte[], byte[]> (p) => b =>
        {
            var copy = (byte[])b.Clone();
            copy[p.Item1 % b.Length] ^= (byte)(1 << p.Item2);
            return copy;
        }),
        Gen.Int[0, int.MaxValue].Select(Func<byte[], byte[]> (at) => b => b[..(at % b.Length)]),
        Gen.Select(Gen.Int[0, int.MaxValue], Gen.Byte).Select(Func<byte[], byte[]> (p) => b =>
        {
            var at = p.Item1 % (b.Length + 1);
            return [.. b[..at], p.Item2, .. b[at..]];
        }),
        Gen.Select(Gen.Int[0, int.MaxValue], Gen.Int[1, 64]).Select(Func<byte[], byte[]> (p) => b =>
        {
            var at = p.Item1 % b.Length;
            return [.. b[..at], .. b[Math.Min(b.Length, at + p.Item2)..]];
        }),
        Gen.Select(Gen.Int[0, int.MaxValue], Gen.OneOf(Gen.Int, Gen.Const(-1), Gen.Const(int.MaxValue), Gen.Const(int.MinValue), Gen.Const(1 << 30))).Select(Func<byte[], byte[]> (p) => b =>
        {
            var copy = (byte[])b.Clone();
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(copy.AsSpan(p.Item1 % (b.Length - 3)), p.Item2);
            return copy;
        }));

    [Fact]
    public void MutatedCheckpointFilesDecodeOrAreReportedCorrupt()
    {
        Gen.Select(GenWhich, GenMutation.Array[1, 3]).Sample((which, mutations) =>
        {
            var bytes = GoldenFiles.Value[which];
            foreach (var mutate in mutations)
            {
                bytes = bytes.Length < 8 ? bytes : mutate(bytes);
            }

            if (which == "points")
            {
                // With the count the manifest gives, so that decoding goes past the header.
                try
                {
                    CheckpointFormat.ReadPoints(bytes, NewState(), GoldenPointCount);
                }
                catch (Exception e) when (e is CorruptDataException or UnsupportedFormatException)
                {
                }

                return;
            }

            DecodeOrTyped(which, bytes);
        }, iter: 5_000);
    }

    private static int GoldenPointCount =>
        System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(GoldenFiles.Value["points"].AsSpan(8 + 4 + 8));

    [Fact]
    public void TheUnmutatedGoldenFilesDecode()
    {
        CheckpointFormat.ReadPoints(GoldenFiles.Value["points"], NewState(), GoldenPointCount);
        HnswGraph.Load(GoldenFiles.Value["graph"]);
        CheckpointFormat.DecodeManifest(GoldenFiles.Value["manifest"], "manifest.json");
    }

    /// <summary>25 damaged copies by default (each a small collection reopened, about 4 s); <c>VECTORIZER_PROPERTY_ITERATIONS</c> raises it (to 200 at most).</summary>
    [Fact]
    public async Task ACheckpointDamagedOnDiskNeverChangesWhatTheCollectionHolds()
    {
        // A small collection with two checkpoints (the newest after a vacuum) and a WAL tail; then one file of the
        // checkpoints is damaged at a time. The WAL reaches back to the older checkpoint, so the state after opening
        // must be exactly the state before, whichever file was hit and however.
        using var template = new TempDirectory();
        string expected;
        using (var manager = TestData.Open(template.Path))
        {
            var config = TestData.Config(4, fullScanThreshold: 0, indexingThreshold: 1) with
            {
                Optimizers = new OptimizersConfig { IndexingThreshold = 1, VacuumMinVectorNumber = 100, DeletedThreshold = 0.1 },
                SparseVectors = new Dictionary<string, SparseVectorParams>(StringComparer.Ordinal) { ["s"] = new() },
            };
            var collection = manager.Create("c", config);
            var random = new Random(9);
            await collection.UpdateAsync(new UpsertOperation([.. Enumerable.Range(0, 300).Select(i => new PointStruct(
                PointId.FromNumber((ulong)i),
                new Dictionary<string, float[]> { [""] = TestData.RandomVector(random, 4) },
                Payload.PointPayload.FromUtf8(System.Text.Encoding.UTF8.GetBytes($$"""{"i": {{i}}}""")),
                new Dictionary<string, SparseVector> { ["s"] = SparseVector.Create([(uint)i, 7000u], [1f, 0.5f]) }))]), wait: true);
            await collection.WaitForIndexingAsync(TimeSpan.FromMinutes(1));
            collection.Checkpoint();
            await collection.UpdateAsync(new DeletePointsOperation(PointSelector.ForIds([.. Enumerable.Range(0, 120).Select(i => PointId.FromNumber((ulong)i))])), wait: true);
            collection.Vacuum();
            await collection.WaitForIndexingAsync(TimeSpan.FromMinutes(1));
            collection.Checkpoint();
            await collection.UpdateAsync(new DeletePointsOperation(PointSelector.ForIds([PointId.FromNumber(200)])), wait: true);
            expected = GoldenFixture.Render(collection).ToJsonString();
            collection.Close(checkpoint: false);
        }

        var checkpointFiles = Directory.GetFiles(Path.Combine(template.Path, "collections", "c", "checkpoints"), "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(template.Path, f)).Order(StringComparer.Ordinal).ToArray();
        Gen.Select(Gen.Int[0, checkpointFiles.Length - 1], GenMutation).Sample((file, mutate) =>
        {
            using var dir = new TempDirectory();
            foreach (var source in Directory.GetFiles(template.Path, "*", SearchOption.AllDirectories))
            {
                var target = Path.Combine(dir.Path, Path.GetRelativePath(template.Path, source));
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Copy(source, target);
            }

            var damaged = Path.Combine(dir.Path, checkpointFiles[file]);
            var bytes = File.ReadAllBytes(damaged);
            File.WriteAllBytes(damaged, bytes.Length < 8 ? [] : mutate(bytes));
            using var manager = TestData.Open(dir.Path);
            Assert.Empty(manager.Failed);
            Assert.Equal(expected, GoldenFixture.Render(manager.Get("c")).ToJsonString());
        }, iter: Math.Min(FilterPropertyTests.Iterations(25), 200), threads: 1);
    }
}
