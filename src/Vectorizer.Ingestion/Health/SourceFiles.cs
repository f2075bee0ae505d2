using System.Text.Json;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Storage;
using Vectorizer.Ingestion.Chunking;

namespace Vectorizer.Ingestion.Health;

/// <summary>
/// Which files under a source root are worth indexing, and how a stored <c>file_path</c> maps to a file: a relative
/// path is relative to the root, an absolute one is used as it is. Stored paths written here use <c>/</c>.
/// </summary>
public static class SourceFiles
{
    /// <summary>Directories never descended into (besides hidden ones, whose name starts with a dot).</summary>
    public static readonly IReadOnlySet<string> ExcludedDirectories = new HashSet<string>(StringComparer.Ordinal) { "node_modules", "__pycache__", "bin", "obj" };

    private static readonly EnumerationOptions OneLevel = new() { IgnoreInaccessible = true, RecurseSubdirectories = false, AttributesToSkip = 0 };

    /// <summary>
    /// Full paths of the eligible files under <paramref name="root"/>, sorted: not hidden, not empty, with an extension
    /// the chunkers know (<see cref="ChunkerPicker.IsKnownExtension"/>), outside excluded, hidden and symlinked
    /// directories and outside <paramref name="skipDirectory"/> (the data directory, when it lies under the root).
    /// </summary>
    public static List<string> Enumerate(string root, string? skipDirectory = null)
    {
        var files = new List<string>();
        var pending = new Stack<DirectoryInfo>();
        pending.Push(new DirectoryInfo(Path.GetFullPath(root)));
        var skip = skipDirectory is null ? null : Path.TrimEndingDirectorySeparator(Path.GetFullPath(skipDirectory));
        while (pending.TryPop(out var directory))
        {
            foreach (var file in directory.EnumerateFiles("*", OneLevel))
            {
                if (!file.Name.StartsWith('.') && file.Length > 0 && file.LinkTarget is null && ChunkerPicker.IsKnownExtension(file.Name))
                {
                    files.Add(file.FullName);
                }
            }

            foreach (var child in directory.EnumerateDirectories("*", OneLevel))
            {
                if (!child.Name.StartsWith('.') && !ExcludedDirectories.Contains(child.Name) && child.LinkTarget is null
                    && !string.Equals(Path.TrimEndingDirectorySeparator(child.FullName), skip, StringComparison.Ordinal))
                {
                    pending.Push(child);
                }
            }
        }

        files.Sort(StringComparer.Ordinal);
        return files;
    }

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
