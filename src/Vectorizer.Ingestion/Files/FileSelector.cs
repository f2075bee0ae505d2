using System.Security.Cryptography;
using System.Text;

namespace Vectorizer.Ingestion.Files;

/// <summary>A file that passed every rule: read, hashed and decoded, ready to chunk.</summary>
public sealed record EligibleFile(string FullPath, string Root, string Relative, string Hash, string Text, DateTimeOffset Mtime);

/// <summary>
/// The one definition of an eligible file, shared by <c>vectorizer index</c>, the file watcher and the health check
/// (so "files indexed" and "eligible files" count the same thing). A file is eligible when
/// <list type="bullet">
/// <item>it lies under a root, outside the data directory, with no exclude pattern matching it or a directory above it
/// (by default hidden names, <c>node_modules</c>, <c>__pycache__</c>, <c>bin</c>, <c>obj</c>), and its extension is
/// included (all by default);</item>
/// <item>no directory on the way is a symlink (symlinked directories are not followed); a symlinked file counts when
/// its target is a file under a root (it is indexed at its own path);</item>
/// <item>it is at most <see cref="FileIndexerOptions.MaxFileSize"/> bytes, has no NUL byte in its first 8 KB (binary),
/// and is not empty or blank.</item>
/// </list>
/// </summary>
public sealed class FileSelector(FileIndexerOptions options)
{
    private const int BinaryProbeBytes = 8192;

    private readonly string? dataDirectory = options.DataDirectory is null ? null : FileIndexerOptions.NormalizeRoot(options.DataDirectory);

    public FileIndexerOptions Options { get; } = options;

    /// <summary>The root that contains <paramref name="fullPath"/> (the deepest when roots nest) and the path relative to it, with <c>/</c>.</summary>
    public (string Root, string Relative)? Locate(string fullPath)
    {
        (string, string)? best = null;
        foreach (var root in Options.Roots)
        {
            if (fullPath.Length > root.Length && fullPath.StartsWith(root, StringComparison.Ordinal) && fullPath[root.Length] == Path.DirectorySeparatorChar
                && (best is null || root.Length > best.Value.Item1.Length))
            {
                best = (root, fullPath[(root.Length + 1)..].Replace(Path.DirectorySeparatorChar, '/'));
            }
        }

        return best;
    }

    /// <summary>The first exclude pattern matching the path or a directory above it, or null.</summary>
    public Glob? ExcludedBy(string relativePath)
    {
        foreach (var glob in Options.Exclude)
        {
            if (glob.MatchesPathOrParent(relativePath))
            {
                return glob;
            }
        }

        return null;
    }

    public bool ExtensionIncluded(string relativePath) =>
        Options.IncludeExtensions.Count == 0 || Options.IncludeExtensions.Contains(Path.GetExtension(relativePath));

    /// <summary>Whether <paramref name="fullPath"/> is the data directory or lies inside it.</summary>
    public bool InDataDirectory(string fullPath) =>
        dataDirectory is not null && (fullPath == dataDirectory || fullPath.StartsWith(dataDirectory + Path.DirectorySeparatorChar, StringComparison.Ordinal));

