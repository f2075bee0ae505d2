using Microsoft.Extensions.Logging.Abstractions;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Operations;
using Vectorizer.Engine.Points;
using Vectorizer.Engine.Storage;

namespace Vectorizer.Engine.Tests;

/// <summary>The operator's side of a failed collection: check (read-only), repair (with consent to lose data), quarantine.</summary>
public class CollectionDoctorTests
{
    private static async Task<string> Points(string dataDir, int count, bool checkpoint = false, EngineOptions? options = null)
    {
        using var manager = CollectionManager.Open(options ?? TestData.Options(dataDir), NullLoggerFactory.Instance);
        var collection = manager.Create("c", TestData.Config(4));
        manager.UpdateAliases([new CreateAlias("c", "nick")]);
        var random = new Random(1);
        for (var i = 1; i <= count; i++)
        {
            await collection.UpdateAsync(new UpsertOperation([TestData.Point((ulong)i, TestData.RandomVector(random, 4), $$"""{"pad": "{{new string('p', 3000)}}"}""")]), wait: true);
            if (checkpoint && i == count / 2)
            {
                collection.Checkpoint();
            }
        }

        collection.Close(checkpoint: false);
        return collection.Paths.Root;
    }

    private static Dictionary<string, byte[]> Snapshot(string root) =>
        Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).ToDictionary(f => Path.GetRelativePath(root, f), File.ReadAllBytes);

    [Fact]
    public async Task CheckReportsAHealthyCollectionAndChangesNothing()
    {
        using var dir = new TempDirectory();
        var root = await Points(dir.Path, 10, checkpoint: true);
        var files = Snapshot(root);
        var check = CollectionDoctor.Check(TestData.Options(dir.Path), "c");
        Assert.Equal(CollectionProblem.None, check.Problem);
        Assert.Equal(10, check.Points);
        Assert.Equal(5, check.CheckpointLsn);
        Assert.Equal(10, check.LastLsn);
        Assert.Contains(check.Findings, f => f.StartsWith("WAL: 1 segment(s)", StringComparison.Ordinal));
        Assert.Equal(files, Snapshot(root));
    }

    [Fact]
    public async Task AnUndecodableRecordIsRepairedOnlyWithConsentAndAfterABackup()
    {
        using var dir = new TempDirectory();
        var root = await Points(dir.Path, 6);
        using (var wal = WriteAheadLog.Open(Path.Combine(root, "wal"), 32 << 20, NullLogger.Instance, 0, _ => { }))
        {
            wal.Append((byte)WalOperationKind.Delete, [9, 9, 9]);
            wal.Append((byte)WalOperationKind.Delete, new WalOperation(WalOperationKind.Delete, [PointId.FromNumber(1)]).Encode());
        }

        var options = TestData.Options(dir.Path);
        var check = CollectionDoctor.Check(options, "c");
        Assert.Equal(CollectionProblem.WalDamaged, check.Problem);
        Assert.Equal(6, check.LastLsn);
        Assert.Contains("WAL record 7", check.Reason, StringComparison.Ordinal);

        var files = Snapshot(root);
        var refused = CollectionDoctor.Repair(options, "c", NullLoggerFactory.Instance, acceptDataLoss: false);
        Assert.Contains("--accept-data-loss", refused.NotRepaired, StringComparison.Ordinal);
        Assert.Equal(files, Snapshot(root));
        Assert.False(Directory.Exists(Path.Combine(dir.Path, "quarantine")));

        var repaired = CollectionDoctor.Repair(options, "c", NullLoggerFactory.Instance, acceptDataLoss: true);
        Assert.Null(repaired.NotRepaired);
        Assert.Equal(CollectionProblem.None, repaired.After.Problem);
        var backup = Assert.Single(Directory.GetDirectories(Path.Combine(dir.Path, "quarantine")));
        Assert.EndsWith("-before-repair", backup, StringComparison.Ordinal);
        Assert.Equal(files, Snapshot(backup));
        using var manager = TestData.Open(dir.Path);
        Assert.Empty(manager.Failed);
        Assert.Equal(6, manager.Get("nick").GetInfo().PointsCount);
    }

    [Fact]
    public async Task ADamagedConfigIsRepairedFromAGoodCopy()
    {
        using var dir = new TempDirectory();
        var root = await Points(dir.Path, 4);
        var good = Path.Combine(dir.Path, "good.json");
        File.Copy(Path.Combine(root, "collection.json"), good);
        File.WriteAllText(Path.Combine(root, "collection.json"), "{ damaged");
        var options = TestData.Options(dir.Path);
        Assert.Equal(CollectionProblem.ConfigDamaged, CollectionDoctor.Check(options, "c").Problem);
        Assert.Contains("--config-file", CollectionDoctor.Repair(options, "c", NullLoggerFactory.Instance, acceptDataLoss: false).NotRepaired, StringComparison.Ordinal);

        var repaired = CollectionDoctor.Repair(options, "c", NullLoggerFactory.Instance, acceptDataLoss: false, config: good);
        Assert.Null(repaired.NotRepaired);
        Assert.Equal(4, repaired.After.Points);
    }

    [Fact]
    public async Task MissingOperationsAreRepairedByReplayingWhatFollows()
    {
        using var dir = new TempDirectory();
        var options = TestData.Options(dir.Path);
        options = new EngineOptions { DataDir = options.DataDir, AutoSave = options.AutoSave, MaintenanceInterval = options.MaintenanceInterval, WalSegmentBytes = 64 << 10 };
        var root = await Points(dir.Path, 60, checkpoint: true, options);
        var segments = Directory.GetFiles(Path.Combine(root, "wal"), "*.wal").Order(StringComparer.Ordinal).ToList();
        Assert.True(segments.Count > 2);
        File.Delete(segments[0]); // the checkpoint at LSN 30 covers it...
        var manifest = Directory.GetFiles(Path.Combine(root, "checkpoints"), "manifest.json", SearchOption.AllDirectories).Single();
        File.WriteAllText(manifest, "damaged"); // ...until the checkpoint is lost too

        var check = CollectionDoctor.Check(options, "c");
        Assert.Equal(CollectionProblem.MissingOperations, check.Problem);
        var repaired = CollectionDoctor.Repair(options, "c", NullLoggerFactory.Instance, acceptDataLoss: true);
        Assert.Null(repaired.NotRepaired);
        var first = long.Parse(Path.GetFileNameWithoutExtension(segments[1]), System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(60 - first + 1, repaired.After.Points);
    }

    [Fact]
    public async Task QuarantineMovesTheFolderFreesTheNameAndKeepsTheAliasesOnRecord()
    {
        using var dir = new TempDirectory();
        var root = await Points(dir.Path, 3);
        File.WriteAllText(Path.Combine(root, "collection.json"), "{ damaged");
        var files = Snapshot(root);
        var options = TestData.Options(dir.Path);
        var moved = CollectionDoctor.Quarantine(options, "c", "collection.json is damaged", now: new DateTimeOffset(2025, 1, 2, 3, 4, 5, TimeSpan.Zero));
        Assert.Equal(Path.Combine(dir.Path, "quarantine", "c-20250102T030405Z"), moved.To);
        Assert.Equal(["nick"], moved.RemovedAliases);
        Assert.False(Directory.Exists(root));
        var kept = Snapshot(moved.To);
        Assert.Contains("\"nick\"", System.Text.Encoding.UTF8.GetString(kept["quarantine.json"]), StringComparison.Ordinal);
        kept.Remove("quarantine.json");
        Assert.Equal(files, kept);

        using var manager = TestData.Open(dir.Path);
        Assert.Empty(manager.Failed);
        Assert.Empty(manager.ListAliases());
        manager.Create("c", TestData.Config(4));
        manager.UpdateAliases([new CreateAlias("c", "nick")]);
    }
}
