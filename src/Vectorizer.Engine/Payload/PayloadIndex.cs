using System.Globalization;
using System.Text.Json;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Filters;

namespace Vectorizer.Engine.Payload;

/// <summary>The value types a payload field can be indexed as (Qdrant's <c>PayloadSchemaType</c>).</summary>
public enum PayloadSchemaType
{
    Keyword,
    Integer,
    Float,
    Geo,
    Text,
    Bool,
    Datetime,
    Uuid,
}

/// <summary>An indexed field's schema: its type and, when the client gave them, its parameters.</summary>
public sealed record PayloadFieldSchema(PayloadSchemaType Type, PayloadIndexParams? Params = null)
{
    public string TypeName => Type.ToString().ToLowerInvariant();

    public static bool TryParseType(string? text, out PayloadSchemaType type)
    {
        foreach (var candidate in Enum.GetValues<PayloadSchemaType>())
        {
            if (string.Equals(candidate.ToString(), text, StringComparison.OrdinalIgnoreCase) && text == text!.ToLowerInvariant())
            {
                type = candidate;
                return true;
            }
        }

        type = default;
        return false;
    }
}

/// <summary>
/// The parameters of a payload index, as given (null: not given). The engine uses <see cref="Range"/> (an integer
/// index without range support answers no range conditions and no <c>order_by</c>) and, for text indexes,
/// <see cref="Text"/>; the rest is accepted and reported.
/// </summary>
public sealed record PayloadIndexParams
{
    /// <summary>Keyword, uuid.</summary>
    public bool? IsTenant { get; init; }

    /// <summary>Integer: exact-match lookups.</summary>
    public bool? Lookup { get; init; }

    /// <summary>Integer: range conditions and <c>order_by</c> (default true).</summary>
    public bool? Range { get; init; }

    /// <summary>Integer, float, datetime.</summary>
    public bool? IsPrincipal { get; init; }

    public bool? OnDisk { get; init; }

    public bool? EnableHnsw { get; init; }

    /// <summary>Text indexes: how text is split into tokens.</summary>
    public TextIndexParams? Text { get; init; }
}

/// <summary>
/// A full-text index's tokenizer settings (see <see cref="TextTokenizer"/>). Null values take the defaults: the word
/// tokenizer, lowercase, no folding, no length limits, no stopwords.
/// </summary>
public sealed record TextIndexParams
{
    public TokenizerKind? Tokenizer { get; init; }

    public bool? Lowercase { get; init; }

    public bool? AsciiFolding { get; init; }

    public int? MinTokenLength { get; init; }

    public int? MaxTokenLength { get; init; }

    /// <summary>Words dropped from documents (compared after the same normalisation as the text).</summary>
    public IReadOnlyList<string>? Stopwords { get; init; }

    /// <summary>Accepted and reported: phrases always match (token positions are not stored; phrases are checked on the payload).</summary>
    public bool? PhraseMatching { get; init; }
}

/// <summary>
/// An index over one payload field: exact values (keyword, integer, bool, uuid) map to posting lists, numbers
/// (integer, float, datetime) to a lazily sorted list for ranges and <c>order_by</c>, text to the posting lists of
/// its tokens (full-text index, see <see cref="TextTokenizer"/>). Append-only: entries of
/// tombstoned offsets and of overwritten payloads stay behind, so every candidate it yields is re-checked against the
/// full filter (and an ordered read re-checks the value of an offset whose payload was rewritten); vacuum rebuilds
/// it. Mutated under the collection's write lock; the lazy sort runs under a private lock.
/// </summary>
public sealed class PayloadFieldIndex
{
    private readonly Dictionary<string, List<int>> exact = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<int>> tokens = new(StringComparer.Ordinal);
    private readonly List<string> tokenScratch = [];
    private readonly List<(double Value, int Offset)> numbers = [];
    private readonly object sortLock = new();
    private readonly Bitmap added = new();
    private (double Value, int Offset)[] sorted = [];
    private int sortedCount;

    /// <summary>An integer index saw a number it does not file (1.5, 1e30): a range it answered would miss that point.</summary>
    private bool numbersIncomplete;

    public PayloadFieldIndex(JsonPath path, PayloadFieldSchema schema)
    {
        Path = path;
        Schema = schema;
        Tokenizer = schema.Type == PayloadSchemaType.Text ? TextTokenizer.For(schema.Params?.Text) : null;
    }

