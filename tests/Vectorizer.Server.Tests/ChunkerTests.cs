using Vectorizer.Ingestion.Chunking;

namespace Vectorizer.Server.Tests;

/// <summary>Chunkers on real files in a temporary directory: line ranges, code never cut mid-line, Markdown by headings.</summary>
public sealed class ChunkerTests : IDisposable
{
    private readonly string directory = TestServer.NewDataDir();

    public ChunkerTests() => Directory.CreateDirectory(directory);

    public void Dispose() => TestServer.TryDelete(directory);

    private string Write(string name, string text)
    {
        var path = Path.Combine(directory, name);
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>Every chunk's content is exactly the text of its line range (modulo surrounding whitespace).</summary>
    private static void AssertLineRanges(string text, IReadOnlyList<Chunk> chunks)
    {
        var lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        foreach (var chunk in chunks)
        {
            Assert.InRange(chunk.StartLine, 1, chunk.EndLine);
            var expected = string.Join('\n', lines[(chunk.StartLine - 1)..chunk.EndLine]);
            Assert.Contains(chunk.Content, expected, StringComparison.Ordinal);
            Assert.StartsWith(chunk.Content.Split('\n')[0], lines[chunk.StartLine - 1].TrimStart(), StringComparison.Ordinal);
            Assert.Equal(Hashes.Sha256Hex(chunk.Content), chunk.ContentHash);
        }
    }

    [Fact]
    public void MarkdownIsSplitByHeadings()
    {
        const string text = "# Title\n\nIntro paragraph.\n\n## Install\n\nRun the installer.\n\n```sh\n# not a heading\nmake\n```\n\n## Usage\nCall it.\n";
        var path = Write("guide.md", text);
        var chunks = ChunkerPicker.ChunkFile(path);
        Assert.Equal(["# Title\n\nIntro paragraph.", "## Install\n\nRun the installer.\n\n```sh\n# not a heading\nmake\n```", "## Usage\nCall it."], chunks.Select(c => c.Content));
        Assert.Equal([(1, 3), (5, 12), (14, 15)], chunks.Select(c => (c.StartLine, c.EndLine)));
        Assert.All(chunks, c => Assert.Equal("markdown", c.Language));
        Assert.All(chunks, c => Assert.Equal(Hashes.Sha256Hex(text), c.FileHash));
        Assert.All(chunks, c => Assert.Equal(File.GetLastWriteTimeUtc(path), c.Mtime!.Value.UtcDateTime));
        Assert.Equal([0, 1, 2], chunks.Select(c => c.ChunkIndex));
        AssertLineRanges(text, chunks);

        // A long section is cut between paragraphs, each chunk within the limit.
        var longSection = "# Big\n\n" + string.Join("\n\n", Enumerable.Range(0, 30).Select(i => $"Paragraph {i} " + new string('x', 80)));
        var big = ChunkerPicker.ChunkText(longSection, "big.md", options: new ChunkerOptions { MaxChars = 400 });
        Assert.True(big.Count > 5);
        Assert.All(big, c => Assert.True(c.Content.Length <= 400, c.Content));
        Assert.All(big.Skip(1), c => Assert.StartsWith("Paragraph", c.Content, StringComparison.Ordinal));
        AssertLineRanges(longSection, big);
    }

    [Fact]
    public void CodeIsSplitBetweenBlocksAndNeverMidLine()
    {
        var builder = new System.Text.StringBuilder("using System;\n\nnamespace Demo;\n\n");
        for (var i = 0; i < 12; i++)
        {
            builder.Append($"public class C{i}\n{{\n    public int A() => {i};\n\n    public int B()\n    {{\n        return {i} * 2; // a longer line to fill the chunk up\n    }}\n}}\n\n");
        }

        var text = builder.ToString();
        var path = Write("Demo.cs", text);
        var chunks = ChunkerPicker.ChunkFile(path, new ChunkerOptions { MaxChars = 400 });
        var lines = text.Split('\n');
        Assert.True(chunks.Count > 3);
        foreach (var chunk in chunks)
        {
            Assert.Equal("csharp", chunk.Language);
            Assert.Equal(string.Join('\n', lines[(chunk.StartLine - 1)..chunk.EndLine]), chunk.Content);
            // A class body (with its blank line inside) stays together: every chunk starts outside a class body.
            Assert.True(chunk.Content.StartsWith("public class", StringComparison.Ordinal) || chunk.StartLine == 1, chunk.Content);
            Assert.Equal(chunk.Content.Count(c => c == '{'), chunk.Content.Count(c => c == '}'));
        }

        // One huge block: cut between lines, never inside one.
        var huge = string.Join('\n', Enumerable.Range(0, 100).Select(i => $"    x{i} = compute({i}, {i + 1}, {i + 2});"));
        var cut = ChunkerPicker.ChunkText("void f() {\n" + huge + "\n}\n", "f.c", options: new ChunkerOptions { MaxChars = 500 });
        var all = ("void f() {\n" + huge + "\n}").Split('\n');
        Assert.True(cut.Count > 3);
        Assert.All(cut, c => Assert.All(c.Content.Split('\n'), line => Assert.Contains(line, all)));
        Assert.Equal(all.Length, cut.Sum(c => c.EndLine - c.StartLine + 1));
        Assert.Equal("c", cut[0].Language);
    }

    [Fact]
    public void PlainTextUsesSizeAndOverlap()
    {
        var words = Enumerable.Range(0, 400).Select(i => $"word{i}");
        var text = string.Join(' ', words.Take(200)) + "\n" + string.Join(' ', words.Skip(200));
        var path = Write("notes.txt", text);
        var chunks = ChunkerPicker.ChunkFile(path, new ChunkerOptions { MaxChars = 500, Overlap = 100 });
        Assert.True(chunks.Count >= 6);
        Assert.All(chunks, c => Assert.True(c.Content.Length <= 500));
        Assert.All(chunks, c => Assert.Equal("text", c.Language));
        for (var i = 1; i < chunks.Count; i++)
        {
            // Consecutive chunks share words, and no word is cut.
            var previous = chunks[i - 1].Content.Split(' ', '\n');
            var current = chunks[i].Content.Split(' ', '\n');
            Assert.Contains(current[0], previous);
            Assert.All(current, w => Assert.Matches("^word[0-9]+$", w));
        }

        Assert.Equal(1, chunks[0].StartLine);
        Assert.Equal(2, chunks[^1].EndLine);
        Assert.Contains(chunks, c => c.StartLine == 1 && c.EndLine == 2);
        Assert.Equal("word399", chunks[^1].Content.Split(' ')[^1]);
    }

    [Fact]
    public void ExtensionsPickChunkerAndLanguage()
    {
        Assert.IsType<MarkdownChunker>(ChunkerPicker.For("README.md"));
        Assert.IsType<CodeChunker>(ChunkerPicker.For("src/main.py"));
        Assert.IsType<PlainTextChunker>(ChunkerPicker.For("notes.txt"));
        Assert.IsType<PlainTextChunker>(ChunkerPicker.For("LICENSE"));
        Assert.Equal("python", ChunkerPicker.LanguageOf("a/b.py"));
        Assert.Equal("typescript", ChunkerPicker.LanguageOf("x.TSX"));
    }
}
