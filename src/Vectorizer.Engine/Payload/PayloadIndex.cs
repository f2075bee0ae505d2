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

/// <summary>An indexed field's schema: its type and, for the object form, the parameters as the client gave them.</summary>
public sealed record PayloadFieldSchema(PayloadSchemaType Type, JsonElement? Params = null)
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
/// An index over one payload field: exact values (keyword, integer, bool, uuid) map to posting lists, numbers
/// (integer, float, datetime) to a lazily sorted list for ranges. Append-only: entries of tombstoned offsets and of
/// overwritten payloads stay behind, so every candidate it yields is re-checked against the full filter; vacuum
/// rebuilds it. Mutated under the collection's write lock; the lazy sort runs under a private lock.
/// </summary>
public sealed class PayloadFieldIndex
{
    private readonly Dictionary<string, List<int>> exact = new(StringComparer.Ordinal);
    private readonly List<(double Value, int Offset)> numbers = [];
    private readonly object sortLock = new();
    private (double Value, int Offset)[] sorted = [];
    private int sortedCount;

    public PayloadFieldIndex(JsonPath path, PayloadFieldSchema schema)
    {
        Path = path;
        Schema = schema;
    }

    public JsonPath Path { get; }

    public PayloadFieldSchema Schema { get; }

    /// <summary>Offsets whose payload had a value of the indexed type when last written.</summary>
    public Bitmap HasValue { get; } = new();

    /// <summary>Indexes the payload of <paramref name="offset"/> (call again after its payload changed).</summary>
    public void Add(int offset, PointPayload? payload)
    {
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
            case PayloadSchemaType.Float when value.ValueKind == JsonValueKind.Number:
                AddNumber(value.GetDouble(), offset);
                break;
            case PayloadSchemaType.Datetime when value.ValueKind == JsonValueKind.String && FilterEvaluator.TryParseDatetime(value.GetString()!, out var datetime):
                AddNumber(datetime.ToUnixTimeMilliseconds(), offset);
                break;
            case PayloadSchemaType.Text when value.ValueKind == JsonValueKind.String:
            case PayloadSchemaType.Geo when value.ValueKind == JsonValueKind.Object:
                // Stored for the schema and its counts; filters on these fields are evaluated point by point.
                HasValue.Set(offset);
                break;
        }
    }

    private void Post(string key, int offset)
    {
        if (!exact.TryGetValue(key, out var list))
        {
            exact[key] = list = [];
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

        if (condition.Range is { } range && Schema.Type is PayloadSchemaType.Integer or PayloadSchemaType.Float)
        {
            return RangeCandidates(range.Gt ?? range.Gte, range.Lt ?? range.Lte);
        }

        if (condition.DatetimeRange is { } dates && Schema.Type == PayloadSchemaType.Datetime)
        {
            return RangeCandidates((dates.Gt ?? dates.Gte)?.ToUnixTimeMilliseconds(), (dates.Lt ?? dates.Lte)?.ToUnixTimeMilliseconds());
        }

        return null;
    }

    private List<int>? MatchCandidates(MatchCondition match)
    {
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

    private List<int> RangeCandidates(double? from, double? to)
    {
        var snapshot = Sorted(out var count);
        var lo = from is { } f ? LowerBound(snapshot, count, f) : 0;
        var result = new List<int>();
        for (var i = lo; i < count && (to is not { } t || snapshot[i].Value <= t); i++)
        {
            result.Add(snapshot[i].Offset);
        }

        return result;
    }

    private (double Value, int Offset)[] Sorted(out int count)
    {
        lock (sortLock)
        {
            if (sortedCount != numbers.Count)
            {
                sorted = [.. numbers];
                Array.Sort(sorted, (a, b) => a.Value.CompareTo(b.Value));
                sortedCount = sorted.Length;
            }

            count = sortedCount;
            return sorted;
        }
    }

    private static int LowerBound((double Value, int Offset)[] items, int count, double value)
    {
        int lo = 0, hi = count;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (items[mid].Value < value)
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
}
