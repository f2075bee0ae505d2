using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace Vectorizer.Engine.Text;

/// <summary>
/// What a word is, for every part that splits text into words, so they agree: the full-text index's word tokenizer
/// (<c>match.text</c>, <c>text_any</c>, <c>phrase</c>; see <c>TextTokenizer</c>) and the ingestion library's BM25
/// tokenizer. A word is a maximal run of letters, numbers and combining marks (Unicode categories L*, M* and N*:
/// Rust's <c>char::is_alphanumeric</c>, which Qdrant uses, near enough); everything else separates words. Text is
/// read by Unicode scalar (a letter outside the BMP is one letter, not two surrogates); a lone surrogate is a
/// separator. Words are compared lowercased, rune by rune, with the invariant culture (<see cref="ToLower"/>).
/// </summary>
public static class Words
{
    /// <summary>True when <paramref name="rune"/> belongs to a word.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsWordRune(Rune rune) => rune.IsAscii
        ? char.IsAsciiLetterOrDigit((char)rune.Value)
        : Rune.GetUnicodeCategory(rune) is >= UnicodeCategory.UppercaseLetter and <= UnicodeCategory.OtherNumber;

    /// <summary>The rune at <paramref name="index"/> (the replacement character for a lone surrogate) and its length in chars.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Rune RuneAt(ReadOnlySpan<char> text, int index, out int consumed)
    {
        var c = text[index];
        if (c < 0x80)
        {
            consumed = 1;
            return new Rune(c);
        }

        return Rune.DecodeFromUtf16(text[index..], out var rune, out consumed) == OperationStatus.Done ? rune : Rune.ReplacementChar;
    }

    /// <summary>
    /// Finds the next word at or after <paramref name="position"/>: its start and length in chars. Moves
    /// <paramref name="position"/> past it; false when no word is left.
    /// </summary>
    public static bool Next(ReadOnlySpan<char> text, ref int position, out int start, out int length)
    {
        var i = position;
        while (i < text.Length)
        {
            if (IsWordRune(RuneAt(text, i, out var consumed)))
            {
                start = i;
                i += consumed;
                while (i < text.Length && IsWordRune(RuneAt(text, i, out consumed)))
                {
                    i += consumed;
                }

                length = i - start;
                position = i;
                return true;
            }

            i += consumed;
        }

        position = text.Length;
        start = text.Length;
        length = 0;
        return false;
    }

    /// <summary>
    /// Writes <paramref name="word"/> lowercased (invariant culture, rune by rune; a lone surrogate becomes U+FFFD) into
    /// <paramref name="destination"/>, which must hold <c>2 × word.Length</c> chars; returns the chars written.
    /// </summary>
    public static int ToLower(ReadOnlySpan<char> word, Span<char> destination)
    {
        var written = 0;
        var i = 0;
        while (i < word.Length)
        {
            var c = word[i];
            if (c < 0x80)
            {
                destination[written++] = char.ToLowerInvariant(c);
                i++;
                continue;
            }

            var rune = Rune.ToLowerInvariant(RuneAt(word, i, out var consumed));
            i += consumed;
            written += rune.EncodeToUtf16(destination[written..]);
        }

        return written;
    }
}
