using System.Text.Json;
using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Payload;

namespace Vectorizer.Engine.Tests;

/// <summary>The full-text tokenizers, checked against hand-written token lists (Qdrant's rules, see <see cref="TextTokenizer"/>).</summary>
public sealed class TextTokenizerTests
{
    private static TextTokenizer Tokenizer(string json) => TextTokenizer.Parse(JsonDocument.Parse(json).RootElement.Clone());

    private static List<string> Document(string json, string text)
    {
        var tokens = new List<string>();
        Tokenizer(json).TokenizeDocument(text, tokens);
        return tokens;
    }

    private static List<string> Query(string json, string text)
    {
        var tokens = new List<string>();
        Tokenizer(json).TokenizeQuery(text, tokens);
        return tokens;
    }

    [Fact]
    public void WordSplitsOnAnythingButLettersAndDigits()
    {
        Assert.Equal(["hello", "world", "привет", "мир", "42nd", "naïve"], Document("""{"type": "text"}""", "Hello, World! Привет-мир  42nd\tnaïve"));
        Assert.Equal(["Hello", "World"], Document("""{"type": "text", "lowercase": false}""", "Hello...World"));
        Assert.Equal(["def", "ghij"], Document("""{"type": "text", "min_token_len": 3, "max_token_len": 4}""", "a bc def ghij klmno"));
        Assert.Equal(["𝔘𝔫𝔦"], Document("""{"type": "text", "max_token_len": 3}""", "𝔘𝔫𝔦 𝔠𝔬𝔡𝔢")); // lengths count characters, not UTF-16 units
    }

    [Fact]
    public void WhitespaceKeepsPunctuation()
    {
        Assert.Equal(["hello,", "world!", "a-b"], Document("""{"type": "text", "tokenizer": "whitespace"}""", " Hello,\u00a0World!\n a-b "));
    }

    [Fact]
    public void PrefixIndexesPrefixesAndQueriesWithTheLongest()
    {
        const string schema = """{"type": "text", "tokenizer": "prefix", "min_token_len": 2, "max_token_len": 4}""";
        Assert.Equal(["he", "hel", "hell", "ми", "мир"], Document(schema, "Hello, мир! a"));
        Assert.Equal(["h", "he", "hel", "hell", "hello"], Document("""{"type": "text", "tokenizer": "prefix"}""", "hello"));
        Assert.Equal(["hell", "мир"], Query(schema, "HELLO мир a"));
    }

    [Fact]
    public void MultilingualSplitsHanAndKana()
    {
        Assert.Equal(["東", "京", "タ", "ワ", "ー", "tokyo", "서울"], Document("""{"type": "text", "tokenizer": "multilingual"}""", "東京タワー Tokyo 서울"));
    }

    [Fact]
    public void FoldingAndStopwords()
    {
        Assert.Equal(["acao", "strasse", "aero", "cafe"], Document("""{"type": "text", "ascii_folding": true}""", "Ação Straße Ærø Cafe\u0301"));
        Assert.Equal(["cat", "and", "dog"], Document("""{"type": "text", "stopwords": {"custom": ["The", "A"]}}""", "The cat and a dog"));
    }

    [Fact]
    public void RejectsWhatItCannotHonour()
    {
        Assert.Throws<VectorizerException>(() => Tokenizer("""{"type": "text", "tokenizer": "ngram"}"""));
        Assert.Throws<VectorizerException>(() => Tokenizer("""{"type": "text", "max_token_len": 1.5}"""));
        Assert.Throws<VectorizerException>(() => Tokenizer("""{"type": "text", "stopwords": {"languages": ["english"]}}"""));
        Assert.Throws<VectorizerException>(() => Tokenizer("""{"type": "text", "stemmer": {"type": "snowball", "language": "english"}}"""));
        Assert.Equal(TokenizerKind.Word, Tokenizer("""{"type": "text", "phrase_matching": true, "on_disk": true, "stopwords": {"custom": []}}""").Kind);
    }
}
