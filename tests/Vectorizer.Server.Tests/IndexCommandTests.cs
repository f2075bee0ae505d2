using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Vectorizer.Server.Tests;

/// <summary><c>vectorizer index</c> run as the real executable: summary, hash-skip on a rerun, resume after a kill, <c>--watch</c>.</summary>
public sealed class IndexCommandTests(ITestOutputHelper output) : IDisposable
{
    private const int Files = 400;
    private readonly string work = TestPaths.NewDirectory("index-");

    public void Dispose() => TestServer.TryDelete(work);

    /// <summary>A few hundred markdown files of five sections each, in nested directories, from a fixed seed.</summary>
    private string Corpus()
    {
        var corpus = Path.Combine(work, "corpus");
        var random = new Random(42);
        string[] vocabulary = ["river", "stone", "lantern", "harbor", "violet", "engine", "meadow", "copper", "signal", "orchard", "glacier", "thunder", "marble", "compass", "willow"];
        for (var i = 0; i < Files; i++)
        {
            var text = new StringBuilder($"# Document {i}\n\n");
            for (var section = 0; section < 5; section++)
            {
                text.Append(CultureInfo.InvariantCulture, $"## Section {section}\n\n");
                for (var w = 0; w < 160; w++)
                {
                    text.Append(vocabulary[random.Next(vocabulary.Length)]).Append(w % 16 == 15 ? '\n' : ' ');
                }

                text.Append(CultureInfo.InvariantCulture, $"\nunique{i}x{section}\n\n");
            }

            var path = Path.Combine(corpus, $"part{i % 5}", $"group{i % 7}", $"doc-{i:D3}.md");
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, text.ToString());
        }

