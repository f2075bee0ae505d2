using System.Buffers;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Filters;
using Vectorizer.Engine.Text;

namespace Vectorizer.Engine.Payload;

/// <summary>How a full-text index splits text into words (Qdrant's <c>TokenizerType</c>).</summary>
public enum TokenizerKind
{
    /// <summary>Words as <see cref="Words"/> defines them: runs of letters, numbers and combining marks.</summary>
    Word,

    /// <summary>Words are runs of anything but whitespace.</summary>
    Whitespace,

    /// <summary>As <see cref="Word"/>, and a document also indexes every prefix of each word (min..max token length).</summary>
    Prefix,

    /// <summary>
    /// As <see cref="Word"/>, and each Han, Hiragana or Katakana character is a word of its own. An approximation of
    /// Qdrant's dictionary segmentation (charabia): <c>text</c> and <c>phrase</c> over CJK match character by character.
    /// </summary>
    Multilingual,
}

/// <summary>Receives the tokens of a text, one span at a time (valid only during the call); false stops the tokenizer.</summary>
internal interface ITokenSink
{
    bool Accept(ReadOnlySpan<char> token);
}

/// <summary>
/// The tokenizer of a full-text payload index, configured by <see cref="TextIndexParams"/>: the tokenizer kind,
/// lowercase (default true), ASCII folding, minimum and maximum token length and stopwords. A word is lowercased, folded, dropped when it is a stopword, and kept when its length in
/// characters is within [min, max]. The prefix tokenizer indexes each word's prefixes of min..max characters
/// (the whole word when shorter) and queries with each word cut to max characters, stopwords kept (as Qdrant does,
/// so a query can be a partial word). Allocation-free apart from the tokens a sink keeps; thread-safe.
/// </summary>
public sealed class TextTokenizer
{
    /// <summary>ASCII for U+00C0..U+024F ("" = unchanged): the accent stripped, ligatures and special letters spelled out.</summary>
    private static readonly string[] Folding = (
        "A|A|A|A|A|A|AE|C|E|E|E|E|I|I|I|I|D|N|O|O|O|O|O||O|U|U|U|U|Y|TH|ss|a|a|a|a|a|a|ae|c|e|e|e|e|i|i|i|i|d|n|o|o|o|o" +
        "|o||o|u|u|u|u|y|th|y|A|a|A|a|A|a|C|c|C|c|C|c|C|c|D|d|D|d|E|e|E|e|E|e|E|e|E|e|G|g|G|g|G|g|G|g|H|h|H|h|I|i|I|i|I" +
        "|i|I|i|I|i|IJ|ij|J|j|K|k|q|L|l|L|l|L|l|L|l|L|l|N|n|N|n|N|n|n|N|n|O|o|O|o|O|o|OE|oe|R|r|R|r|R|r|S|s|S|s|S|s|S|s" +
        "|T|t|T|t|T|t|U|u|U|u|U|u|U|u|U|u|U|u|W|w|Y|y|Y|Z|z|Z|z|Z|z|s|b|B||||||C|c|D|D|||||||F|f|G||||I|K|k|l|||N|n||O|" +
        "o|||P|p||||||t|T|t|T|U|u||V|Y|y|Z|z||||||||||||||DZ|Dz|dz|LJ|Lj|lj|NJ|Nj|nj|A|a|I|i|O|o|U|u|U|u|U|u|U|u|U|u||A" +
        "|a|A|a|||G|g|G|g|K|k|O|o|O|o|||j|DZ|Dz|dz|G|g|||N|n|A|a|||||A|a|A|a|E|e|E|e|I|i|I|i|O|o|O|o|R|r|R|r|U|u|U|u|S|" +
        "s|T|t|||H|h||d|||Z|z|A|a|E|e|O|o|O|o|O|o|O|o|Y|y|l|n|t|j|db|qp|A|C|c|L|T|s|z|||B|||E|e|J|j|||R|r|Y|y").Split('|');

