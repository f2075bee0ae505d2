using Microsoft.Extensions.Logging.Abstractions;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Errors;
using Vectorizer.Ingestion;
using Vectorizer.Ingestion.Files;
using Vectorizer.Server.Configuration;

namespace Vectorizer.Server.Tests;

/// <summary>The <c>file_watcher:</c> section (read, validated naming the key, shown) and the globs it uses.</summary>
public class FileWatcherConfigTests
{
    [Fact]
    public void TheSectionIsReadWithListsAndAnOrderedMapping()
    {
        var issues = ConfigLoader.ValidateYaml("""
            file_watcher:
              enabled: true
              watch_paths:
                - "/srv/project"
                - "/srv/notes"
              debounce_ms: 150
              exclude_patterns: ["**/target/**"]
              include_extensions: [".md", "cs"]
              max_file_size: 2097152
              collection_mapping:
                "docs/**": "docs"
                "**/*.cs": "code"
              default_collection: "misc"
              auto_discovery: false
              hot_reload: false
            """);
        Assert.Empty(issues);
        var path = Path.Combine(Path.GetTempPath(), "vectorizer-tests", Guid.NewGuid().ToString("N") + ".yml");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, """
            file_watcher:
              enabled: true
              watch_paths:
                - "/srv/project"
                - "/srv/notes"
              debounce_ms: 150
              exclude_patterns: ["**/target/**"]
              include_extensions: [".md", "cs"]
              max_file_size: 2097152
              collection_mapping:
                "docs/**": "docs"
                "**/*.cs": "code"
              default_collection: "misc"
              auto_discovery: false
              hot_reload: false
            """);
        var settings = ConfigLoader.Load(path, new Dictionary<string, string?>()).Settings;
        File.Delete(path);
        var section = settings.FileWatcher;
        Assert.True(section.Enabled);
        Assert.Equal(["/srv/project", "/srv/notes"], section.WatchPaths);
        Assert.Equal(150, section.DebounceMs);
        Assert.Equal(["**/target/**"], section.ExcludePatterns); // replaces the defaults
        Assert.Equal(2097152, section.MaxFileSize);
        Assert.Equal([("docs/**", "docs"), ("**/*.cs", "code")], section.CollectionMapping.Select(m => (m.Key, m.Value))); // the file's order
        Assert.False(section.AutoDiscovery);
        Assert.False(section.HotReload);
        Assert.Empty(ConfigLoader.Validate(settings));

        var options = section.ToIndexerOptions(null);
        Assert.Equal([".cs", ".md"], options.IncludeExtensions.Order());
        Assert.Equal("misc", options.DefaultCollection);
        Assert.Equal("local", options.NewCollectionEmbedding.Dense!.Provider);
        Assert.Equal("all-MiniLM-L6-v2", options.NewCollectionEmbedding.Dense!.Model);
        Assert.Equal("bm25", options.NewCollectionEmbedding.Sparse!.Provider);

