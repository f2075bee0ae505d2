using System.Buffers;

namespace Vectorizer.Ingestion.Text;

/// <summary>
/// The tokenizer shared by the hash and BM25 embedders: lower-case (invariant), split on anything that is not a
/// letter or a digit, drop a small set of English stop words. Tokens are ranges over one lower-cased buffer, so
/// tokenising allocates that buffer (pooled) and nothing per token.
/// </summary>
public sealed class Tokens : IDisposable
{
    private char[] buffer;
    private (int Start, int Length)[] ranges;

    internal Tokens(char[] buffer, (int, int)[] ranges, int count)
    {
        this.buffer = buffer;
        this.ranges = ranges;
        Count = count;
    }

    public int Count { get; }

    public ReadOnlySpan<char> this[int index]
    {
        get
        {
            var (start, length) = ranges[index];
            return buffer.AsSpan(start, length);
        }
    }

    public void Dispose()
    {
        if (buffer.Length > 0)
        {
            ArrayPool<char>.Shared.Return(buffer);
            ArrayPool<(int, int)>.Shared.Return(ranges);
            buffer = [];
            ranges = [];
        }
    }
}

public static class Tokenizer
{
    /// <summary>Longer "words" (base64, minified code) are cut: they carry little meaning and would dominate n-grams.</summary>
    public const int MaxTokenLength = 64;

    private static readonly HashSet<string> StopWordSet = new(StringComparer.Ordinal)
    {
        "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "from", "has", "have", "he", "her", "his",
        "i", "if", "in", "into", "is", "it", "its", "me", "my", "no", "not", "of", "on", "or", "our", "she", "so",
        "such", "than", "that", "the", "their", "them", "then", "there", "these", "they", "this", "to", "was", "we",
        "were", "what", "when", "where", "which", "who", "will", "with", "you", "your",
    };

    private static readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> StopWords = StopWordSet.GetAlternateLookup<ReadOnlySpan<char>>();

    public static bool IsStopWord(ReadOnlySpan<char> token) => StopWords.Contains(token);

    /// <summary>The tokens of <paramref name="text"/>, stop words removed. Dispose the result.</summary>
    public static Tokens Tokenize(ReadOnlySpan<char> text)
    {
        var buffer = ArrayPool<char>.Shared.Rent(Math.Max(1, text.Length));
        var ranges = ArrayPool<(int, int)>.Shared.Rent(Math.Max(1, (text.Length / 2) + 1));
        var count = 0;
        var start = -1;
        for (var i = 0; i <= text.Length; i++)
        {
            var isWordChar = i < text.Length && char.IsLetterOrDigit(text[i]);
            if (isWordChar)
            {
                buffer[i] = char.ToLowerInvariant(text[i]);
                if (start < 0)
                {
                    start = i;
                }

                continue;
            }

            if (start >= 0)
            {
                var length = Math.Min(i - start, MaxTokenLength);
                if (!IsStopWord(buffer.AsSpan(start, length)))
                {
                    ranges[count++] = (start, length);
                }

                start = -1;
            }
        }

        return new Tokens(buffer, ranges, count);
    }
}
