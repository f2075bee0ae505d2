namespace Vectorizer.Ingestion.Chunking;

/// <summary>The line structure of a text: where each line starts, and line ranges as character ranges.</summary>
internal sealed class Lines
{
    private readonly string text;
    private readonly List<int> starts = [0];

    public Lines(string text)
    {
        this.text = text;
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '\n' && i + 1 < text.Length)
            {
                starts.Add(i + 1);
            }
        }
    }

    public int Count => text.Length == 0 ? 0 : starts.Count;

    /// <summary>Line <paramref name="line"/> (0-based) without its line break.</summary>
    public ReadOnlySpan<char> this[int line] => text.AsSpan(starts[line], ContentEnd(line) - starts[line]);

    public bool IsBlank(int line) => this[line].IsWhiteSpace();

    /// <summary>The offset of line <paramref name="line"/>'s first character.</summary>
    public int Start(int line) => starts[line];

    /// <summary>Characters of lines <paramref name="first"/>..<paramref name="last"/> with their breaks.</summary>
    public int Length(int first, int last) => End(last) - starts[first];

    /// <summary>The character range of lines <paramref name="first"/>..<paramref name="last"/>, without the final line break.</summary>
    public TextRange Range(int first, int last) => new(starts[first], ContentEnd(last));

    /// <summary>0-based line of character <paramref name="offset"/>.</summary>
    public int LineOf(int offset)
    {
        var index = starts.BinarySearch(offset);
        return index >= 0 ? index : ~index - 1;
    }

    private int End(int line) => line + 1 < starts.Count ? starts[line + 1] : text.Length;

    private int ContentEnd(int line)
    {
        var end = End(line);
        if (end > starts[line] && text[end - 1] == '\n')
        {
            end--;
        }

        if (end > starts[line] && text[end - 1] == '\r')
        {
            end--;
        }

        return end;
    }

    /// <summary>
    /// Packs consecutive units (inclusive line ranges, in order) into chunks of at most <paramref name="maxChars"/>
    /// characters. A unit that alone is too large is cut between lines; a single line is never cut.
    /// </summary>
    public List<TextRange> Pack(IReadOnlyList<(int First, int Last)> units, int maxChars)
    {
        var chunks = new List<TextRange>();
        var open = -1;
        var openEnd = -1;
        foreach (var (first, last) in units)
        {
            if (open >= 0 && Length(open, last) <= maxChars)
            {
                openEnd = last;
                continue;
            }

            if (open >= 0)
            {
                chunks.Add(Range(open, openEnd));
                open = -1;
            }

            if (Length(first, last) <= maxChars)
            {
                (open, openEnd) = (first, last);
                continue;
            }

            // Too large on its own: cut between lines.
            var start = first;
            for (var line = first; line <= last; line++)
            {
                if (line > start && Length(start, line) > maxChars)
                {
                    chunks.Add(Range(start, line - 1));
                    start = line;
                }
            }

            (open, openEnd) = (start, last);
        }

        if (open >= 0)
        {
            chunks.Add(Range(open, openEnd));
        }

        return chunks;
    }
}
