using System.Text;
using Vectorizer.Engine.Payload;
using Vectorizer.Engine.Text;
using Vectorizer.Ingestion.Text;

namespace Vectorizer.Server.Tests;

/// <summary>
/// One definition of a word (<see cref="Words"/>): BM25 (the ingestion library's <see cref="Tokenizer"/>) and the
/// full-text index behind <c>match.text</c> (<see cref="TextTokenizer"/>, default word tokenizer) must split any text
/// into the same lowercased words; BM25 then only cuts long words and drops its stop words.
/// </summary>
public class TokenizerContractTests
{
    /// <summary>What BM25 should make of <paramref name="text"/>, derived from the full-text index's words.</summary>
    private static List<string> ExpectedBm25(string text)
    {
        var words = new List<string>();
        TextTokenizer.Default.TokenizeDocument(text, words);
        var expected = new List<string>();
        foreach (var word in words)
        {
            var cut = word.Length <= Tokenizer.MaxTokenLength ? word
                : word[..(char.IsLowSurrogate(word[Tokenizer.MaxTokenLength]) ? Tokenizer.MaxTokenLength - 1 : Tokenizer.MaxTokenLength)];
            if (!Tokenizer.IsStopWord(cut))
            {
                expected.Add(cut);
            }
        }

        return expected;
    }

    private static List<string> Bm25(string text)
    {
        using var tokens = Tokenizer.Tokenize(text);
        var result = new List<string>(tokens.Count);
        for (var i = 0; i < tokens.Count; i++)
        {
            result.Add(tokens[i].ToString());
        }

        return result;
    }

    [Theory]
    [InlineData("Hello, World! The quick brown fox.", new[] { "hello", "world", "quick", "brown", "fox" })]
    [InlineData("snake_case kebab-case dotted.name", new[] { "snake", "case", "kebab", "case", "dotted", "name" })]
    [InlineData("Cafe\u0301 naïve ÆRØ", new[] { "cafe\u0301", "naïve", "ærø" })] // a combining accent stays in its word
    [InlineData("x² Ⅻ ½", new[] { "x²", "ⅻ", "½" })] // numbers of every kind are word characters
    [InlineData("𝔘𝔫𝔦 𐐀𐐁", new[] { "𝔘𝔫𝔦", "𐐨𐐩" })] // letters outside the BMP, lowercased
    [InlineData("東京タワー 서울 İstanbul", new[] { "東京タワー", "서울", "İstanbul" })] // U+0130 has no invariant lowercase in .NET
    [InlineData("emoji 🙂 between\ud800lone", new[] { "emoji", "between", "lone" })] // symbols and a lone surrogate separate
    public void BothSplitTextIntoTheSameWords(string text, string[] words)
    {
        Assert.Equal(words, ExpectedBm25(text));
        Assert.Equal(words, Bm25(text));
    }

    [Fact]
    public void BothAgreeOnRandomText()
    {
        // Letters, marks, numbers and separators from several scripts and planes, in random runs.
        string[] pieces =
        [
            "a", "Z", "7", "é", "e\u0301", "\u0308", "ß", "İ", "Σ", "ς", "ж", "ア", "東", "한", "٣", "²", "Ⅻ", "𝔘", "𐐀", "🙂",
            " ", ",", "-", "_", "'", "\t", "\n", "\u00a0", "\u200b", "\ud800", "the", "and", "A",
        ];
        var random = new Random(20261203);
        for (var round = 0; round < 2000; round++)
        {
            var text = new StringBuilder();
            var length = random.Next(0, 40);
            for (var i = 0; i < length; i++)
            {
                text.Append(pieces[random.Next(pieces.Length)]);
                if (random.Next(20) == 0)
                {
                    text.Append('x', random.Next(60, 70)); // words around the 64-char cut
                }
            }

            var value = text.ToString();
            Assert.True(ExpectedBm25(value).SequenceEqual(Bm25(value)), $"round {round}: {value}");
        }
    }

    [Fact]
    public void TheWordDefinitionIsLettersNumbersAndMarks()
    {
        Assert.True(Words.IsWordRune(new Rune('a')));
        Assert.True(Words.IsWordRune(new Rune(0x0301))); // combining acute accent (Mn)
        Assert.True(Words.IsWordRune(new Rune(0x00B2))); // superscript two (No)
        Assert.True(Words.IsWordRune(new Rune(0x1D518))); // mathematical fraktur U (Lu, outside the BMP)
        Assert.False(Words.IsWordRune(new Rune('_')));
        Assert.False(Words.IsWordRune(new Rune(0x1F642))); // emoji (So)
        Assert.False(Words.IsWordRune(Rune.ReplacementChar));
    }
}