    private const int FoldingStart = 0xC0;

    [ThreadStatic]
    private static char[]? scratch;

    /// <summary>A payload string decoded for <see cref="Matches"/> (apart from <see cref="scratch"/>, which the tokenizer writes).</summary>
    [ThreadStatic]
    private static char[]? valueScratch;

    private readonly HashSet<string>? stopwords;
    private readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> stopwordLookup;

    private TextTokenizer(TokenizerKind kind, bool lowercase, bool asciiFolding, int? minTokenLength, int? maxTokenLength, IReadOnlyList<string>? stopwordList)
    {
        Kind = kind;
        Lowercase = lowercase;
        AsciiFolding = asciiFolding;
        MinTokenLength = minTokenLength;
        MaxTokenLength = maxTokenLength;
        if (stopwordList is { Count: > 0 })
        {
            // Stopwords are compared after the same normalisation as the text.
            stopwords = new HashSet<string>(StringComparer.Ordinal);
            foreach (var word in stopwordList)
            {
                var length = Normalize(word, ref scratch);
                stopwords.Add(new string(scratch!, 0, length));
            }

            stopwordLookup = stopwords.GetAlternateLookup<ReadOnlySpan<char>>();
        }
    }

    public TokenizerKind Kind { get; }

    public bool Lowercase { get; }

    public bool AsciiFolding { get; }

    public int? MinTokenLength { get; }

    public int? MaxTokenLength { get; }

    /// <summary>The default text index: word tokenizer, lowercase.</summary>
    public static TextTokenizer Default { get; } = new(TokenizerKind.Word, true, false, null, null, null);

    /// <summary>The tokenizer for a text index with <paramref name="parameters"/> (null: <see cref="Default"/>).</summary>
    public static TextTokenizer For(TextIndexParams? parameters) =>
        parameters is null
            ? Default
            : new TextTokenizer(
                parameters.Tokenizer ?? TokenizerKind.Word,
                parameters.Lowercase ?? true,
                parameters.AsciiFolding ?? false,
                parameters.MinTokenLength,
                parameters.MaxTokenLength,
                parameters.Stopwords);

    /// <summary>The tokens of a payload value (what the index stores), appended to <paramref name="output"/>.</summary>
    public void TokenizeDocument(string text, List<string> output)
    {
        var sink = new ListSink(output);
        Tokenize(text, query: false, ref sink);
    }

    /// <summary>The tokens of a <c>text</c> / <c>text_any</c> condition, appended to <paramref name="output"/>.</summary>
    public void TokenizeQuery(string text, List<string> output)
    {
        var sink = new ListSink(output);
        Tokenize(text, query: true, ref sink);
    }

    /// <summary>
    /// Whether the values (strings among them; others are ignored) match <paramref name="query"/>: <c>text</c> when
    /// every query token is among the tokens of the values, <c>text_any</c> when one is, <c>phrase</c> when one value's
    /// tokens hold the query's in order, adjacent. A query without tokens matches nothing.
    /// </summary>
    internal bool Matches(ParsedTextQuery query, List<JsonElement> values)
    {
        if (query.Tokens.Length == 0)
        {
            return false;
        }

        switch (query.Kind)
        {
            case MatchKind.TextAny:
                foreach (var value in values)
                {
                    if (value.ValueKind == JsonValueKind.String)
                    {
                        var any = new AnySink(query);
                        Tokenize(Text(value), query: false, ref any);
                        if (any.Found)
                        {
                            return true;
                        }
                    }
                }

                return false;
            case MatchKind.Phrase:
                var ids = PhraseSink.Rent();
                try
                {
                    foreach (var value in values)
                    {
                        if (value.ValueKind == JsonValueKind.String)
                        {
                            ids.Clear();
                            var phrase = new PhraseSink(query, ids);
                            Tokenize(Text(value), query: false, ref phrase);
                            if (CollectionsMarshal.AsSpan(ids).IndexOf(query.Sequence) >= 0)
                            {
                                return true;
                            }
                        }
                    }

                    return false;
                }
                finally
                {
                    PhraseSink.Return(ids);
                }

            default:
                var all = new AllSink(query);
                foreach (var value in values)
                {
                    if (value.ValueKind == JsonValueKind.String)
                    {
                        Tokenize(Text(value), query: false, ref all);
                        if (all.Remaining == 0)
                        {
                            return true;
                        }
                    }
                }

                return false;
        }
    }