        return corpus;
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task AKilledRunResumesFromItsCheckpointAndIndexesEveryFileExactlyOnce()
    {
        var corpus = Corpus();
        var clean = Path.Combine(work, "clean");
        var resumed = Path.Combine(work, "resumed");

        // A clean single run, then a rerun that finds nothing changed (dense hash: 2,000 chunks in seconds; the default
        // local model is the other tests' and GitDocsRelevanceTests').
        var (code, text) = await VectorizerProcess.RunAsync("index", corpus, "--collection", "docs", "--data-dir", clean, "--plain", "--provider", "hash");
        output.WriteLine(text);
        Assert.True(code == 0, text);
        var cleanChunks = Summary(text, "chunks");
        Assert.Equal(Files, Summary(text, "files indexed"));
        (code, text) = await VectorizerProcess.RunAsync("index", corpus, "--collection", "docs", "--data-dir", clean, "--plain", "--provider", "hash");
        Assert.True(code == 0, text);
        Assert.Equal(Files, Summary(text, "files unchanged"));
        Assert.Equal(0, Summary(text, "chunks"));

        // A run killed (SIGKILL) once its checkpoint shows progress.
        var checkpoint = Path.Combine(resumed, "collections", "docs", "ingest", "index-checkpoint.json");
        await using (var child = VectorizerProcess.Launch("index", corpus, "--collection", "docs", "--data-dir", resumed, "--plain", "--checkpoint-every", "10", "--provider", "hash"))
        {
            while (Completed(checkpoint) < 20)
            {
                Assert.False(child.Process.HasExited, "the run ended before it could be killed:\n" + child.Output);
                await Task.Delay(5);
            }

            child.Kill();
        }

        var done = Completed(checkpoint);
        output.WriteLine($"killed after {done} of {Files} files were checkpointed");
        Assert.InRange(done, 20, Files - 1);

        (code, text) = await VectorizerProcess.RunAsync("index", corpus, "--collection", "docs", "--data-dir", resumed, "--plain", "--provider", "hash");
        output.WriteLine(text);
        Assert.True(code == 0, text);
        Assert.Equal(done, Summary(text, "files resumed"));
        Assert.Equal(Files, Summary(text, "files resumed") + Summary(text, "files indexed") + Summary(text, "files unchanged"));
        Assert.False(File.Exists(checkpoint), "a completed run deletes its checkpoint");

        foreach (var dataDir in (string[])[clean, resumed])
        {
            await using var server = await TestServer.StartAsync(dataDir: dataDir);
            Assert.Equal(cleanChunks, await FileWatcherTests.Count(server, "docs", null));
            var chunks = await FileWatcherTests.Chunks(server, "docs", null);
            var perFile = chunks.GroupBy(c => c.GetProperty("file_path").GetString()!).ToList();
            Assert.Equal(Files, perFile.Count);
            Assert.All(perFile, file => Assert.Equal(
                Enumerable.Range(0, file.Count()), file.Select(c => c.GetProperty("chunk_index").GetInt32()).Order()));
            Assert.Contains(perFile, f => f.Key == "part3/group1/doc-008.md");
        }
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task WatchKeepsIndexingAfterTheFirstRunUntilStopped()
    {
        var corpus = Directory.CreateDirectory(Path.Combine(work, "small")).FullName;
        File.WriteAllText(Path.Combine(corpus, "first.md"), "# First\n\nalready here\n");
        File.WriteAllBytes(Path.Combine(corpus, "image.txt"), [1, 0, 2]);
        var dataDir = Path.Combine(work, "watched");
        await using (var child = VectorizerProcess.Launch("index", corpus, "--collection", "notes", "--data-dir", dataDir, "--watch", "--include-ext", ".md,.txt"))
        {
            await WaitForOutput(child, "Watching ");
            Assert.Contains("skipped: image.txt: binary", child.Output, StringComparison.Ordinal);
            Assert.Contains("files indexed:   1", child.Output, StringComparison.Ordinal);
            File.WriteAllText(Path.Combine(corpus, "second.md"), "# Second\n\nadded while watching\n");
            File.WriteAllText(Path.Combine(corpus, "ignored.cs"), "class Ignored { }\n");
            await WaitForOutput(child, "indexed: second.md (1 chunks)");
            File.Delete(Path.Combine(corpus, "first.md"));
            await WaitForOutput(child, "removed: first.md");
            Assert.Equal(0, await child.TerminateAsync());
            Assert.Contains("Stopped watching: 1 files indexed, 1 removed", child.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("ignored.cs", child.Output, StringComparison.Ordinal);
        }

        await using var server = await TestServer.StartAsync(dataDir: dataDir);
        var paths = (await FileWatcherTests.Chunks(server, "notes", null)).Select(c => c.GetProperty("file_path").GetString()).ToList();
        Assert.Equal(["second.md"], paths);
    }

    [SkippableFact]
    [Trait("Category", "Slow")]
    public async Task APaidProviderReportsTokensAndCost()
    {
        Prerequisites.Require(Need.Node); // the OpenAI-compatible endpoint is tests/embeddings-server
        await using var embeddings = await EmbeddingsServer.StartAsync(output);
        var corpus = Directory.CreateDirectory(Path.Combine(work, "paid")).FullName;
        File.WriteAllText(Path.Combine(corpus, "cats.md"), "# Cats\n\nThe cat is sleeping on the warm windowsill.\n");
        File.WriteAllText(Path.Combine(corpus, "rates.md"), "# Rates\n\nThe central bank raised interest rates again.\n");
        string[] arguments = ["index", corpus, "--collection", "paid", "--data-dir", Path.Combine(work, "paid-data"), "--plain",
            "--provider", "openai", "--base-url", embeddings.Url + "/v1", "--model", "use-lite", "--dimensions", "512", "--cost-per-1k-tokens", "0.5"];
        var (code, text) = await VectorizerProcess.RunAsync(arguments);
        output.WriteLine(text);
        Assert.True(code == 0, text);
        Assert.Contains("(dense openai + sparse bm25;", text, StringComparison.Ordinal);
        Assert.Equal(2, Summary(text, "files indexed"));
        var tokens = Summary(text, "tokens");
        Assert.True(tokens > 0, text);
        Assert.Equal(tokens * 0.5 / 1000, SummaryValue(text, "cost"), 4);

        (code, text) = await VectorizerProcess.RunAsync(arguments); // unchanged files: nothing embedded, nothing paid
        Assert.True(code == 0, text);
        Assert.Equal(0, Summary(text, "tokens"));

        (code, text) = await VectorizerProcess.RunAsync("index", corpus, "--collection", "other", "--data-dir", Path.Combine(work, "paid-data"), "--provider", "openai");
        Assert.Equal(2, code);
        Assert.Contains("--provider openai needs --base-url and --model", text, StringComparison.Ordinal);
    }

    /// <summary>
    /// <c>vectorizer index</c> and <c>vectorizer health-check</c> count the same files as eligible (one definition,
    /// <c>FileSelector</c>), on a tree with every kind of file either could disagree on.
    /// </summary>
    [Fact]
    public async Task IndexAndHealthCheckAgreeOnWhichFilesAreEligible()
    {
        var tree = Path.Combine(work, "tree");
        var outside = Path.Combine(work, "outside.md");
        void Write(string relative, string text)
        {
            var path = Path.Combine(tree, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, text);
        }

        string[] eligible = ["a.md", "b.cs", "notes.txt", "Makefile", "README", "sub/deep.md", "link-inside.md"];
        foreach (var name in eligible.SkipLast(1))
        {
            Write(name, $"# {name}\n\nsome text about {name}\n");
        }

        Write("node_modules/pkg/x.md", "# excluded\n");
        Write("sub/bin/y.cs", "class Excluded {}\n");
        Write(".hidden.md", "# hidden file\n");
        Write(".config/c.md", "# in a hidden directory\n");
        Write(".env", "API_KEY=secret\n");
        Write("empty.md", "");
        Write("blank.md", "  \n\n");
        File.WriteAllBytes(Path.Combine(tree, "image.png"), [0x89, 0x50, 0x4E, 0x47, 0, 0, 0, 13]);
        File.WriteAllText(Path.Combine(tree, "huge.txt"), new string('a', (10 << 20) + 1));
        File.WriteAllText(outside, "# outside the root\n");
        File.CreateSymbolicLink(Path.Combine(tree, "link-inside.md"), Path.Combine(tree, "a.md"));
        File.CreateSymbolicLink(Path.Combine(tree, "link-outside.md"), outside);
        File.CreateSymbolicLink(Path.Combine(tree, "dangling.md"), Path.Combine(tree, "nowhere.md"));
        Directory.CreateSymbolicLink(Path.Combine(tree, "linked-dir"), Path.Combine(tree, "sub"));
        var dataDir = Path.Combine(tree, "data"); // the data directory inside the root is never indexed

        var (code, text) = await VectorizerProcess.RunAsync("index", tree, "--collection", "tree", "--data-dir", dataDir, "--plain");
        output.WriteLine(text);
        Assert.True(code == 0, text);
        Assert.Equal(eligible.Length, Summary(text, "files indexed"));

        var report = Path.Combine(work, "report.json");
        (code, text) = await VectorizerProcess.RunAsync("health-check", "--collection", "tree", "--data-dir", dataDir, "--output", report);
        output.WriteLine(text);
        Assert.True(code == 0, text);
        var missing = JsonDocument.Parse(await File.ReadAllTextAsync(report)).RootElement
            .GetProperty("collections")[0].GetProperty("checks").GetProperty("missing_embeddings");
        Assert.Equal("PASS", missing.GetProperty("status").GetString());
        Assert.Equal(eligible.Length, missing.GetProperty("eligible_files").GetInt32());
        Assert.Equal(eligible.Length, missing.GetProperty("indexed_files").GetInt32());
    }

    [Fact]
    public async Task BadArgumentsAreRefusedWithAReason()
    {
        var (code, text) = await VectorizerProcess.RunAsync("index", Path.Combine(work, "missing"), "--collection", "x", "--data-dir", Path.Combine(work, "d"));
        Assert.Equal(2, code);
        Assert.Contains("is not a directory", text, StringComparison.Ordinal);

        (code, text) = await VectorizerProcess.RunAsync("index", work, "--collection", "x", "--data-dir", Path.Combine(work, "d"), "--provider", "word2vec");
        Assert.Equal(2, code);
        Assert.Contains("unknown provider `word2vec`", text, StringComparison.Ordinal);

        (code, text) = await VectorizerProcess.RunAsync("index", work, "--collection", "x", "--data-dir", Path.Combine(work, "d"), "--exclude", "[oops");
        Assert.Equal(2, code);
        Assert.Contains("glob `[oops`", text, StringComparison.Ordinal);
    }

    private static async Task WaitForOutput(VectorizerProcess child, string fragment)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!child.Output.Contains(fragment, StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < deadline && !child.Process.HasExited, $"no `{fragment}` in:\n{child.Output}");
            await Task.Delay(20);
        }
    }

    /// <summary>Files completed according to the checkpoint (0 while there is none).</summary>
    private static int Completed(string checkpoint)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(checkpoint));
            return document.RootElement.GetProperty("completed").GetArrayLength();
        }
        catch (Exception e) when (e is IOException or JsonException)
        {
            return 0;
        }
    }

    /// <summary>A number from the summary (<c>chunks:          123</c>).</summary>
    internal static long Summary(string text, string label)
    {
        var match = Regex.Match(text, "^" + Regex.Escape(label) + @":\s+([0-9.]+)\s*$", RegexOptions.Multiline);
        Assert.True(match.Success, $"no `{label}` in:\n{text}");
        return (long)double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    internal static double SummaryValue(string text, string label)
    {
        var match = Regex.Match(text, "^" + Regex.Escape(label) + @":\s+\$?([0-9.]+)\s*$", RegexOptions.Multiline);
        Assert.True(match.Success, $"no `{label}` in:\n{text}");
        return double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
    }
}
