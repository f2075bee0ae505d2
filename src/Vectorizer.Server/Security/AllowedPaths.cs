using Vectorizer.Engine.Errors;
using Vectorizer.Server.Configuration;

namespace Vectorizer.Server.Security;

/// <summary>
/// The directories inside which a request may name a path (the health check's <c>root=</c>, and any later feature that
/// reads or writes a path a caller gives): <c>file_watcher.watch_paths</c> and <c>security.allowed_roots</c>. A path is
/// resolved first (made absolute, every symlink followed, <c>..</c> applied), so neither <c>..</c> nor a symlink can
/// lead out; callers use the resolved path that <see cref="Confine"/> returns, not the one they were given.
/// </summary>
public sealed class AllowedPaths
{
    private const int MaxSymlinkHops = 40;

    public AllowedPaths(VectorizerSettings settings)
        : this(settings.FileWatcher.WatchPaths.Concat(settings.Security.AllowedRoots))
    {
    }

    public AllowedPaths(IEnumerable<string> roots)
    {
        Roots = [.. roots.Where(r => !string.IsNullOrWhiteSpace(r)).Select(Resolve).Distinct(StringComparer.Ordinal)];
    }

    /// <summary>The allowed directories, resolved.</summary>
    public IReadOnlyList<string> Roots { get; }

    /// <summary>
    /// <paramref name="path"/> resolved, when it lies inside an allowed directory; else <see cref="ErrorCode.Forbidden"/>
    /// naming the settings that allow more. <paramref name="what"/> names the parameter in the message.
    /// </summary>
    public string Confine(string path, string what)
    {
        string resolved;
        try
        {
            resolved = Resolve(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw VectorizerException.BadRequest($"{what}: cannot resolve `{path}`: {e.Message}");
        }

        if (Roots.Any(root => IsInside(resolved, root)))
        {
            return resolved;
        }

        var shown = resolved == path ? $"`{path}`" : $"`{path}` (resolved: `{resolved}`)";
        throw new VectorizerException(ErrorCode.Forbidden, $"Access forbidden: {what} {shown} is outside the directories requests may name; "
            + (Roots.Count == 0 ? "none is configured: " : $"allowed: {string.Join(", ", Roots.Select(r => $"`{r}`"))}; ")
            + "add it to `security.allowed_roots` (or `file_watcher.watch_paths`) in the server's configuration");
    }

    public static bool IsInside(string path, string root) =>
        path == root || (path.StartsWith(root, StringComparison.Ordinal) && (root.EndsWith(Path.DirectorySeparatorChar) || path[root.Length] == Path.DirectorySeparatorChar));

    /// <summary>
    /// The absolute path with every symlink along it replaced by its target (like <c>realpath</c>; parts that do not
    /// exist are kept as they are, they cannot be links). A symlink loop is an <see cref="IOException"/>.
    /// </summary>
    public static string Resolve(string path)
    {
        var hops = 0;
        var pending = new Stack<string>();
        // Not Path.GetFullPath: it would apply `..` before the links, which the kernel applies after.
        var full = Path.IsPathRooted(path) ? path : Path.Combine(Directory.GetCurrentDirectory(), path);
        var current = Path.GetPathRoot(full)!;
        PushParts(pending, full[current.Length..]);
        while (pending.Count > 0)
        {
            var part = pending.Pop();
            if (part == "..")
            {
                current = Path.GetDirectoryName(current) ?? current;
                continue;
            }

            var next = Path.Combine(current, part);
            string? target = null;
            try
            {
                target = new FileInfo(next).LinkTarget;
            }
            catch (IOException)
            {
                // Not there (or not readable): nothing to follow.
            }

            if (target is null)
            {
                current = next;
                continue;
            }

            if (++hops > MaxSymlinkHops)
            {
                throw new IOException($"too many levels of symbolic links at `{next}`");
            }

            // The target replaces the link's name: relative targets start from the link's directory.
            if (Path.IsPathRooted(target))
            {
                current = Path.GetPathRoot(target)!;
                target = target[current.Length..];
            }

            PushParts(pending, target);
        }

        return Path.TrimEndingDirectorySeparator(current);
    }

    private static void PushParts(Stack<string> pending, string relative)
    {
        var parts = relative.Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
        for (var i = parts.Length - 1; i >= 0; i--)
        {
            if (parts[i] != ".")
            {
                pending.Push(parts[i]);
            }
        }
    }
}