    /// <summary>A JSON string's text, decoded from its UTF-8 into a reused buffer (escaped strings are rare and allocate).</summary>
    private static ReadOnlySpan<char> Text(JsonElement value)
    {
        var raw = JsonMarshal.GetRawUtf8Value(value);
        var utf8 = raw[1..^1];
        if (utf8.IndexOf((byte)'\\') >= 0)
        {
            return value.GetString();
        }

        var needed = Encoding.UTF8.GetMaxCharCount(utf8.Length);
        if (valueScratch is null || valueScratch.Length < needed)
        {
            valueScratch = new char[Math.Max(256, needed)];
        }

        return valueScratch.AsSpan(0, Encoding.UTF8.GetChars(utf8, valueScratch));
    }

    /// <summary>Splits <paramref name="text"/> into words and hands each word's tokens to <paramref name="sink"/>.</summary>
    internal void Tokenize<TSink>(ReadOnlySpan<char> text, bool query, ref TSink sink)
        where TSink : struct, ITokenSink
    {
        var i = 0;
        while (i < text.Length)
        {
            var kind = Classify(text, i, out var consumed);
            if (kind == CharKind.Separator)
            {
                i += consumed;
                continue;
            }

            var start = i;
            i += consumed;
            if (kind == CharKind.Standalone)
            {
                if (!EmitWord(text[start..i], query, ref sink))
                {
                    return;
                }

                continue;
            }

            while (i < text.Length && Classify(text, i, out consumed) == CharKind.Word)
            {
                i += consumed;
            }

            if (!EmitWord(text[start..i], query, ref sink))
            {
                return;
            }
        }
    }

    private enum CharKind
    {
        Separator,
        Word,

        /// <summary>A word of its own (CJK with the multilingual tokenizer).</summary>
        Standalone,
    }

    private CharKind Classify(ReadOnlySpan<char> text, int index, out int consumed)
    {
        var c = text[index];
        if (c < 0x80)
        {
            consumed = 1;
            var word = Kind == TokenizerKind.Whitespace ? !char.IsWhiteSpace(c) : Words.IsWordRune(new Rune(c));
            return word ? CharKind.Word : CharKind.Separator;
        }

        if (Rune.DecodeFromUtf16(text[index..], out var rune, out consumed) != OperationStatus.Done)
        {
            rune = Rune.ReplacementChar;
        }

        if (Kind == TokenizerKind.Whitespace)
        {
            return Rune.IsWhiteSpace(rune) ? CharKind.Separator : CharKind.Word;
        }

        if (Kind == TokenizerKind.Multilingual && IsCjk(rune.Value))
        {
            return CharKind.Standalone;
        }

        // The shared definition of a word (BM25 splits text the same way).
        return Words.IsWordRune(rune) ? CharKind.Word : CharKind.Separator;
    }

    private static bool IsCjk(int value) =>
        value is (>= 0x3040 and <= 0x30FF) or (>= 0x31F0 and <= 0x31FF) or (>= 0x3400 and <= 0x4DBF) or (>= 0x4E00 and <= 0x9FFF) or
            (>= 0xF900 and <= 0xFAFF) or (>= 0xFF66 and <= 0xFF9F) or (>= 0x20000 and <= 0x2FA1F);

