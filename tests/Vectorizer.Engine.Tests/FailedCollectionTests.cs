using Microsoft.Extensions.Logging;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Operations;

namespace Vectorizer.Engine.Tests;

/// <summary>
/// A collection whose folder exists but that cannot be opened is reported as failed and never deleted, replaced or
/// written over by the server: its files wait for an operator (<c>vectorizer collection check|repair|quarantine</c>).
/// </summary>
public class FailedCollectionTests
{
    private static async Task<Collection> CreateWithPoints(CollectionManager manager, string name, int count)
    {
        var collection = manager.Create(name, TestData.Config(4));
        var random = new Random(5);
        var points = Enumerable.Range(1, count).Select(i => TestData.Point((ulong)i, TestData.RandomVector(random, 4), $$"""{"i": {{i}}}""")).ToList();
        await collection.UpdateAsync(new UpsertOperation(points), wait: true);
        return collection;
    }

    private static Dictionary<string, byte[]> Snapshot(string root) =>
        Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).ToDictionary(f => Path.GetRelativePath(root, f), File.ReadAllBytes);

    [Fact]
    public async Task ACollectionThatFailsToOpenIsNeverDeletedByALaterCreate()
    {
        // The review's reproduction: 100 points, a damaged collection.json, reopen, Create("precious").
        using var dir = new TempDirectory();
        string root;
        using (var manager = TestData.Open(dir.Path))
        {
            root = (await CreateWithPoints(manager, "precious", 100)).Paths.Root;
        }

        var config = Path.Combine(root, "collection.json");
        var original = File.ReadAllBytes(config);
        File.WriteAllText(config, "{ damaged");
        var files = Snapshot(root);

        var log = new ListLogger();
        using (var manager = TestData.Open(dir.Path, log))
        {
            var failed = Assert.Single(manager.Failed);
            Assert.Equal("precious", failed.Name);
            Assert.Equal(root, failed.Path);
            Assert.Contains("collection.json", failed.Reason, StringComparison.Ordinal);
            Assert.True(log.Has(LogLevel.Error, "precious"));
            Assert.Empty(manager.List());
            Assert.Null(manager.TryGet("precious"));
            Assert.True(manager.Exists("precious"));

            var create = Assert.Throws<VectorizerException>(() => manager.Create("precious", TestData.Config(4)));
            Assert.Equal(ErrorCode.CollectionFailed, create.Code);
            Assert.Contains("could not be opened", create.Message, StringComparison.Ordinal);
            Assert.Contains("vectorizer collection", create.Message, StringComparison.Ordinal);
            Assert.Equal(ErrorCode.CollectionFailed, Assert.Throws<VectorizerException>(() => manager.Get("precious")).Code);
            Assert.Equal(ErrorCode.CollectionFailed, Assert.Throws<VectorizerException>(() => manager.Delete("precious")).Code);
        }

        // Every byte is still there; an operator restores the config and gets the 100 points back.
        Assert.Equal(files, Snapshot(root));
        File.WriteAllBytes(config, original);
        using (var manager = TestData.Open(dir.Path))
        {
            Assert.Empty(manager.Failed);
            Assert.Equal(100, manager.Get("precious").GetInfo().PointsCount);
        }
    }

    [Fact]
    public async Task AFolderWithDataButNoConfigIsFailedNotLeftovers()
    {
        using var dir = new TempDirectory();
        string root;
        using (var manager = TestData.Open(dir.Path))
        {
            root = (await CreateWithPoints(manager, "orphan", 10)).Paths.Root;
        }

        File.Delete(Path.Combine(root, "collection.json"));
        var files = Snapshot(root);
        using (var manager = TestData.Open(dir.Path))
        {
            Assert.Contains("no collection.json", Assert.Single(manager.Failed).Reason, StringComparison.Ordinal);
            Assert.Equal(ErrorCode.CollectionFailed, Assert.Throws<VectorizerException>(() => manager.Create("orphan", TestData.Config(4))).Code);
        }

        Assert.Equal(files, Snapshot(root));
    }

    [Fact]
    public async Task AConfigFromANewerVersionIsReportedAndKept()
    {
        using var dir = new TempDirectory();
        string root;
        using (var manager = TestData.Open(dir.Path))
        {
            root = (await CreateWithPoints(manager, "future", 5)).Paths.Root;
        }

        var config = Path.Combine(root, "collection.json");
        var node = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(config))!.AsObject();
        node["format_version"] = CollectionConfigFile.FormatVersion + 1;
        File.WriteAllText(config, node.ToJsonString());
        var files = Snapshot(root);
        using (var manager = TestData.Open(dir.Path))
        {
            Assert.Contains("written by a newer Vectorizer", Assert.Single(manager.Failed).Reason, StringComparison.Ordinal);
        }

        Assert.Equal(CollectionProblem.NewerFormat, CollectionDoctor.Check(TestData.Options(dir.Path), "future").Problem);
        Assert.Equal(files, Snapshot(root));
    }

    [Fact]
    public void AnInterruptedCreateIsCleanedUpAtStartAndTheNameIsFree()
    {
        // What a crash between creating the folder and renaming collection.json into place leaves behind.
        using var dir = new TempDirectory();
        var root = Path.Combine(dir.Path, "collections", "half");
        Directory.CreateDirectory(Path.Combine(root, "checkpoints"));
        File.WriteAllText(Path.Combine(root, "collection.json.tmp"), "{\"params\":");
        using var manager = TestData.Open(dir.Path);
        Assert.Empty(manager.Failed);
        Assert.False(Directory.Exists(root));
        manager.Create("half", TestData.Config(4));
        Assert.True(manager.Exists("half"));
    }

    [Fact]
    public async Task AnAliasOfAFailedCollectionReportsTheFailure()
    {
        using var dir = new TempDirectory();
        string root;
        using (var manager = TestData.Open(dir.Path))
        {
            root = (await CreateWithPoints(manager, "target", 3)).Paths.Root;
            manager.UpdateAliases([new CreateAlias("target", "nick")]);
        }

        File.WriteAllText(Path.Combine(root, "collection.json"), "[]");
        using (var manager = TestData.Open(dir.Path))
        {
            Assert.Equal(ErrorCode.CollectionFailed, Assert.Throws<VectorizerException>(() => manager.Get("nick")).Code);
            Assert.Equal(ErrorCode.CollectionFailed, Assert.Throws<VectorizerException>(() => manager.UpdateAliases([new CreateAlias("target", "other")])).Code);
            manager.Create("y", TestData.Config(4));
            Assert.Equal(ErrorCode.CollectionFailed, Assert.Throws<VectorizerException>(() => manager.UpdateAliases([new CreateAlias("y", "target")])).Code);
        }
    }
}
