using System.Text.Json;
using Vectorizer.Engine.Filters;
using Vectorizer.Engine.Payload;
using Vectorizer.Engine.Points;

namespace Vectorizer.Server.Api.Qdrant.Json;

/// <summary>Parses Qdrant's <c>Filter</c> and its conditions.</summary>
internal static class FilterJson
{
    private static readonly string[] FilterFields = ["should", "min_should", "must", "must_not"];

    public static Filter? ParseOptional(JsonInput parent, string name) =>
        parent.TryGet(name, out var value) ? Parse(value) : null;

    public static Filter Parse(JsonInput input)
    {
        input.ExpectObject();
        input.DenyUnknown(FilterFields);
        return new Filter
        {
            Must = Conditions(input, "must"),
            // `should: []` matches no point in Qdrant ("any" of no conditions); `must: []` and `must_not: []` match all.
            Should = input.TryGet("should", out var should) ? Conditions(should) ?? [] : null,
            MustNot = Conditions(input, "must_not"),
            MinShould = input.TryGet("min_should", out var minShould) ? ParseMinShould(minShould) : null,
        };
    }

    private static MinShould ParseMinShould(JsonInput input)
    {
        input.ExpectObject();
        var conditions = Conditions(input.Required("conditions")) ?? [];
        var minCount = input.Required("min_count").AsInt(min: 1);
        return new MinShould(conditions, minCount);
    }

    /// <summary>Qdrant accepts a single condition or an array; an empty array gives null (no constraint, except for <c>should</c>).</summary>
    private static IReadOnlyList<Condition>? Conditions(JsonInput parent, string name) =>
        parent.TryGet(name, out var value) ? Conditions(value) : null;

    private static IReadOnlyList<Condition>? Conditions(JsonInput value)
    {
        if (value.Kind == JsonValueKind.Object)
        {
            return [ParseCondition(value)];
        }

        var list = new List<Condition>();
        foreach (var item in value.Items())
        {
            list.Add(ParseCondition(item));
        }

        return list.Count == 0 ? null : list;
    }

    public static Condition ParseCondition(JsonInput input)
    {
        if (input.Kind != JsonValueKind.Object)
        {
            throw input.Error("Expected some form of condition, which can be a field condition (like {\"key\": ..., \"match\": ... }), or some other mentioned in the documentation: https://qdrant.tech/documentation/concepts/filtering/#filtering-conditions");
        }

        if (input.Has("key"))
        {
            return ParseFieldCondition(input);
        }

        if (input.TryGet("is_empty", out var isEmpty))
        {
            return new IsEmptyCondition(Key(isEmpty.ExpectObject().Required("key")));
        }

        if (input.TryGet("is_null", out var isNull))
        {
            return new IsNullCondition(Key(isNull.ExpectObject().Required("key")));
        }

        if (input.TryGet("has_id", out var hasId))
        {
            var ids = new HashSet<PointId>();
            foreach (var item in hasId.Items())
            {
                ids.Add(PointJson.ParseId(item));
            }

            return new HasIdCondition(ids);
        }

        if (input.TryGet("has_vector", out var hasVector))
        {
            return new HasVectorCondition(hasVector.AsString());
        }

        if (input.TryGet("nested", out var nested))
        {
            nested.ExpectObject();
            return new NestedCondition(Key(nested.Required("key")), Parse(nested.Required("filter")));
        }

        foreach (var field in FilterFields)
        {
            if (input.Element.TryGetProperty(field, out _))
            {
                return new FilterCondition(Parse(input));
            }
        }

        if (input.Element.EnumerateObject().MoveNext())
        {
            throw input.Error("Expected some form of condition, which can be a field condition (like {\"key\": ..., \"match\": ... }), or some other mentioned in the documentation: https://qdrant.tech/documentation/concepts/filtering/#filtering-conditions");
        }

        // An empty object is an empty filter: it matches everything.
        return new FilterCondition(new Filter());
    }

    private static JsonPath Key(JsonInput input)
    {
        var text = input.AsString();
        return JsonPath.TryParse(text, out var path, out var error) ? path : throw input.Error($"invalid payload key `{text}`: {error}");
    }

    private static FieldCondition ParseFieldCondition(JsonInput input)
    {
        var key = Key(input.Required("key"));
        var condition = new FieldCondition(key)
        {
            Match = input.TryGet("match", out var match) ? ParseMatch(match) : null,
            Range = input.TryGet("range", out var range) && !IsDatetimeRange(range) ? ParseRange(range) : null,
            DatetimeRange = input.TryGet("range", out var dateRange) && IsDatetimeRange(dateRange) ? ParseDatetimeRange(dateRange) : null,
            ValuesCount = input.TryGet("values_count", out var count) ? ParseCount(count) : null,
            Geo = ParseGeo(input),
            IsEmpty = input.TryGet("is_empty", out var isEmpty) ? isEmpty.AsBool() : null,
            IsNull = input.TryGet("is_null", out var isNull) ? isNull.AsBool() : null,
        };
        if (condition.Match is null && condition.Range is null && condition.DatetimeRange is null && condition.ValuesCount is null &&
            condition.Geo is null && condition.IsEmpty is null && condition.IsNull is null)
        {
            throw input.Invalid("At least one field condition must be specified");
        }

        return condition;
    }

