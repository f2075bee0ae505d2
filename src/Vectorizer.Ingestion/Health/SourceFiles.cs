using System.Text.Json;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Storage;
using Vectorizer.Ingestion.Files;

namespace Vectorizer.Ingestion.Health;

/// <summary>
/// Which files under a source root are worth indexing, and how a stored <c>file_path</c> maps to a file: a relative
/// path is relative to the root, an absolute one is used as it is. Stored paths written here use <c>/</c>.
/// </summary>
public static class SourceFiles
{
    /// <summary>
    /// Full paths of the eligible files under <paramref name="root"/>, sorted: <see cref="FileSelector"/>'s definition
    /// with the default selection (what <c>vectorizer index</c> indexes without <c>--exclude</c>, <c>--include-ext</c> or
    /// <c>--max-file-size</c>), outside <paramref name="skipDirectory"/> (the data directory, when it lies under the root).
    /// </summary>
    public static List<string> Enumerate(string root, string? skipDirectory = null) =>
        [.. new FileSelector(new FileIndexerOptions { Roots = [FileIndexerOptions.NormalizeRoot(root)], DataDirectory = skipDirectory }).EligibleFiles(root)];

    /// <summary>The file a stored <c>file_path</c> names.</summary>
    public static string Resolve(string root, string storedPath) =>
        Path.GetFullPath(Path.IsPathRooted(storedPath) ? storedPath : Path.Combine(root, storedPath));

    /// <summary>The path to store for <paramref name="fullPath"/>: relative to the root, with <c>/</c> separators.</summary>
    public static string Relative(string root, string fullPath) =>
        Path.GetRelativePath(root, fullPath).Replace(Path.DirectorySeparatorChar, '/');
}

/// <summary>
/// A collection's source root: the directory its relative <c>file_path</c>s are relative to, kept in
/// <c>collections/&lt;name&gt;/ingest/source.json</c> as <c>{"source_root": "/absolute/path"}</c> (written atomically)
/// by whatever indexes files into it (the health check's fixer today).
/// </summary>
public static class SourceRoot
{
    public const string FileName = "source.json";

    public static string FilePath(Collection collection) => Path.Combine(collection.Paths.Root, "ingest", FileName);

    /// <summary>The stored root, or null when none was stored (or the file is unreadable).</summary>
    public static string? Read(Collection collection)
    {
        var path = FilePath(collection);
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("source_root", out var root) && root.ValueKind == JsonValueKind.String
                ? root.GetString()
                : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            return null;
        }
    }

    public static void Save(Collection collection, string root)
    {
        var path = FilePath(collection);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("source_root", Path.GetFullPath(root));
            writer.WriteEndObject();
        }

        FileUtil.WriteAtomic(path, buffer.WrittenSpan);
    }
}
