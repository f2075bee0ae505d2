namespace Vectorizer.Ingestion.Chunking;

/// <summary>Picks a chunker and a language name by file extension, and turns a file into <see cref="Chunk"/>s.</summary>
public static class ChunkerPicker
{
    private static readonly PlainTextChunker PlainText = new();
    private static readonly CodeChunker Code = new();
    private static readonly MarkdownChunker Markdown = new();

    private static readonly Dictionary<string, string> Languages = new(StringComparer.OrdinalIgnoreCase)
    {
        [".md"] = "markdown",
        [".markdown"] = "markdown",
        [".mdx"] = "markdown",
        [".txt"] = "text",
        [".text"] = "text",
        [".rst"] = "text",
        [".log"] = "text",
        [".cs"] = "csharp",
        [".fs"] = "fsharp",
        [".vb"] = "vb",
        [".java"] = "java",
        [".kt"] = "kotlin",
        [".scala"] = "scala",
        [".c"] = "c",
        [".h"] = "c",
        [".cc"] = "cpp",
        [".cpp"] = "cpp",
        [".cxx"] = "cpp",
        [".hpp"] = "cpp",
        [".go"] = "go",
        [".rs"] = "rust",
        [".swift"] = "swift",
        [".m"] = "objective-c",
        [".js"] = "javascript",
        [".mjs"] = "javascript",
        [".cjs"] = "javascript",
        [".jsx"] = "javascript",
        [".ts"] = "typescript",
        [".tsx"] = "typescript",
        [".py"] = "python",
        [".rb"] = "ruby",
        [".php"] = "php",
        [".lua"] = "lua",
        [".pl"] = "perl",
        [".r"] = "r",
        [".dart"] = "dart",
        [".ex"] = "elixir",
        [".exs"] = "elixir",
        [".sh"] = "shell",
        [".bash"] = "shell",
        [".ps1"] = "powershell",
        [".sql"] = "sql",
        [".html"] = "html",
        [".htm"] = "html",
        [".css"] = "css",
        [".scss"] = "scss",
        [".xml"] = "xml",
        [".json"] = "json",
        [".yaml"] = "yaml",
        [".yml"] = "yaml",
        [".toml"] = "toml",
        [".proto"] = "protobuf",
    };

    /// <summary>The language of a path by its extension: <c>markdown</c>, <c>text</c>, a programming language, or <c>text</c> when unknown.</summary>
    public static string LanguageOf(string? path) =>
        path is not null && Languages.TryGetValue(Path.GetExtension(path), out var language) ? language : "text";

    /// <summary>True when the extension of <paramref name="path"/> names a language this picker knows (a text file worth indexing).</summary>
    public static bool IsKnownExtension(string path) => Languages.ContainsKey(Path.GetExtension(path));

    public static IChunker For(string? path) => LanguageOf(path) switch
    {
        "markdown" => Markdown,
        "text" => PlainText,
        _ => Code,
    };

    /// <summary>Chunks <paramref name="text"/> as the file <paramref name="path"/> (which need not exist).</summary>
    public static IReadOnlyList<Chunk> ChunkText(string text, string path, DateTimeOffset? mtime = null, ChunkerOptions? options = null)
    {
        var normalized = text.Replace("\r\n", "\n", StringComparison.Ordinal);
        var ranges = For(path).Split(normalized, options ?? ChunkerOptions.Default);
        var fileHash = Hashes.Sha256Hex(text);
        var language = LanguageOf(path);
        var lines = new Lines(normalized);
        var outline = language is "markdown" or "text" ? DocumentOutline.Parse(normalized, path) : null;
        var chunks = new List<Chunk>(ranges.Count);
        foreach (var range in ranges)
        {
            var content = normalized[range.Start..range.End];
            chunks.Add(new Chunk(
                path,
                chunks.Count,
                lines.LineOf(range.Start) + 1,
                lines.LineOf(Math.Max(range.Start, range.End - 1)) + 1,
                content,
                Hashes.Sha256Hex(content),
                fileHash,
                mtime,
                language)
            {
                Context = outline?.ContextAt(range.Start),
            });
        }

        return chunks;
    }

    /// <summary>
    /// What a prose file's page vector is made of (<see cref="Embeddings.PageVectorConfig"/>): its title and summary
    /// line, <c>"Title: summary"</c> as the first line of its chunks' context; null for code (no outline) and for a file
    /// with no text.
    /// </summary>
    public static string? PageText(string text, string path)
    {
        if (LanguageOf(path) is not ("markdown" or "text") || string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        var outline = DocumentOutline.Parse(text.Replace("\r\n", "\n", StringComparison.Ordinal), path);
        if (outline.Title is not { } title)
        {
            return null;
        }

        return outline.Summary is { } summary && !summary.Equals(title, StringComparison.OrdinalIgnoreCase) ? title + ": " + summary : title;
    }

    /// <summary>Reads and chunks a file on disk (its modification time goes into every chunk).</summary>
    public static IReadOnlyList<Chunk> ChunkFile(string path, ChunkerOptions? options = null)
    {
        var text = File.ReadAllText(path);
        return ChunkText(text, path, new DateTimeOffset(File.GetLastWriteTimeUtc(path), TimeSpan.Zero), options);
    }
}
