using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Filters;
using Vectorizer.Engine.Points;
using P = Vectorizer.Server.Grpc.Protos;

namespace Vectorizer.Server.Grpc;

/// <summary>Qdrant's gRPC <c>Filter</c> to the engine's <see cref="Filter"/> (the same rules as the REST parser).</summary>
internal static class ProtoFilters
{
    /// <summary>Null for an absent or empty filter.</summary>
    public static Filter? Optional(P.Filter? filter)
    {
        if (filter is null)
        {
            return null;
        }

        var parsed = Parse(filter, 0);
        return parsed.IsEmpty ? null : parsed;
    }

    private static Filter Parse(P.Filter filter, int depth)
    {
        if (depth > 64)
        {
            throw VectorizerException.BadRequest("filter nests deeper than 64 levels");
        }

        return new Filter
        {
            Must = Conditions(filter.Must, depth),
            Should = Conditions(filter.Should, depth),
            MustNot = Conditions(filter.MustNot, depth),
            MinShould = filter.MinShould is { } min
                ? new MinShould(Conditions(min.Conditions, depth) ?? [], min.MinCount is >= 1 and <= int.MaxValue
                    ? (int)min.MinCount
                    : throw VectorizerException.Validation("min_should.min_count: value must be 1 or larger"))
                : null,
        };
    }

    private static IReadOnlyList<Condition>? Conditions(IReadOnlyList<P.Condition> conditions, int depth)
    {
        if (conditions.Count == 0)
        {
            return null;
        }

        var list = new List<Condition>(conditions.Count);
        foreach (var condition in conditions)
        {
            list.Add(Condition(condition, depth));
        }

        return list;
    }

    private static Condition Condition(P.Condition condition, int depth) => condition.ConditionOneOfCase switch
    {
        P.Condition.ConditionOneOfOneofCase.Field => Field(condition.Field),
        P.Condition.ConditionOneOfOneofCase.IsEmpty => new IsEmptyCondition(ProtoValues.Key(condition.IsEmpty.Key)),
        P.Condition.ConditionOneOfOneofCase.IsNull => new IsNullCondition(ProtoValues.Key(condition.IsNull.Key)),
        P.Condition.ConditionOneOfOneofCase.HasId => new HasIdCondition([.. ProtoValues.Ids(condition.HasId.HasId)]),
        P.Condition.ConditionOneOfOneofCase.Filter => new FilterCondition(Parse(condition.Filter, depth + 1)),
        P.Condition.ConditionOneOfOneofCase.Nested => new NestedCondition(
            ProtoValues.Key(condition.Nested.Key),
            Parse(condition.Nested.Filter ?? throw VectorizerException.BadRequest("nested: filter is required"), depth + 1)),
        P.Condition.ConditionOneOfOneofCase.HasVector => new HasVectorCondition(condition.HasVector.HasVector),
        P.Condition.ConditionOneOfOneofCase.Slice => throw VectorizerException.BadRequest("the `slice` condition is not supported"),
        _ => throw VectorizerException.BadRequest("a filter condition must have one of field, is_empty, has_id, filter, is_null, nested, has_vector"),
    };

    private static FieldCondition Field(P.FieldCondition field)
    {
        var condition = new FieldCondition(ProtoValues.Key(field.Key))
        {
            Match = field.Match is { } match ? Match(match) : null,
            Range = field.Range is { } range ? new NumericRange(
                range.HasGt ? range.Gt : null, range.HasGte ? range.Gte : null, range.HasLt ? range.Lt : null, range.HasLte ? range.Lte : null) : null,
            DatetimeRange = field.DatetimeRange is { } dates ? new DatetimeRange(
                dates.Gt?.ToDateTimeOffset(), dates.Gte?.ToDateTimeOffset(), dates.Lt?.ToDateTimeOffset(), dates.Lte?.ToDateTimeOffset()) : null,
            ValuesCount = field.ValuesCount is { } count ? new CountRange(
                Count(count.HasGt, count.Gt), Count(count.HasGte, count.Gte), Count(count.HasLt, count.Lt), Count(count.HasLte, count.Lte)) : null,
            Geo = Geo(field),
            IsEmpty = field.HasIsEmpty ? field.IsEmpty : null,
            IsNull = field.HasIsNull ? field.IsNull : null,
        };
        if (condition.Match is null && condition.Range is null && condition.DatetimeRange is null && condition.ValuesCount is null &&
            condition.Geo is null && condition.IsEmpty is null && condition.IsNull is null)
        {
            throw VectorizerException.Validation($"field condition on `{field.Key}`: at least one field condition must be specified");
        }

        return condition;
    }

