using System.Text;

namespace Vectorizer.Ingestion.Chunking;

/// <summary>
/// A prose document's title, summary line and headings, found from its text alone: Markdown ATX headings
/// (<c>## Usage</c>, not inside fenced code), AsciiDoc titles (<c>== Usage</c>) and two-line (setext) headings, a line
/// of text underlined with <c>=</c>, <c>-</c>, <c>~</c>, <c>^</c>, <c>+</c> or <c>*</c> of about its length (Markdown,
/// AsciiDoc, reStructuredText: the manual pages of git-doc are written that way). The title is the first heading
/// when it comes before any body text, else the file's name; the summary is the first sentence of the first paragraph
/// of body text (a manual page's NAME line, a README's opening sentence).
/// <para>
/// <see cref="ContextAt"/> is what a chunk cut from the middle of the document lacks and a reader of it would know:
/// which document it is from, what that document is about, and under which section it stands. It is embedded with
/// the chunk (the contextual header of contextual retrieval) so that "an option of the command that puts changes
/// aside" is found by the question that never names the command.
/// </para>
/// </summary>
public sealed class DocumentOutline
{
    /// <summary>Longest summary kept, in characters (a sentence, not a paragraph).</summary>
    public const int MaxSummaryChars = 200;

    /// <summary>Longest heading kept, in characters.</summary>
    public const int MaxHeadingChars = 80;

    private const string UnderlineChars = "=-~^+*";

    private readonly List<Heading> headings;

    private DocumentOutline(string? title, string? summary, List<Heading> headings)
    {
        Title = title;
        Summary = summary;
        this.headings = headings;
    }

    /// <summary>The document's title (its first heading, else the file name without extension); null when neither exists.</summary>
    public string? Title { get; }

    /// <summary>The first sentence of the document's first paragraph of text; null when there is none.</summary>
    public string? Summary { get; }

    /// <summary>The headings below the title, in order: where they start, their depth (smaller is higher) and text.</summary>
    public IReadOnlyList<Heading> Headings => headings;

    /// <summary>A heading: the offset of its first line, its depth (0 for the highest kind) and its text.</summary>
    public readonly record struct Heading(int Offset, int Level, string Text);

    /// <summary>Reads the outline of <paramref name="text"/> (with <c>\n</c> line ends), a file at <paramref name="path"/>.</summary>
    public static DocumentOutline Parse(string text, string? path)
    {
        var lines = new Lines(text);
        var found = new List<Heading>();
        string? summary = null;
        var bodySeen = false;
        var titleIndex = -1;
        var fenced = false;
        var paragraph = new StringBuilder();
        var inSummaryParagraph = false;
        for (var line = 0; line < lines.Count; line++)
        {
            var content = lines[line].Trim();
            if (content.StartsWith("```") || content.StartsWith("~~~"))
            {
                fenced = !fenced;
                FinishParagraph();
                continue;
            }

            if (fenced)
            {
                continue;
            }

            if (AtxHeading(content) is { } atx)
            {
                FinishParagraph();
                Add(line, atx.Level, atx.Text);
                continue;
            }

            if (line + 1 < lines.Count && SetextLevel(content, lines[line + 1].Trim()) is { } level)
            {
                FinishParagraph();
                Add(line, level, content.ToString());
                line++;
                continue;
            }

            if (content.IsEmpty)
            {
                FinishParagraph();
                continue;
            }

            if (IsMarkup(content))
            {
                FinishParagraph();
                bodySeen |= content.Length > 0 && !content.StartsWith("[") && !content.StartsWith(":") && !content.StartsWith("//");
                continue;
            }

            bodySeen = true;
            if (summary is null)
            {
                inSummaryParagraph = true;
                if (paragraph.Length > 0)
                {
                    paragraph.Append(' ');
                }

                paragraph.Append(content);
            }
        }

        FinishParagraph();
        string? title = null;
        if (titleIndex >= 0)
        {
            title = found[titleIndex].Text;
            found.RemoveAt(titleIndex);
        }
        else if (!string.IsNullOrEmpty(path))
        {
            title = Path.GetFileNameWithoutExtension(path);
        }

        return new DocumentOutline(string.IsNullOrWhiteSpace(title) ? null : title, summary, found);

        void Add(int line, int level, string headingText)
        {
            var clean = Clip(headingText.Trim().TrimEnd('#').Trim(), MaxHeadingChars);
            if (clean.Length == 0)
            {
                return;
            }

            found.Add(new Heading(lines.Start(line), level, clean));
            if (titleIndex < 0 && !bodySeen && found.Count == 1)
            {
                titleIndex = 0;
            }
        }

        void FinishParagraph()
        {
            if (inSummaryParagraph && summary is null && paragraph.Length > 0)
            {
                summary = FirstSentence(paragraph.ToString());
            }

            paragraph.Clear();
            inSummaryParagraph = false;
        }
    }