    private bool EmitWord<TSink>(ReadOnlySpan<char> word, bool query, ref TSink sink)
        where TSink : struct, ITokenSink
    {
        var length = Normalize(word, ref scratch);
        var token = new ReadOnlySpan<char>(scratch, 0, length);
        if (Kind == TokenizerKind.Prefix)
        {
            if (query)
            {
                // The longest prefix the index holds; stopwords are kept, the word may be unfinished.
                if (MaxTokenLength is { } max && CharIndexOfRune(token, max) is var cut and >= 0)
                {
                    token = token[..cut];
                }

                return Emit(token, ref sink);
            }

            if (IsStopword(token))
            {
                return true;
            }

            var maxLength = MaxTokenLength ?? int.MaxValue;
            for (var n = MinTokenLength ?? 1; n <= maxLength; n++)
            {
                var end = CharIndexOfRune(token, n);
                if (end < 0)
                {
                    return Emit(token, ref sink);
                }

                if (!Emit(token[..end], ref sink))
                {
                    return false;
                }
            }

            return true;
        }

        return IsStopword(token) || Emit(token, ref sink);
    }

    /// <summary>Hands the token on when its length in characters is within [min, max].</summary>
    private bool Emit<TSink>(ReadOnlySpan<char> token, ref TSink sink)
        where TSink : struct, ITokenSink
    {
        if (token.IsEmpty)
        {
            return true;
        }

        if (MinTokenLength is { } || MaxTokenLength is { })
        {
            var runes = RuneCount(token);
            if (runes < (MinTokenLength ?? 0) || runes > (MaxTokenLength ?? int.MaxValue))
            {
                return true;
            }
        }

        return sink.Accept(token);
    }

    private bool IsStopword(ReadOnlySpan<char> token) => stopwords is not null && stopwordLookup.Contains(token);

    /// <summary>Writes the word lowercased and folded (as configured) into <paramref name="buffer"/>; returns its length.</summary>
    private int Normalize(ReadOnlySpan<char> word, ref char[]? buffer)
    {
        if (buffer is null || buffer.Length < (word.Length * 2) + 4)
        {
            buffer = new char[Math.Max(256, (word.Length * 2) + 4)];
        }

        var length = 0;
        var i = 0;
        while (i < word.Length)
        {
            var c = word[i];
            if (c < 0x80)
            {
                buffer[length++] = Lowercase ? char.ToLowerInvariant(c) : c;
                i++;
                continue;
            }

            if (Rune.DecodeFromUtf16(word[i..], out var rune, out var consumed) != OperationStatus.Done)
            {
                rune = Rune.ReplacementChar;
            }

            i += consumed;
            if (Lowercase)
            {
                rune = Rune.ToLowerInvariant(rune);
            }

            if (AsciiFolding)
            {
                if (rune.Value is >= 0x300 and <= 0x36F)
                {
                    continue; // a combining accent (decomposed text)
                }

                if (rune.Value - FoldingStart is >= 0 and var index && index < Folding.Length && Folding[index] is { Length: > 0 } folded)
                {
                    EnsureRoom(ref buffer, length + folded.Length);
                    folded.AsSpan().CopyTo(buffer.AsSpan(length));
                    length += folded.Length;
                    continue;
                }
            }

            EnsureRoom(ref buffer, length + 2);
            length += rune.EncodeToUtf16(buffer.AsSpan(length));
        }

        return length;
    }

    private static void EnsureRoom(ref char[] buffer, int needed)
    {
        if (buffer.Length < needed)
        {
            Array.Resize(ref buffer, Math.Max(needed, buffer.Length * 2));
        }
    }

    /// <summary>The char index where the <paramref name="n"/>-th character (0-based) starts, or −1 when the token has at most n characters.</summary>
    private static int CharIndexOfRune(ReadOnlySpan<char> token, int n)
    {
        var index = 0;
        for (var r = 0; r < n; r++)
        {
            if (index >= token.Length)
            {
                return -1;
            }

            index += char.IsHighSurrogate(token[index]) && index + 1 < token.Length ? 2 : 1;
        }

        return index < token.Length ? index : -1;
    }

