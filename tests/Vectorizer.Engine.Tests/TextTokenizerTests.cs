using Vectorizer.Engine.Payload;

namespace Vectorizer.Engine.Tests;

/// <summary>The full-text tokenizers, checked against hand-written token lists (Qdrant's rules, see <see cref="TextTokenizer"/>).</summary>
public sealed class TextTokenizerTests
{
    private static readonly TextIndexParams Defaults = new();

    private static List<string> Document(TextIndexParams parameters, string text)
    {
        var tokens = new List<string>();
        TextTokenizer.For(parameters).TokenizeDocument(text, tokens);
        return tokens;
    }

    private static List<string> Query(TextIndexParams parameters, string text)
    {
        var tokens = new List<string>();
        TextTokenizer.For(parameters).TokenizeQuery(text, tokens);
        return tokens;
    }

    [Fact]
    public void WordSplitsOnAnythingButLettersAndDigits()
    {
        Assert.Equal(["hello", "world", "привет", "мир", "42nd", "naïve"], Document(Defaults, "Hello, World! Привет-мир  42nd\tnaïve"));
        Assert.Equal(["Hello", "World"], Document(new() { Lowercase = false }, "Hello...World"));
        Assert.Equal(["def", "ghij"], Document(new() { MinTokenLength = 3, MaxTokenLength = 4 }, "a bc def ghij klmno"));
        Assert.Equal(["𝔘𝔫𝔦"], Document(new() { MaxTokenLength = 3 }, "𝔘𝔫𝔦 𝔠𝔬𝔡𝔢")); // lengths count characters, not UTF-16 units
    }

    [Fact]
    public void WhitespaceKeepsPunctuation()
    {
        Assert.Equal(["hello,", "world!", "a-b"], Document(new() { Tokenizer = TokenizerKind.Whitespace }, " Hello,\u00a0World!\n a-b "));
    }

    [Fact]
    public void PrefixIndexesPrefixesAndQueriesWithTheLongest()
    {
        var schema = new TextIndexParams { Tokenizer = TokenizerKind.Prefix, MinTokenLength = 2, MaxTokenLength = 4 };
        Assert.Equal(["he", "hel", "hell", "ми", "мир"], Document(schema, "Hello, мир! a"));
        Assert.Equal(["h", "he", "hel", "hell", "hello"], Document(new() { Tokenizer = TokenizerKind.Prefix }, "hello"));
        Assert.Equal(["hell", "мир"], Query(schema, "HELLO мир a"));
    }

    [Fact]
    public void MultilingualSplitsHanAndKana()
    {
        Assert.Equal(["東", "京", "タ", "ワ", "ー", "tokyo", "서울"], Document(new() { Tokenizer = TokenizerKind.Multilingual }, "東京タワー Tokyo 서울"));
    }

    [Fact]
    public void FoldingAndStopwords()
    {
        Assert.Equal(["acao", "strasse", "aero", "cafe"], Document(new() { AsciiFolding = true }, "Ação Straße Ærø Cafe\u0301"));
        Assert.Equal(["cat", "and", "dog"], Document(new() { Stopwords = ["The", "A"] }, "The cat and a dog"));
    }

    [Fact]
    public void NoParametersIsTheDefaultWordTokenizer()
    {
        Assert.Same(TextTokenizer.Default, TextTokenizer.For(null));
        Assert.Equal(TokenizerKind.Word, TextTokenizer.For(new TextIndexParams { PhraseMatching = true, Stopwords = [] }).Kind);
    }
}