    /// <summary>
    /// The files below <paramref name="directory"/> (a root or a directory inside one) that the path rules admit, sorted
    /// by path: not excluded, an included extension, outside the data directory. Excluded directories are not entered;
    /// symlinked directories are not followed (reported to <paramref name="skipped"/> with the reason, as are unreadable
    /// directories). The content rules are <see cref="Inspect"/>'s.
    /// </summary>
    public List<string> EnumerateFiles(string directory, Action<FileIndexResult>? skipped = null)
    {
        var files = new List<string>();
        var pending = new Stack<string>();
        var start = new DirectoryInfo(Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory)));
        if (start.LinkTarget is not null && Locate(start.FullName) is { } link)
        {
            // A symlinked directory created (or moved) inside a root: not followed, as when walking the root.
            skipped?.Invoke(new FileIndexResult(start.FullName, FileOutcome.Skipped, link.Relative, Reason: "symlinked directory not followed: " + DescribeLink(start)));
            return files;
        }

        pending.Push(start.FullName);
        var enumeration = new EnumerationOptions { IgnoreInaccessible = false, AttributesToSkip = 0, RecurseSubdirectories = false, ReturnSpecialDirectories = false };
        while (pending.TryPop(out var current))
        {
            FileSystemInfo[] entries;
            try
            {
                entries = new DirectoryInfo(current).GetFileSystemInfos("*", enumeration);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.SecurityException)
            {
                skipped?.Invoke(new FileIndexResult(current, FileOutcome.Skipped, Reason: $"unreadable directory: {e.Message}"));
                continue;
            }

            foreach (var entry in entries)
            {
                if (Locate(entry.FullName) is not { } located || ExcludedBy(located.Relative) is not null || InDataDirectory(entry.FullName))
                {
                    continue;
                }

                if (entry is DirectoryInfo)
                {
                    if (entry.LinkTarget is not null)
                    {
                        skipped?.Invoke(new FileIndexResult(entry.FullName, FileOutcome.Skipped, located.Relative, Reason: "symlinked directory not followed: " + DescribeLink(entry)));
                    }
                    else
                    {
                        pending.Push(entry.FullName);
                    }
                }
                else if (ExtensionIncluded(located.Relative))
                {
                    files.Add(entry.FullName);
                }
            }
        }

        files.Sort(StringComparer.Ordinal);
        return files;
    }

    /// <summary>The eligible files below <paramref name="directory"/>: <see cref="EnumerateFiles"/> passed through <see cref="Inspect"/>.</summary>
    public IEnumerable<string> EligibleFiles(string directory)
    {
        foreach (var path in EnumerateFiles(directory))
        {
            if (Inspect(path).File is not null)
            {
                yield return path;
            }
        }
    }

    /// <summary>
    /// Applies every rule to one path and reads it: the file when it is eligible, else why not (skipped with a reason,
    /// ignored by a rule, or removed when it no longer exists).
    /// </summary>
    public (FileIndexResult? Result, EligibleFile? File) Inspect(string path)
    {
        var fullPath = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        if (Locate(fullPath) is not { } located)
        {
            return (Skip(fullPath, null, "outside the watch roots"), null);
        }

        var (root, relative) = located;
        if (ExcludedBy(relative) is { } glob)
        {
            return (new FileIndexResult(fullPath, FileOutcome.Ignored, relative, Reason: $"excluded by `{glob.Pattern}`"), null);
        }

        if (InDataDirectory(fullPath))
        {
            return (new FileIndexResult(fullPath, FileOutcome.Ignored, relative, Reason: "inside the data directory"), null);
        }

        var info = new FileInfo(fullPath);
        if (!info.Exists)
        {
            return Directory.Exists(fullPath)
                ? (new FileIndexResult(fullPath, FileOutcome.Ignored, relative, Reason: "a directory"), null)
                : (new FileIndexResult(fullPath, FileOutcome.Removed, relative), null);
        }

        if (!ExtensionIncluded(relative))
        {
            return (new FileIndexResult(fullPath, FileOutcome.Ignored, relative, Reason: $"extension `{Path.GetExtension(relative)}` is not included"), null);
        }

        var source = fullPath;
        var length = info.Length;
        if (info.LinkTarget is not null)
        {
            FileSystemInfo? target;
            try
            {
                target = info.ResolveLinkTarget(returnFinalTarget: true);
            }
            catch (IOException e)
            {
                return (Skip(fullPath, relative, "symlink loop: " + e.Message), null);
            }

            if (target is not FileInfo { Exists: true } file)
            {
                return (Skip(fullPath, relative, "dangling symlink"), null);
            }

            if (Locate(file.FullName) is null)
            {
                return (Skip(fullPath, relative, $"symlink target {file.FullName} is outside the watch roots"), null);
            }

            source = file.FullName;
            length = file.Length;
        }

        if (length > Options.MaxFileSize)
        {
            return (Skip(fullPath, relative, $"too large: {length} bytes > max_file_size {Options.MaxFileSize}"), null);
        }

        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(source);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return (new FileIndexResult(fullPath, FileOutcome.Removed, relative), null);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.SecurityException)
        {
            // Unreadable for now (permissions, a lock): its points, if any, stay until it can be read or is deleted.
            return (Skip(fullPath, relative, "unreadable: " + e.Message), null);
        }

        if (bytes.LongLength > Options.MaxFileSize)
        {
            return (Skip(fullPath, relative, $"too large: {bytes.LongLength} bytes > max_file_size {Options.MaxFileSize}"), null);
        }

        if (bytes.AsSpan(0, Math.Min(bytes.Length, BinaryProbeBytes)).Contains((byte)0))
        {
            return (Skip(fullPath, relative, "binary: NUL byte in the first 8 KB"), null);
        }

        var text = Encoding.UTF8.GetString(bytes.AsSpan(bytes.AsSpan().StartsWith(Encoding.UTF8.Preamble) ? 3 : 0));
        if (string.IsNullOrWhiteSpace(text))
        {
            return (Skip(fullPath, relative, "empty: no text to index"), null);
        }

        DateTimeOffset mtime;
        try
        {
            mtime = new DateTimeOffset(File.GetLastWriteTimeUtc(source), TimeSpan.Zero);
        }
        catch (IOException)
        {
            mtime = DateTimeOffset.UtcNow;
        }

        return (null, new EligibleFile(fullPath, root, relative, Convert.ToHexStringLower(SHA256.HashData(bytes)), text, mtime));
    }

    private static FileIndexResult Skip(string fullPath, string? relative, string reason) => new(fullPath, FileOutcome.Skipped, relative, Reason: reason);

    private string DescribeLink(FileSystemInfo link)
    {
        try
        {
            var target = link.ResolveLinkTarget(returnFinalTarget: true);
            return target is null ? "dangling" : Locate(target.FullName) is null ? $"target {target.FullName} is outside the watch roots" : $"target {target.FullName} is indexed at its own path";
        }
        catch (IOException e)
        {
            return "symlink loop: " + e.Message;
        }
    }
}
