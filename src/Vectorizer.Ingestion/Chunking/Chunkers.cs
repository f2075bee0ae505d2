namespace Vectorizer.Ingestion.Chunking;

/// <summary>
/// Plain text: windows of at most <see cref="ChunkerOptions.MaxChars"/> characters that end at a line break or
/// else a space when there is one in the second half of the window, and overlap by about
/// <see cref="ChunkerOptions.Overlap"/> characters (starting at a word).
/// </summary>
public sealed class PlainTextChunker : IChunker
{
    public IReadOnlyList<TextRange> Split(string text, ChunkerOptions options)
    {
        var chunks = new List<TextRange>();
        var max = Math.Max(1, options.MaxChars);
        var overlap = Math.Clamp(options.Overlap, 0, max / 2);
        var position = 0;
        while (position < text.Length)
        {
            var end = Math.Min(position + max, text.Length);
            if (end < text.Length)
            {
                var window = text.AsSpan(position + (max / 2), end - position - (max / 2));
                var cut = window.LastIndexOf('\n');
                if (cut < 0)
                {
                    cut = window.LastIndexOfAny(' ', '\t');
                }

                if (cut >= 0)
                {
                    end = position + (max / 2) + cut + 1;
                }
            }

            if (!text.AsSpan(position, end - position).IsWhiteSpace())
            {
                chunks.Add(Trim(text, position, end));
            }

            if (end >= text.Length)
            {
                break;
            }

            var next = Math.Max(end - overlap, position + 1);
            while (next < end && !char.IsWhiteSpace(text[next - 1]))
            {
                next++;
            }

            position = next;
        }

        return chunks;
    }

    private static TextRange Trim(string text, int start, int end)
    {
        while (start < end && char.IsWhiteSpace(text[start]))
        {
            start++;
        }

        while (end > start && char.IsWhiteSpace(text[end - 1]))
        {
            end--;
        }

        return new TextRange(start, end);
    }
}

/// <summary>
/// Source code: blocks separated by blank lines, where a blank line inside braces (a function or class body)
/// does not separate; blocks are packed up to the size limit and cut only between lines.
/// </summary>
public sealed class CodeChunker : IChunker
{
    public IReadOnlyList<TextRange> Split(string text, ChunkerOptions options)
    {
        var lines = new Lines(text);
        var blocks = new List<(int, int)>();
        var depth = 0;
        var start = -1;
        for (var line = 0; line < lines.Count; line++)
        {
            if (lines.IsBlank(line))
            {
                if (start >= 0 && depth == 0)
                {
                    blocks.Add((start, line - 1));
                    start = -1;
                }

                continue;
            }

            start = start < 0 ? line : start;
            foreach (var c in lines[line])
            {
                depth += c == '{' ? 1 : c == '}' ? -1 : 0;
            }

            depth = Math.Max(depth, 0);
        }

        if (start >= 0)
        {
            blocks.Add((start, LastNonBlank(lines, start)));
        }

        return lines.Pack(blocks, Math.Max(1, options.MaxChars));
    }

    internal static int LastNonBlank(Lines lines, int from)
    {
        var last = lines.Count - 1;
        while (last > from && lines.IsBlank(last))
        {
            last--;
        }

        return last;
    }
}

/// <summary>
/// Markdown: one section per heading (<c>#</c> to <c>######</c>, not inside fenced code); a heading with no text
/// of its own joins the next section. Sections over the size limit are split between paragraphs, then lines.
/// </summary>
public sealed class MarkdownChunker : IChunker
{
    public IReadOnlyList<TextRange> Split(string text, ChunkerOptions options)
    {
        var lines = new Lines(text);
        var max = Math.Max(1, options.MaxChars);
        var chunks = new List<TextRange>();
        var paragraphs = new List<(int, int)>();
        var sectionHasText = false;
        var paragraphStart = -1;
        var fenced = false;
        for (var line = 0; line < lines.Count; line++)
        {
            var content = lines[line].TrimStart();
            var isFence = content.StartsWith("```") || content.StartsWith("~~~");
            var isHeading = !fenced && IsHeading(content);
            if (isHeading && sectionHasText)
            {
                Close(ref paragraphStart, line - 1);
                chunks.AddRange(lines.Pack(paragraphs, max));
                paragraphs.Clear();
                sectionHasText = false;
            }

            if (isFence)
            {
                fenced = !fenced;
            }

            if (lines.IsBlank(line) && !fenced)
            {
                Close(ref paragraphStart, line - 1);
                continue;
            }

            if (isHeading)
            {
                // A heading is a paragraph of its own, packed with what follows it.
                Close(ref paragraphStart, line - 1);
                paragraphs.Add((line, line));
                continue;
            }

            sectionHasText = true;
            paragraphStart = paragraphStart < 0 ? line : paragraphStart;
        }

        Close(ref paragraphStart, lines.Count - 1);
        chunks.AddRange(lines.Pack(paragraphs, max));
        return chunks;

        void Close(ref int start, int last)
        {
            if (start >= 0)
            {
                while (last > start && lines.IsBlank(last))
                {
                    last--;
                }

                paragraphs.Add((start, last));
                start = -1;
            }
        }
    }

    private static bool IsHeading(ReadOnlySpan<char> line)
    {
        var level = 0;
        while (level < line.Length && line[level] == '#')
        {
            level++;
        }

        return level is >= 1 and <= 6 && (level == line.Length || line[level] == ' ' || line[level] == '\t');
    }
}
