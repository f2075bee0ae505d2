using Vectorizer.Engine.Payload;
using Vectorizer.Engine.Points;

namespace Vectorizer.Engine.Filters;

/// <summary>A boolean filter over points, as in Qdrant: every clause that is present must hold.</summary>
public sealed class Filter
{
    public IReadOnlyList<Condition>? Must { get; init; }

    public IReadOnlyList<Condition>? Should { get; init; }

    public IReadOnlyList<Condition>? MustNot { get; init; }

    public MinShould? MinShould { get; init; }

    /// <summary>
    /// True when the filter keeps every point. An empty <c>should</c> list is not empty: as in Qdrant, "at least one of
    /// no conditions" holds for no point (an absent <c>should</c> holds for all).
    /// </summary>
    public bool IsEmpty => Must is null or { Count: 0 } && Should is null && MustNot is null or { Count: 0 } && MinShould is null;
}

/// <summary>At least <see cref="MinCount"/> of <see cref="Conditions"/> must hold.</summary>
public sealed record MinShould(IReadOnlyList<Condition> Conditions, int MinCount);

/// <summary>One condition of a filter.</summary>
public abstract class Condition
{
}

/// <summary>A nested filter used as a condition.</summary>
public sealed class FilterCondition(Filter filter) : Condition
{
    public Filter Filter { get; } = filter;
}

/// <summary>The point's id is one of <see cref="Ids"/>.</summary>
public sealed class HasIdCondition(HashSet<PointId> ids) : Condition
{
    public HashSet<PointId> Ids { get; } = ids;
}

/// <summary>The point has the named vector.</summary>
public sealed class HasVectorCondition(string vectorName) : Condition
{
    public string VectorName { get; } = vectorName;
}

/// <summary>The field is missing, null, or an empty array.</summary>
public sealed class IsEmptyCondition(JsonPath key) : Condition
{
    public JsonPath Key { get; } = key;
}

/// <summary>The field is present and null: a value the key reaches is null (<c>[null]</c> is an array, as in Qdrant).</summary>
public sealed class IsNullCondition(JsonPath key) : Condition
{
    public JsonPath Key { get; } = key;
}

/// <summary>Some object element of the array at <see cref="Key"/> satisfies the whole of <see cref="Filter"/>.</summary>
public sealed class NestedCondition(JsonPath key, Filter filter) : Condition
{
    public JsonPath Key { get; } = key;

    public Filter Filter { get; } = filter;
}

/// <summary>Conditions on the values of one payload field; all that are set must hold.</summary>
public sealed class FieldCondition(JsonPath key) : Condition
{
    public JsonPath Key { get; } = key;

    public MatchCondition? Match { get; init; }

    public NumericRange? Range { get; init; }

    public DatetimeRange? DatetimeRange { get; init; }

    public CountRange? ValuesCount { get; init; }

    public GeoShape? Geo { get; init; }

    public bool? IsEmpty { get; init; }

    public bool? IsNull { get; init; }

    /// <summary>
    /// One plain top-level key with only a <c>match</c> on a single value and/or a numeric <c>range</c>: the shape
    /// <see cref="FilterEvaluator"/> evaluates without its general machinery.
    /// </summary>
    internal bool IsSimple => simple ??= Key.Segments is [{ Kind: JsonPath.SegmentKind.Key }]
        && IsEmpty is null && IsNull is null && ValuesCount is null && DatetimeRange is null && Geo is null
        && (Match is null || Match.Kind == MatchKind.Value) && (Match is not null || Range is not null);

    private bool? simple;
}

/// <summary>The kinds of <c>match</c>.</summary>
public enum MatchKind
{
    /// <summary>Equal to a keyword, integer or boolean.</summary>
    Value,

    /// <summary>Equal to any of the listed keywords or integers.</summary>
    Any,

    /// <summary>Not equal to any of the listed keywords or integers.</summary>
    Except,

    /// <summary>Contains the text (substring without a full-text index).</summary>
    Text,

    /// <summary>Contains at least one word of the text.</summary>
    TextAny,

    /// <summary>Contains the phrase.</summary>
    Phrase,

    /// <summary>Starts with the text.</summary>
    Prefix,
}

/// <summary>A value a <c>match</c> compares with: a string, an integer or a boolean.</summary>
public readonly record struct MatchValue(string? Keyword, long? Integer, bool? Boolean)
{
    public static MatchValue Of(string value) => new(value, null, null);

    public static MatchValue Of(long value) => new(null, value, null);

    public static MatchValue Of(bool value) => new(null, null, value);
}

public sealed class MatchCondition
{
    public required MatchKind Kind { get; init; }

    /// <summary>For <see cref="MatchKind.Value"/>.</summary>
    public MatchValue Value { get; init; }

    /// <summary>For <see cref="MatchKind.Any"/> and <see cref="MatchKind.Except"/>.</summary>
    public HashSet<string>? Keywords { get; init; }

    /// <summary>For <see cref="MatchKind.Any"/> and <see cref="MatchKind.Except"/>.</summary>
    public HashSet<long>? Integers { get; init; }

