namespace Vectorizer.Server.Tests;

/// <summary>Full runs of <c>vectorizer index</c> that touch more than one collection.</summary>
public sealed class IndexRunTests : IDisposable
{
    private readonly string work = TestPaths.NewPath("index-run-");

    public void Dispose() => TestServer.TryDelete(work);

    /// <summary>
    /// The end of a run removes the points of files that are gone, in the run's collection only: indexing a directory
    /// into a second collection (another embedder, say) once emptied the first, whose files were "not present" in the
    /// second run.
    /// </summary>
    [Fact]
    public async Task IndexingOneDirectoryIntoASecondCollectionLeavesTheFirstAlone()
    {
        var corpus = Directory.CreateDirectory(Path.Combine(work, "docs")).FullName;
        File.WriteAllText(Path.Combine(corpus, "a.md"), "# A\n\nalpha beta\n");
        File.WriteAllText(Path.Combine(corpus, "b.md"), "# B\n\ngamma delta\n");
        var dataDir = Path.Combine(work, "data");
        foreach (var collection in new[] { "first", "second" })
        {
            var (code, text) = await VectorizerProcess.RunAsync("index", corpus, "--collection", collection, "--data-dir", dataDir, "--plain", "--provider", "hash");
            Assert.True(code == 0, text);
            Assert.Equal(0, IndexCommandTests.Summary(text, "files removed"));
        }

        File.Delete(Path.Combine(corpus, "b.md"));
        var (again, output) = await VectorizerProcess.RunAsync("index", corpus, "--collection", "second", "--data-dir", dataDir, "--plain", "--provider", "hash");
        Assert.True(again == 0, output);
        Assert.Equal(1, IndexCommandTests.Summary(output, "files removed"));

        await using var server = await TestServer.StartAsync(dataDir: dataDir);
        Assert.Equal(2, (await server.Post("/collections/first/points/count", "{}")).AssertOk().Result.GetProperty("count").GetInt32());
        Assert.Equal(1, (await server.Post("/collections/second/points/count", "{}")).AssertOk().Result.GetProperty("count").GetInt32());
    }
}