    private static long? Count(bool has, ulong value) => has ? (long)Math.Min(value, long.MaxValue) : null;

    private static MatchCondition Match(P.Match match) => match.MatchValueCase switch
    {
        P.Match.MatchValueOneofCase.Keyword => new MatchCondition { Kind = MatchKind.Value, Value = MatchValue.Of(match.Keyword) },
        P.Match.MatchValueOneofCase.Integer => new MatchCondition { Kind = MatchKind.Value, Value = MatchValue.Of(match.Integer) },
        P.Match.MatchValueOneofCase.Boolean => new MatchCondition { Kind = MatchKind.Value, Value = MatchValue.Of(match.Boolean) },
        P.Match.MatchValueOneofCase.Text => new MatchCondition { Kind = MatchKind.Text, Text = match.Text },
        P.Match.MatchValueOneofCase.TextAny => new MatchCondition { Kind = MatchKind.TextAny, Text = match.TextAny },
        P.Match.MatchValueOneofCase.Phrase => new MatchCondition { Kind = MatchKind.Phrase, Text = match.Phrase },
        P.Match.MatchValueOneofCase.Prefix => new MatchCondition { Kind = MatchKind.Prefix, Text = match.Prefix },
        P.Match.MatchValueOneofCase.Keywords => new MatchCondition { Kind = MatchKind.Any, Keywords = [.. match.Keywords.Strings], Integers = [] },
        P.Match.MatchValueOneofCase.Integers => new MatchCondition { Kind = MatchKind.Any, Integers = [.. match.Integers.Integers], Keywords = [] },
        P.Match.MatchValueOneofCase.ExceptKeywords => new MatchCondition { Kind = MatchKind.Except, Keywords = [.. match.ExceptKeywords.Strings], Integers = [] },
        P.Match.MatchValueOneofCase.ExceptIntegers => new MatchCondition { Kind = MatchKind.Except, Integers = [.. match.ExceptIntegers.Integers], Keywords = [] },
        _ => throw VectorizerException.BadRequest("match: expected one of keyword, integer, boolean, text, keywords, integers, except_keywords, except_integers, phrase, text_any, prefix"),
    };

    private static GeoShape? Geo(P.FieldCondition field)
    {
        if (field.GeoRadius is { } radius)
        {
            var (lat, lon) = Point(radius.Center);
            return new GeoRadius(lat, lon, radius.Radius);
        }

        if (field.GeoBoundingBox is { } box)
        {
            var (topLat, leftLon) = Point(box.TopLeft);
            var (bottomLat, rightLon) = Point(box.BottomRight);
            return new GeoBoundingBox(topLat, leftLon, bottomLat, rightLon);
        }

        if (field.GeoPolygon is { } polygon)
        {
            return new GeoPolygon(Ring(polygon.Exterior), [.. polygon.Interiors.Select(Ring)]);
        }

        return null;
    }

    private static List<(double Lat, double Lon)> Ring(P.GeoLineString? ring)
    {
        var points = ring?.Points.Select(Point).ToList() ?? [];
        return points.Count >= 4 ? points : throw VectorizerException.Validation("geo_polygon: a polygon ring needs at least 4 points (first and last equal)");
    }

    private static (double Lat, double Lon) Point(P.GeoPoint? point)
    {
        if (point is null)
        {
            throw VectorizerException.BadRequest("a geo point is required");
        }

        return point.Lat is < -90 or > 90 || point.Lon is < -180 or > 180
            ? throw VectorizerException.Validation("latitude must be within [-90, 90] and longitude within [-180, 180]")
            : (point.Lat, point.Lon);
    }
}