    /// <summary>For the text kinds.</summary>
    public string? Text { get; init; }

    /// <summary>The UTF-8 bytes of <see cref="MatchValue.Keyword"/> (null when the value is not a keyword).</summary>
    internal byte[]? KeywordUtf8 => Value.Keyword is { } keyword ? keywordUtf8 ??= System.Text.Encoding.UTF8.GetBytes(keyword) : null;

    private byte[]? keywordUtf8;

    /// <summary>The text tokenized by the last full-text index it was evaluated with (benign race: any copy is correct).</summary>
    private ParsedTextQuery? parsedText;

    internal bool IsFullText => Kind is MatchKind.Text or MatchKind.TextAny or MatchKind.Phrase;

    /// <summary>The condition's text as <paramref name="tokenizer"/> tokenizes it, parsed once per tokenizer.</summary>
    internal ParsedTextQuery TextQueryFor(TextTokenizer tokenizer)
    {
        var parsed = Volatile.Read(ref parsedText);
        if (parsed is null || parsed.Tokenizer != tokenizer)
        {
            parsed = new ParsedTextQuery(tokenizer, Kind, Text ?? "");
            Volatile.Write(ref parsedText, parsed);
        }

        return parsed;
    }
}

public sealed record NumericRange(double? Gt, double? Gte, double? Lt, double? Lte)
{
    public bool Contains(double v) =>
        (Gt is not { } gt || v > gt) && (Gte is not { } gte || v >= gte) &&
        (Lt is not { } lt || v < lt) && (Lte is not { } lte || v <= lte);
}

public sealed record DatetimeRange(DateTimeOffset? Gt, DateTimeOffset? Gte, DateTimeOffset? Lt, DateTimeOffset? Lte)
{
    public bool Contains(DateTimeOffset v) =>
        (Gt is not { } gt || v > gt) && (Gte is not { } gte || v >= gte) &&
        (Lt is not { } lt || v < lt) && (Lte is not { } lte || v <= lte);
}

public sealed record CountRange(long? Gt, long? Gte, long? Lt, long? Lte)
{
    public bool Contains(long v) =>
        (Gt is not { } gt || v > gt) && (Gte is not { } gte || v >= gte) &&
        (Lt is not { } lt || v < lt) && (Lte is not { } lte || v <= lte);
}

/// <summary>A geographic area: a circle, a box or a polygon.</summary>
public abstract record GeoShape
{
    public abstract bool Contains(double lat, double lon);
}

public sealed record GeoRadius(double Lat, double Lon, double RadiusMeters) : GeoShape
{
    public override bool Contains(double lat, double lon) => GeoMath.HaversineMeters(Lat, Lon, lat, lon) <= RadiusMeters;
}

public sealed record GeoBoundingBox(double TopLeftLat, double TopLeftLon, double BottomRightLat, double BottomRightLon) : GeoShape
{
    public override bool Contains(double lat, double lon)
    {
        if (lat > TopLeftLat || lat < BottomRightLat)
        {
            return false;
        }

        // A box may cross the antimeridian (top-left lon greater than bottom-right lon).
        return TopLeftLon <= BottomRightLon
            ? lon >= TopLeftLon && lon <= BottomRightLon
            : lon >= TopLeftLon || lon <= BottomRightLon;
    }
}

public sealed record GeoPolygon(IReadOnlyList<(double Lat, double Lon)> Exterior, IReadOnlyList<IReadOnlyList<(double Lat, double Lon)>> Interiors) : GeoShape
{
    public override bool Contains(double lat, double lon)
    {
        if (!GeoMath.InRing(Exterior, lat, lon))
        {
            return false;
        }

        foreach (var hole in Interiors)
        {
            if (GeoMath.InRing(hole, lat, lon))
            {
                return false;
            }
        }

        return true;
    }
}

public static class GeoMath
{
    private const double EarthRadiusMeters = 6371008.8;

    public static double HaversineMeters(double lat1, double lon1, double lat2, double lon2)
    {
        static double Rad(double d) => d * Math.PI / 180.0;
        var dLat = Rad(lat2 - lat1);
        var dLon = Rad(lon2 - lon1);
        var a = (Math.Sin(dLat / 2) * Math.Sin(dLat / 2)) +
                (Math.Cos(Rad(lat1)) * Math.Cos(Rad(lat2)) * Math.Sin(dLon / 2) * Math.Sin(dLon / 2));
        return 2 * EarthRadiusMeters * Math.Asin(Math.Min(1, Math.Sqrt(a)));
    }

    /// <summary>Even-odd ray casting on (lon, lat) as planar coordinates.</summary>
    public static bool InRing(IReadOnlyList<(double Lat, double Lon)> ring, double lat, double lon)
    {
        var inside = false;
        for (int i = 0, j = ring.Count - 1; i < ring.Count; j = i++)
        {
            var (yi, xi) = ring[i];
            var (yj, xj) = ring[j];
            if (((yi > lat) != (yj > lat)) && (lon < ((xj - xi) * (lat - yi) / (yj - yi)) + xi))
            {
                inside = !inside;
            }
        }

        return inside;
    }
}