    public JsonPath Path { get; }

    public PayloadFieldSchema Schema { get; }

    /// <summary>The full-text tokenizer (text indexes only).</summary>
    public TextTokenizer? Tokenizer { get; }

    /// <summary>Offsets whose payload had a value of the indexed type when last written.</summary>
    public Bitmap HasValue { get; } = new();

    /// <summary>Offsets indexed more than once (their payload changed), whose older entries may be stale.</summary>
    public Bitmap Rewritten { get; } = new();

    /// <summary>
    /// Whether this index answers range conditions and <c>order_by</c>: integer (unless created with
    /// <c>"range": false</c>), float and datetime, as in Qdrant.
    /// </summary>
    public bool SupportsRange => Schema.Type switch
    {
        PayloadSchemaType.Float or PayloadSchemaType.Datetime => true,
        PayloadSchemaType.Integer => Schema.Params?.Range != false,
        _ => false,
    };

    /// <summary>Indexes the payload of <paramref name="offset"/> (call again after its payload changed).</summary>
    public void Add(int offset, PointPayload? payload)
    {
        if (added.Get(offset))
        {
            Rewritten.Set(offset);
        }
        else
        {
            added.Set(offset);
        }

        HasValue.EnsureCapacity(offset + 1);
        HasValue.Clear(offset);
        if (payload is null || payload.IsEmpty)
        {
            return;
        }

        var values = new List<JsonElement>();
        Path.CollectValues(payload.Root, values);
        foreach (var value in values)
        {
            if (value.ValueKind == JsonValueKind.Array)
            {
                foreach (var item in value.EnumerateArray())
                {
                    AddValue(offset, item);
                }
            }
            else
            {
                AddValue(offset, value);
            }
        }
    }