        var yaml = ConfigLoader.ToYaml(settings);
        Assert.Contains("  watch_paths:\n    - /srv/project\n    - /srv/notes\n", yaml, StringComparison.Ordinal);
        Assert.Contains("  collection_mapping:\n    docs/**: docs\n    '**/*.cs': code\n", yaml, StringComparison.Ordinal);
    }

    [Fact]
    public void DefaultsExcludeTheUsualBuildAndToolDirectories()
    {
        var section = new VectorizerSettings().FileWatcher;
        Assert.False(section.Enabled);
        Assert.Equal(300, section.DebounceMs);
        Assert.True(section.AutoDiscovery);
        Assert.True(section.HotReload);
        Assert.Equal([".*", "**/node_modules/**", "**/__pycache__/**", "**/bin/**", "**/obj/**"], section.ExcludePatterns);
        Assert.Empty(ConfigLoader.ValidateYaml("file_watcher:\n  enabled: false\n"));
    }

    [Fact]
    public void BadValuesNameTheirKey()
    {
        var issues = ConfigLoader.ValidateYaml("""
            file_watcher:
              enabled: true
              watch_paths: []
              debounce_ms: -1
              max_file_size: 0
              exclude_patterns: ["src/[abc"]
              collection_mapping:
                "docs/**": "bad/name"
            """).Select(i => i.ToString()).ToList();
        Assert.Contains(issues, i => i.Contains("`file_watcher.watch_paths`: list at least one directory", StringComparison.Ordinal));
        Assert.Contains(issues, i => i.Contains("`file_watcher.debounce_ms`", StringComparison.Ordinal));
        Assert.Contains(issues, i => i.Contains("`file_watcher.max_file_size`", StringComparison.Ordinal));
        Assert.Contains(issues, i => i.Contains("`file_watcher.exclude_patterns[0]`: glob `src/[abc`", StringComparison.Ordinal));
        Assert.Contains(issues, i => i.Contains("`file_watcher.collection_mapping.docs/**`", StringComparison.Ordinal));

        var types = ConfigLoader.ValidateYaml("file_watcher:\n  watch_paths: \"/srv\"\n  exclude_patterns: [[1]]\n").Select(i => i.ToString()).ToList();
        Assert.Contains("line 2, column 16: `file_watcher.watch_paths`: expected a list of strings, got a value", types);
        Assert.Contains(types, i => i.Contains("`file_watcher.exclude_patterns[0]`: expected a string, got a list", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("**/.git/**", ".git/config", true)]
    [InlineData("**/.git/**", "src/.git", true)]
    [InlineData("**/.git/**", "src/.github/workflows/ci.yml", false)]
    [InlineData("**/bin/**", "bin", true)]
    [InlineData("**/bin/**", "src/app/bin/Debug/app.dll", true)]
    [InlineData("**/bin/**", "src/binary.md", false)]
    [InlineData("*.log", "logs/today.log", true)]
    [InlineData("*.log", "today.log.md", false)]
    [InlineData("docs/*.md", "docs/a.md", true)]
    [InlineData("docs/*.md", "docs/sub/a.md", false)]
    [InlineData("docs/**/*.md", "docs/a.md", true)]
    [InlineData("docs/**/*.md", "docs/sub/deep/a.md", true)]
    [InlineData("/docs/**", "docs/a/b.txt", true)]
    [InlineData("*.{md,txt}", "a/b.txt", true)]
    [InlineData("file?.md", "file1.md", true)]
    [InlineData("file[!0-9].md", "file1.md", false)]
    [InlineData("file[!0-9].md", "filex.md", true)]
    public void GlobsMatchRelativePaths(string pattern, string path, bool matches) => Assert.Equal(matches, Glob.Parse(pattern).IsMatch(path));

    [Fact]
    public void ANameOnlyPatternExcludesADirectoryAndEverythingBelowIt()
    {
        Assert.True(Glob.Parse("build").MatchesPathOrParent("src/build/out/a.md"));
        Assert.False(Glob.Parse("build").MatchesPathOrParent("src/builds/a.md"));
        Assert.Throws<VectorizerException>(() => Glob.Parse("{a,b"));
        Assert.Throws<VectorizerException>(() => Glob.Parse(" "));
    }

    [Fact]
    public async Task TheIndexerNeverThrowsForAFileAndReportsWhy()
    {
        var root = TestPaths.NewDirectory("indexer-");
        var dataDir = TestServer.NewDataDir();
        try
        {
            using var manager = CollectionManager.Open(new EngineOptions { DataDir = dataDir }, NullLoggerFactory.Instance);
            using var ingestion = new IngestionService(dataDir, NullLoggerFactory.Instance);
            var indexer = new FileIndexer(manager, ingestion, new FileIndexerOptions { Roots = [root], MaxFileSize = 100 }, NullLogger.Instance);
            File.WriteAllText(Path.Combine(root, "ok.md"), "# Ok\n\nfine\n");
            File.WriteAllText(Path.Combine(root, "empty.md"), "  \n");
            File.WriteAllText(Path.Combine(root, "unreadable.md"), "# Secret\n\nno access\n");
            File.SetUnixFileMode(Path.Combine(root, "unreadable.md"), UnixFileMode.None);
            var results = (await indexer.IndexFilesAsync(
                [Path.Combine(root, "ok.md"), Path.Combine(root, "empty.md"), Path.Combine(root, "unreadable.md"), "/etc/hostname", Path.Combine(root, "gone.md")],
                CancellationToken.None)).Files;
            Assert.Equal(FileOutcome.Indexed, results[0].Outcome);
            Assert.Equal((FileOutcome.Skipped, "empty: no text to index"), (results[1].Outcome, results[1].Reason));
            if (Environment.UserName != "root")
            {
                Assert.Equal(FileOutcome.Skipped, results[2].Outcome);
                Assert.StartsWith("unreadable: ", results[2].Reason, StringComparison.Ordinal);
            }

            Assert.Equal((FileOutcome.Skipped, "outside the watch roots"), (results[3].Outcome, results[3].Reason));
            Assert.Equal(FileOutcome.Ignored, results[4].Outcome); // never indexed: nothing to remove

            // Hash-skip: the same bytes again change nothing; a rename leaves no trace of the old path.
            Assert.Equal(FileOutcome.Unchanged, (await indexer.IndexFileAsync(Path.Combine(root, "ok.md"), CancellationToken.None)).Outcome);
            File.Move(Path.Combine(root, "ok.md"), Path.Combine(root, "renamed.md"));
            var renamed = (await indexer.IndexFilesAsync([Path.Combine(root, "ok.md"), Path.Combine(root, "renamed.md")], CancellationToken.None)).Files;
            Assert.Equal([FileOutcome.Removed, FileOutcome.Indexed], renamed.Select(r => r.Outcome));
            // root reads anything; each prose file has one chunk and its page point (the default embedders' page vectors)
            Assert.Equal(2 * (results[2].Outcome == FileOutcome.Indexed ? 2 : 1), manager.Get("files").Count(null));
        }
        finally
        {
            TestServer.TryDelete(root);
            TestServer.TryDelete(dataDir);
        }
    }
}