    private static MatchCondition ParseMatch(JsonInput input)
    {
        input.ExpectObject();
        if (input.TryGet("value", out var value))
        {
            return new MatchCondition { Kind = MatchKind.Value, Value = ParseValue(value) };
        }

        if (input.TryGet("any", out var any))
        {
            return ParseSet(MatchKind.Any, any);
        }

        if (input.TryGet("except", out var except))
        {
            return ParseSet(MatchKind.Except, except);
        }

        foreach (var (field, kind) in new[] { ("text", MatchKind.Text), ("text_any", MatchKind.TextAny), ("phrase", MatchKind.Phrase), ("prefix", MatchKind.Prefix) })
        {
            if (input.TryGet(field, out var text))
            {
                return new MatchCondition { Kind = kind, Text = text.AsString() };
            }
        }

        throw input.Error("expected one of `value`, `any`, `except`, `text`, `text_any`, `phrase`, `prefix`");
    }

    private static MatchValue ParseValue(JsonInput input) => input.Kind switch
    {
        JsonValueKind.String => MatchValue.Of(input.AsString()),
        JsonValueKind.True or JsonValueKind.False => MatchValue.Of(input.AsBool()),
        JsonValueKind.Number when input.Element.TryGetInt64(out var integer) => MatchValue.Of(integer),
        _ => throw input.Error($"invalid type: {JsonInput.Describe(input.Element)}, expected a string, an integer or a boolean"),
    };

    private static MatchCondition ParseSet(MatchKind kind, JsonInput input)
    {
        var keywords = new HashSet<string>(StringComparer.Ordinal);
        var integers = new HashSet<long>();
        foreach (var item in input.Items())
        {
            if (item.Kind == JsonValueKind.String)
            {
                keywords.Add(item.AsString());
            }
            else
            {
                integers.Add(item.AsLong());
            }
        }

        if (keywords.Count > 0 && integers.Count > 0)
        {
            throw input.Error("expected an array of strings or an array of integers, not both");
        }

        return new MatchCondition { Kind = kind, Keywords = keywords, Integers = integers };
    }

    private static bool IsDatetimeRange(JsonInput input)
    {
        foreach (var bound in new[] { "gt", "gte", "lt", "lte" })
        {
            if (input.TryGet(bound, out var value) && value.Kind == JsonValueKind.String)
            {
                return true;
            }
        }

        return false;
    }

    private static NumericRange ParseRange(JsonInput input)
    {
        input.ExpectObject();
        double? Bound(string name) => input.TryGet(name, out var value) ? value.AsDouble() : null;
        return new NumericRange(Bound("gt"), Bound("gte"), Bound("lt"), Bound("lte"));
    }

    private static DatetimeRange ParseDatetimeRange(JsonInput input)
    {
        input.ExpectObject();
        DateTimeOffset? Bound(string name)
        {
            if (!input.TryGet(name, out var value))
            {
                return null;
            }

            var text = value.AsString();
            return FilterEvaluator.TryParseDatetime(text, out var at) ? at : throw value.Error($"invalid datetime `{text}`, expected RFC 3339");
        }

        return new DatetimeRange(Bound("gt"), Bound("gte"), Bound("lt"), Bound("lte"));
    }

    private static CountRange ParseCount(JsonInput input)
    {
        input.ExpectObject();
        long? Bound(string name) => input.TryGet(name, out var value) ? value.AsInt(min: 0) : null;
        return new CountRange(Bound("gt"), Bound("gte"), Bound("lt"), Bound("lte"));
    }

    private static GeoShape? ParseGeo(JsonInput input)
    {
        if (input.TryGet("geo_radius", out var radius))
        {
            var (lat, lon) = ParseGeoPoint(radius.Required("center"));
            return new GeoRadius(lat, lon, radius.Required("radius").AsDouble());
        }

        if (input.TryGet("geo_bounding_box", out var box))
        {
            var (topLat, leftLon) = ParseGeoPoint(box.Required("top_left"));
            var (bottomLat, rightLon) = ParseGeoPoint(box.Required("bottom_right"));
            return new GeoBoundingBox(topLat, leftLon, bottomLat, rightLon);
        }

        if (input.TryGet("geo_polygon", out var polygon))
        {
            var exterior = ParseRing(polygon.Required("exterior"));
            var interiors = new List<IReadOnlyList<(double, double)>>();
            if (polygon.TryGet("interiors", out var holes))
            {
                foreach (var hole in holes.Items())
                {
                    interiors.Add(ParseRing(hole));
                }
            }

            return new GeoPolygon(exterior, interiors);
        }

        return null;
    }

    private static List<(double Lat, double Lon)> ParseRing(JsonInput input)
    {
        var ring = new List<(double, double)>();
        foreach (var point in input.Required("points").Items())
        {
            ring.Add(ParseGeoPoint(point));
        }

        if (ring.Count < 4)
        {
            throw input.Invalid("a polygon ring needs at least 4 points (first and last equal)");
        }

        return ring;
    }

    private static (double Lat, double Lon) ParseGeoPoint(JsonInput input)
    {
        input.ExpectObject();
        var lat = input.Required("lat").AsDouble();
        var lon = input.Required("lon").AsDouble();
        if (lat is < -90 or > 90 || lon is < -180 or > 180)
        {
            throw input.Invalid("latitude must be within [-90, 90] and longitude within [-180, 180]");
        }

        return (lat, lon);
    }
}