    private void AddValue(int offset, JsonElement value)
    {
        switch (Schema.Type)
        {
            case PayloadSchemaType.Keyword when value.ValueKind == JsonValueKind.String:
                Post("s:" + value.GetString(), offset);
                break;
            case PayloadSchemaType.Uuid when value.ValueKind == JsonValueKind.String && Guid.TryParse(value.GetString(), out var guid):
                Post("s:" + guid.ToString("D"), offset);
                break;
            case PayloadSchemaType.Bool when value.ValueKind is JsonValueKind.True or JsonValueKind.False:
                Post(value.ValueKind == JsonValueKind.True ? "b:1" : "b:0", offset);
                break;
            case PayloadSchemaType.Integer when value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var integer):
                Post("i:" + integer.ToString(CultureInfo.InvariantCulture), offset);
                AddNumber(integer, offset);
                break;
            case PayloadSchemaType.Integer when value.ValueKind == JsonValueKind.Number:
                numbersIncomplete = true;
                break;
            case PayloadSchemaType.Float or PayloadSchemaType.Datetime when TryNumber(value, out var number):
                AddNumber(number, offset);
                break;
            case PayloadSchemaType.Text when value.ValueKind == JsonValueKind.String:
                tokenScratch.Clear();
                Tokenizer!.TokenizeDocument(value.GetString()!, tokenScratch);
                foreach (var token in tokenScratch)
                {
                    Post(tokens, token, offset);
                }

                HasValue.Set(offset);
                break;
            case PayloadSchemaType.Geo when value.ValueKind == JsonValueKind.Object:
                // Stored for the schema and its counts; filters on these fields are evaluated point by point.
                HasValue.Set(offset);
                break;
        }
    }

    private void Post(string key, int offset) => Post(exact, key, offset);

    private void Post(Dictionary<string, List<int>> postings, string key, int offset)
    {
        if (!postings.TryGetValue(key, out var list))
        {
            postings[key] = list = [];
        }

        if (list.Count == 0 || list[^1] != offset)
        {
            list.Add(offset);
        }

        HasValue.Set(offset);
    }

    private void AddNumber(double value, int offset)
    {
        numbers.Add((value, offset));
        HasValue.Set(offset);
    }

    /// <summary>
    /// Offsets that may match <paramref name="condition"/> (a superset: stale entries included, order arbitrary),
    /// or null when this index cannot answer the condition.
    /// </summary>
    public List<int>? Candidates(FieldCondition condition)
    {
        if (condition.Match is { } match)
        {
            return MatchCandidates(match);
        }

        // A range matches any number, so an integer index answers it only while it has filed every number it saw.
        if (condition.Range is { } range && (Schema.Type == PayloadSchemaType.Float || (Schema.Type == PayloadSchemaType.Integer && !numbersIncomplete)))
        {
            return RangeCandidates(range.Gt ?? range.Gte, range.Lt ?? range.Lte);
        }

        if (condition.DatetimeRange is { } dates && Schema.Type == PayloadSchemaType.Datetime)
        {
            return RangeCandidates(ToMicroseconds(dates.Gt ?? dates.Gte), ToMicroseconds(dates.Lt ?? dates.Lte));
        }

        return null;
    }

    /// <summary>
    /// Whether <see cref="Candidates"/> answers <paramref name="condition"/> exactly for every offset not in
    /// <see cref="Rewritten"/>: a plain <c>match</c> (a value, or <c>any</c> of values) on a keyword, integer or bool
    /// index, the only facet of its condition. The index files a value exactly when <see cref="FilterEvaluator"/>
    /// would compare it to the condition's (a string for a keyword, a number read as an <c>Int64</c> for an integer,
    /// a JSON boolean), reached by the same path and with arrays flattened one level as the evaluator does; so for
    /// such a condition an offset is in the postings exactly when its payload (when last indexed) matches. UUID
    /// indexes are not exact (they normalise the text the evaluator compares as written), nor text, range or geo.
    /// </summary>
    public bool AnswersExactly(FieldCondition condition)
    {
        if (condition.Match is not { } match || condition.Range is not null || condition.DatetimeRange is not null || condition.ValuesCount is not null
            || condition.Geo is not null || condition.IsEmpty is not null || condition.IsNull is not null || Tokenizer is not null)
        {
            return false;
        }

        return (match.Kind, Schema.Type) switch
        {
            (MatchKind.Value, PayloadSchemaType.Keyword) => match.Value is { Keyword: not null, Integer: null, Boolean: null },
            (MatchKind.Value, PayloadSchemaType.Integer) => match.Value is { Keyword: null, Integer: not null, Boolean: null },
            (MatchKind.Value, PayloadSchemaType.Bool) => match.Value is { Keyword: null, Integer: null, Boolean: not null },
            (MatchKind.Any, PayloadSchemaType.Keyword) => match.Keywords is not null && match.Integers is not { Count: > 0 },
            (MatchKind.Any, PayloadSchemaType.Integer) => match.Integers is not null && match.Keywords is not { Count: > 0 },
            _ => false,
        };
    }

    private List<int>? MatchCandidates(MatchCondition match)
    {
        if (Tokenizer is not null)
        {
            return match.IsFullText ? TextCandidates(match.TextQueryFor(Tokenizer)) : null;
        }

        var keys = new List<string>();
        switch (match.Kind)
        {
            case MatchKind.Value when match.Value.Keyword is { } keyword && Schema.Type is PayloadSchemaType.Keyword:
                keys.Add("s:" + keyword);
                break;
            case MatchKind.Value when match.Value.Keyword is { } text && Schema.Type is PayloadSchemaType.Uuid && Guid.TryParse(text, out var guid):
                keys.Add("s:" + guid.ToString("D"));
                break;
            case MatchKind.Value when match.Value.Integer is { } integer && Schema.Type is PayloadSchemaType.Integer:
                keys.Add("i:" + integer.ToString(CultureInfo.InvariantCulture));
                break;
            case MatchKind.Value when match.Value.Boolean is { } boolean && Schema.Type is PayloadSchemaType.Bool:
                keys.Add(boolean ? "b:1" : "b:0");
                break;
            case MatchKind.Any when match.Keywords is { } keywords && Schema.Type is PayloadSchemaType.Keyword:
                foreach (var keyword in keywords)
                {
                    keys.Add("s:" + keyword);
                }

                break;
            case MatchKind.Any when match.Integers is { } integers && Schema.Type is PayloadSchemaType.Integer:
                foreach (var integer in integers)
                {
                    keys.Add("i:" + integer.ToString(CultureInfo.InvariantCulture));
                }

                break;
            default:
                return null;
        }

        var result = new List<int>();
        foreach (var key in keys)
        {
            if (exact.TryGetValue(key, out var list))
            {
                result.AddRange(list);
            }
        }

        return result;
    }

    /// <summary>
    /// <c>text_any</c>: the union of the tokens' postings; <c>text</c> and <c>phrase</c>: their intersection (empty when
    /// a token is in no document). A query without tokens matches nothing.
    /// </summary>
    private List<int> TextCandidates(ParsedTextQuery query)
    {
        if (query.Tokens.Length == 0)
        {
            return [];
        }

        if (query.Kind == MatchKind.TextAny)
        {
            var union = new List<int>();
            foreach (var token in query.Tokens)
            {
                if (tokens.TryGetValue(token, out var list))
                {
                    union.AddRange(list);
                }
            }

            return union;
        }

        var lists = new List<int>[query.Tokens.Length];
        for (var i = 0; i < lists.Length; i++)
        {
            if (!tokens.TryGetValue(query.Tokens[i], out var list))
            {
                return [];
            }

            lists[i] = list;
        }

        Array.Sort(lists, static (a, b) => a.Count.CompareTo(b.Count));
        if (lists.Length == 1)
        {
            return [.. lists[0]];
        }

        var common = new HashSet<int>(lists[0]);
        for (var i = 1; i < lists.Length && common.Count > 0; i++)
        {
            common.IntersectWith(lists[i]);
        }

        return [.. common];
    }

    private List<int> RangeCandidates(double? from, double? to)
    {
        var snapshot = Sorted(out var count);
        var lo = from is { } f ? LowerBound(snapshot, count, f, inclusive: true) : 0;
        var result = new List<int>();
        for (var i = lo; i < count && (to is not { } t || snapshot[i].Value <= t); i++)
        {
            result.Add(snapshot[i].Offset);
        }

        return result;
    }

    /// <summary>Datetimes as microseconds since the Unix epoch (Qdrant's datetime index and <c>order_value</c>).</summary>
    public static double ToMicroseconds(DateTimeOffset at) => (at.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;

    private static double? ToMicroseconds(DateTimeOffset? at) => at is { } value ? ToMicroseconds(value) : null;

    /// <summary>
    /// The number this index files <paramref name="value"/> under (a range index: integer, float, datetime in
    /// microseconds), or false when the value is not of the indexed type.
    /// </summary>
    public bool TryNumber(JsonElement value, out double number)
    {
        number = 0;
        switch (Schema.Type)
        {
            case PayloadSchemaType.Integer when value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var integer):
                number = integer;
                return true;
            case PayloadSchemaType.Float when value.ValueKind == JsonValueKind.Number:
                number = value.GetDouble();
                return true;
            case PayloadSchemaType.Datetime when value.ValueKind == JsonValueKind.String && FilterEvaluator.TryParseDatetime(value.GetString()!, out var at):
                number = ToMicroseconds(at);
                return true;
            default:
                return false;
        }
    }

    /// <summary>The distinct numbers this index files the payload <paramref name="root"/> under, in no particular order.</summary>
    public void CollectNumbers(JsonElement root, List<JsonElement> scratch, List<double> output)
    {
        scratch.Clear();
        Path.CollectValues(root, scratch);
        foreach (var value in scratch)
        {
            if (value.ValueKind == JsonValueKind.Array)
            {
                foreach (var item in value.EnumerateArray())
                {
                    AddDistinct(item, output);
                }
            }
            else
            {
                AddDistinct(value, output);
            }
        }
    }

    private void AddDistinct(JsonElement value, List<double> output)
    {
        if (TryNumber(value, out var number) && !output.Contains(number))
        {
            output.Add(number);
        }
    }

    /// <summary>
    /// Every (number, offset) entry sorted by number, then offset; a snapshot (entries appended later are not in it).
    /// Includes stale entries: skip dead offsets, and check a <see cref="Rewritten"/> offset's current numbers.
    /// </summary>
    internal (double Value, int Offset)[] SortedEntries(out int count) => Sorted(out count);

    internal static int LowerBound((double Value, int Offset)[] items, int count, double value, bool inclusive)
    {
        int lo = 0, hi = count;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (inclusive ? items[mid].Value < value : items[mid].Value <= value)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    private (double Value, int Offset)[] Sorted(out int count)
    {
        lock (sortLock)
        {
            if (sortedCount != numbers.Count)
            {
                sorted = [.. numbers];
                Array.Sort(sorted, static (a, b) => a.Value != b.Value ? a.Value.CompareTo(b.Value) : a.Offset.CompareTo(b.Offset));
                sortedCount = sorted.Length;
            }

            count = sortedCount;
            return sorted;
        }
    }
}
