using System.Text;
using System.Text.RegularExpressions;
using Vectorizer.Engine.Errors;

namespace Vectorizer.Ingestion.Files;

/// <summary>
/// A glob over paths relative to a watch root, with <c>/</c> separators: <c>*</c> (any characters but <c>/</c>),
/// <c>?</c>, <c>[abc]</c>, <c>[a-z]</c>, <c>[!abc]</c> (none of them matches <c>/</c>), <c>{a,b}</c> and <c>**</c> (any number of directories, none included:
/// <c>**/bin/**</c> matches <c>bin/x.dll</c> and <c>src/bin</c>). As in <c>.gitignore</c>, a pattern without a
/// <c>/</c> (<c>*.log</c>) matches a name at any depth; one with a <c>/</c> matches from the root (a leading <c>/</c>
/// is optional). Matching is case-sensitive.
/// </summary>
public sealed class Glob
{
    private readonly Regex regex;
    private readonly bool nameOnly;

    private Glob(string pattern, Regex regex, bool nameOnly)
    {
        Pattern = pattern;
        this.regex = regex;
        this.nameOnly = nameOnly;
    }

    public string Pattern { get; }

    /// <summary>Parses a glob; an empty pattern or an unclosed <c>[</c> / <c>{</c> is a 400 naming the pattern.</summary>
    public static Glob Parse(string pattern)
    {
        var text = pattern.Trim().Replace('\\', '/');
        if (text.Length == 0)
        {
            throw VectorizerException.BadRequest("empty glob pattern");
        }

        var nameOnly = !text.TrimEnd('/').Contains('/', StringComparison.Ordinal);
        text = text.TrimStart('/');
        if (text.EndsWith('/'))
        {
            text = text.TrimEnd('/');
        }

        var builder = new StringBuilder("^");
        var inBraces = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            switch (c)
            {
                case '*' when i + 1 < text.Length && text[i + 1] == '*':
                    var slashBefore = i == 0 || text[i - 1] == '/';
                    var slashAfter = i + 2 < text.Length && text[i + 2] == '/';
                    if (slashBefore && slashAfter)
                    {
                        builder.Append("(?:.*/)?"); // "**/": zero or more directories
                        i += 2;
                    }
                    else if (slashBefore && i + 2 == text.Length && i > 0)
                    {
                        builder.Length -= 1; // "/**" at the end: the directory itself or anything below it
                        builder.Append("(?:/.*)?");
                        i += 1;
                    }
                    else
                    {
                        builder.Append(".*");
                        i += 1;
                    }

                    break;
                case '*':
                    builder.Append("[^/]*");
                    break;
                case '?':
                    builder.Append("[^/]");
                    break;
                case '[':
                    // As in POSIX, a `]` right after `[` or `[!` is a member, not the end; a set never matches `/`.
                    var first = i + 1 < text.Length && text[i + 1] == '!' ? i + 2 : i + 1;
                    var close = text.IndexOf(']', first < text.Length && text[first] == ']' ? first + 1 : first);
                    if (close < 0)
                    {
                        throw VectorizerException.BadRequest($"glob `{pattern}`: `[` without `]`");
                    }

                    var members = Regex.Escape(text[first..close]).Replace("]", "\\]", StringComparison.Ordinal);
                    builder.Append(first > i + 1 ? "[^/" : "(?!/)[").Append(members).Append(']');
                    i = close;
                    break;
                case '{':
                    if (inBraces)
                    {
                        throw VectorizerException.BadRequest($"glob `{pattern}`: nested `{{` is not supported");
                    }

                    inBraces = true;
                    builder.Append("(?:");
                    break;
                case '}' when inBraces:
                    inBraces = false;
                    builder.Append(')');
                    break;
                case ',' when inBraces:
                    builder.Append('|');
                    break;
                default:
                    builder.Append(Regex.Escape(c.ToString()));
                    break;
            }
        }

        if (inBraces)
        {
            throw VectorizerException.BadRequest($"glob `{pattern}`: `{{` without `}}`");
        }

        builder.Append('$');
        try
        {
            return new Glob(pattern, new Regex(builder.ToString(), RegexOptions.CultureInvariant | RegexOptions.Compiled), nameOnly);
        }
        catch (ArgumentException e)
        {
            // What the loop above does not check, such as a reversed range (`[z-a]`).
            throw VectorizerException.BadRequest($"glob `{pattern}`: {e.Message}");
        }
    }

    /// <summary>Whether the glob matches <paramref name="relativePath"/> (the whole path, or its last name for name-only patterns).</summary>
    public bool IsMatch(string relativePath)
    {
        if (nameOnly)
        {
            var slash = relativePath.LastIndexOf('/');
            return regex.IsMatch(slash < 0 ? relativePath : relativePath[(slash + 1)..]);
        }

        return regex.IsMatch(relativePath);
    }

    /// <summary>Whether the glob matches <paramref name="relativePath"/> or one of the directories above it.</summary>
    public bool MatchesPathOrParent(string relativePath)
    {
        if (IsMatch(relativePath))
        {
            return true;
        }

        for (var slash = relativePath.IndexOf('/'); slash > 0; slash = relativePath.IndexOf('/', slash + 1))
        {
            if (IsMatch(relativePath[..slash]))
            {
                return true;
            }
        }

        return false;
    }

    public override string ToString() => Pattern;
}
