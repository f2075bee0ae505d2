using System.Buffers;
using Vectorizer.Engine.Text;

namespace Vectorizer.Ingestion.Text;

/// <summary>
/// The tokenizer shared by the hash and BM25 embedders: words as the engine's full-text index sees them
/// (<see cref="Words"/>: runs of letters, numbers and combining marks, lowercased with the invariant culture), each cut
/// to <see cref="Tokenizer.MaxTokenLength"/> chars, a small set of English stop words dropped. Tokens are ranges over
/// one lower-cased buffer, so tokenising allocates that buffer (pooled) and nothing per token.
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
        // Lowercasing rune by rune never more than doubles the length; n words need at least 2n - 1 chars.
        var buffer = ArrayPool<char>.Shared.Rent(Math.Max(1, text.Length * 2));
        var ranges = ArrayPool<(int, int)>.Shared.Rent(Math.Max(1, (text.Length / 2) + 1));
        var count = 0;
        var written = 0;
        var position = 0;
        while (Words.Next(text, ref position, out var start, out var length))
        {
            var lowered = Words.ToLower(text.Slice(start, length), buffer.AsSpan(written));
            var token = buffer.AsSpan(written, Cut(buffer.AsSpan(written, lowered), MaxTokenLength));
            if (!IsStopWord(token))
            {
                ranges[count++] = (written, token.Length);
                written += lowered;
            }
        }

        return new Tokens(buffer, ranges, count);
    }

    /// <summary>The length of <paramref name="token"/> cut to at most <paramref name="max"/> chars, never inside a surrogate pair.</summary>
    private static int Cut(ReadOnlySpan<char> token, int max) =>
        token.Length <= max ? token.Length : char.IsLowSurrogate(token[max]) ? max - 1 : max;
}