    private static int RuneCount(ReadOnlySpan<char> token)
    {
        var count = token.Length;
        foreach (var c in token)
        {
            if (char.IsLowSurrogate(c))
            {
                count--;
            }
        }

        return count;
    }

    private readonly struct ListSink(List<string> output) : ITokenSink
    {
        public bool Accept(ReadOnlySpan<char> token)
        {
            output.Add(token.ToString());
            return true;
        }
    }

    private struct AnySink(ParsedTextQuery query) : ITokenSink
    {
        public bool Found { get; private set; }

        public bool Accept(ReadOnlySpan<char> token)
        {
            Found = query.IdOf(token) >= 0;
            return !Found;
        }
    }

    /// <summary>Marks the query tokens seen (a bit mask up to 64 distinct tokens, flags beyond).</summary>
    private struct AllSink(ParsedTextQuery query) : ITokenSink
    {
        private readonly bool[]? flags = query.Tokens.Length > 64 ? new bool[query.Tokens.Length] : null;
        private ulong mask;

        public int Remaining { get; private set; } = query.Tokens.Length;

        public bool Accept(ReadOnlySpan<char> token)
        {
            var id = query.IdOf(token);
            if (id >= 0)
            {
                if (flags is null)
                {
                    if ((mask & (1UL << id)) == 0)
                    {
                        mask |= 1UL << id;
                        Remaining--;
                    }
                }
                else if (!flags[id])
                {
                    flags[id] = true;
                    Remaining--;
                }
            }

            return Remaining > 0;
        }
    }

    /// <summary>The query-token id of each token in order (−1 for tokens not in the query).</summary>
    private readonly struct PhraseSink(ParsedTextQuery query, List<int> ids) : ITokenSink
    {
        [ThreadStatic]
        private static List<int>? pooled;

        public static List<int> Rent()
        {
            var list = pooled ?? new List<int>(64);
            pooled = null;
            return list;
        }

        public static void Return(List<int> list) => pooled = list;

        public bool Accept(ReadOnlySpan<char> token)
        {
            ids.Add(query.IdOf(token));
            return true;
        }
    }
}

/// <summary>
/// A text condition tokenized for one index: its distinct tokens (query mode for <c>text</c> / <c>text_any</c>,
/// document mode for <c>phrase</c>, as Qdrant parses them) and, for a phrase, their sequence. Immutable.
/// </summary>
internal sealed class ParsedTextQuery
{
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> lookup;

    public ParsedTextQuery(TextTokenizer tokenizer, MatchKind kind, string text)
    {
        Tokenizer = tokenizer;
        Kind = kind;
        var tokens = new List<string>();
        if (kind == MatchKind.Phrase)
        {
            tokenizer.TokenizeDocument(text, tokens);
        }
        else
        {
            tokenizer.TokenizeQuery(text, tokens);
        }

        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        var distinct = new List<string>();
        var sequence = new int[tokens.Count];
        for (var i = 0; i < tokens.Count; i++)
        {
            if (!ids.TryGetValue(tokens[i], out var id))
            {
                ids[tokens[i]] = id = distinct.Count;
                distinct.Add(tokens[i]);
            }

            sequence[i] = id;
        }

        Tokens = [.. distinct];
        Sequence = sequence;
        lookup = ids.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public TextTokenizer Tokenizer { get; }

    public MatchKind Kind { get; }

    /// <summary>The distinct tokens; a token's id is its position here.</summary>
    public string[] Tokens { get; }

    /// <summary>The ids of the tokens in order (the phrase).</summary>
    public int[] Sequence { get; }

    public int IdOf(ReadOnlySpan<char> token) => lookup.TryGetValue(token, out var id) ? id : -1;
}