    /// <summary>
    /// The context of text starting at <paramref name="offset"/>: <c>"Title: summary"</c> and, on a second line, the
    /// path of the headings it stands under (<c>"OPTIONS > --index"</c>); null when the document has no title.
    /// </summary>
    public string? ContextAt(int offset)
    {
        if (Title is null)
        {
            return null;
        }

        var context = new StringBuilder(Title);
        if (Summary is not null && !Summary.Equals(Title, StringComparison.OrdinalIgnoreCase))
        {
            context.Append(": ").Append(Summary);
        }

        var path = SectionPathAt(offset);
        if (path.Count > 0)
        {
            context.Append('\n').AppendJoin(" > ", path);
        }

        return context.ToString();
    }

    /// <summary>The headings that text at <paramref name="offset"/> stands under, highest first.</summary>
    public List<string> SectionPathAt(int offset)
    {
        var stack = new List<Heading>();
        foreach (var heading in headings)
        {
            if (heading.Offset > offset)
            {
                break;
            }

            while (stack.Count > 0 && stack[^1].Level >= heading.Level)
            {
                stack.RemoveAt(stack.Count - 1);
            }

            stack.Add(heading);
        }

        return stack.ConvertAll(h => h.Text);
    }

    private static (int Level, string Text)? AtxHeading(ReadOnlySpan<char> line)
    {
        if (line.IsEmpty || (line[0] != '#' && line[0] != '='))
        {
            return null;
        }

        var marker = line[0];
        var level = 0;
        while (level < line.Length && line[level] == marker)
        {
            level++;
        }

        if (level is < 1 or > 6 || level >= line.Length || (line[level] != ' ' && line[level] != '\t'))
        {
            return null;
        }

        var text = line[level..].Trim();
        return text.IsEmpty ? null : (level - 1, text.ToString());
    }

    /// <summary>The depth of a two-line heading whose text is <paramref name="text"/> and underline <paramref name="underline"/>, or null.</summary>
    private static int? SetextLevel(ReadOnlySpan<char> text, ReadOnlySpan<char> underline)
    {
        if (text.Length < 2 || underline.Length < 3 || UnderlineChars.IndexOf(underline[0]) < 0 || !LooksLikeTitle(text))
        {
            return null;
        }

        foreach (var c in underline)
        {
            if (c != underline[0])
            {
                return null;
            }
        }

        // About as long as the text: a longer or much shorter run of dashes is a block delimiter or a rule.
        if (Math.Abs(underline.Length - text.Length) > 2)
        {
            return null;
        }

        return UnderlineChars.IndexOf(underline[0]);
    }

    private static bool LooksLikeTitle(ReadOnlySpan<char> text)
    {
        // Not a list item, a block delimiter or a continuation mark.
        if (text[0] is '-' or '*' or '+' or '|' or '[' or '.' or '/' or ':' || text.Length > 120)
        {
            return false;
        }

        foreach (var c in text)
        {
            if (char.IsLetterOrDigit(c))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Lines that are markup, not prose: attributes, block titles and delimiters, comments, includes, list continuations.</summary>
    private static bool IsMarkup(ReadOnlySpan<char> line) =>
        line[0] is '[' or ':' or '+' or '|' or '<' or '!'
        || line.StartsWith("//") || line.StartsWith("include::") || line.StartsWith("ifdef::") || line.StartsWith("endif::") || line.StartsWith("ifndef::")
        || (line.Length >= 3 && line.IndexOfAnyExcept(line[0]) < 0 && line[0] is '-' or '=' or '.' or '*' or '_' or '~');

    private static string FirstSentence(string paragraph)
    {
        var text = paragraph.Trim();
        for (var i = 0; i < text.Length - 1; i++)
        {
            if (text[i] is '.' or '?' or '!' && char.IsWhiteSpace(text[i + 1]) && i >= 20)
            {
                text = text[..(i + 1)];
                break;
            }
        }

        return Clip(text, MaxSummaryChars);
    }

    private static string Clip(string text, int max)
    {
        if (text.Length <= max)
        {
            return text;
        }

        var cut = text.LastIndexOf(' ', max - 1);
        return text[..(cut > max / 2 ? cut : max)] + "…";
    }
}
