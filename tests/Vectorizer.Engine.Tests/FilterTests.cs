using System.Text;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Filters;
using Vectorizer.Engine.Operations;
using Vectorizer.Engine.Payload;
using Vectorizer.Engine.Points;

namespace Vectorizer.Engine.Tests;

public sealed class FilterTests : IDisposable
{
    private readonly TempDirectory dir = new();
    private readonly CollectionManager manager;
    private readonly Collection collection;

    public FilterTests()
    {
        manager = TestData.Open(dir.Path);
        collection = manager.Create("filters", TestData.Config(2, Vectors.Distance.Euclid));
        var payloads = new[]
        {
            /* 1 */ """{"city": "Berlin", "price": 10, "tags": ["a", "b"], "info": {"rating": 4.5}, "at": "2024-01-01T00:00:00Z"}""",
            /* 2 */ """{"city": "London", "price": 20.5, "tags": ["b"], "info": {"rating": 3}, "at": "2024-06-01T12:00:00Z"}""",
            /* 3 */ """{"city": null, "price": 30, "tags": [], "reviews": [{"user": "x", "score": 5}, {"user": "y", "score": 1}]}""",
            /* 4 */ """{"price": 40, "tags": [null], "reviews": [{"user": "x", "score": 1}, {"user": "y", "score": 5}], "text": "the quick brown fox"}""",
            /* 5 */ """{"city": ["Berlin", "Paris"], "price": [1, 100], "active": true, "loc": {"lat": 52.52, "lon": 13.405}}""",
        };
        var points = payloads.Select((p, i) => TestData.Point((ulong)(i + 1), [i, i], p)).ToList();
        collection.UpdateAsync(new UpsertOperation(points), wait: true).AsTask().GetAwaiter().GetResult();
    }

    public void Dispose()
    {
        manager.Dispose();
        dir.Dispose();
    }

    private static JsonPath K(string key) => JsonPath.Parse(key);

    private int[] Ids(Filter filter) =>
        collection.Scroll(new ScrollRequest { Filter = filter, Limit = 100 }).Points.Select(p => (int)p.Id.Number).ToArray();

    private static Filter Must(params Condition[] conditions) => new() { Must = conditions };

    private static FieldCondition MatchKeyword(string key, string value) =>
        new(K(key)) { Match = new MatchCondition { Kind = MatchKind.Value, Value = MatchValue.Of(value) } };

    [Fact]
    public void MatchValueChecksEveryArrayElement() => Assert.Equal([1, 5], Ids(Must(MatchKeyword("city", "Berlin"))));

    [Fact]
    public void MatchIntegerDoesNotMatchFloats()
    {
        var condition = new FieldCondition(K("price")) { Match = new MatchCondition { Kind = MatchKind.Value, Value = MatchValue.Of(20) } };
        Assert.Empty(Ids(Must(condition)));
    }

    [Fact]
    public void MatchAnyAndExcept()
    {
        var any = new FieldCondition(K("city")) { Match = new MatchCondition { Kind = MatchKind.Any, Keywords = ["London", "Paris"] } };
        Assert.Equal([2, 5], Ids(Must(any)));
        var except = new FieldCondition(K("city")) { Match = new MatchCondition { Kind = MatchKind.Except, Keywords = ["Berlin"] } };
        // null (3) and missing (4) do not match `except`; 5 has Paris besides Berlin.
        Assert.Equal([2, 5], Ids(Must(except)));
    }

    [Fact]
    public void MatchTextIsASubstringWithoutIndex()
    {
        var text = new FieldCondition(K("text")) { Match = new MatchCondition { Kind = MatchKind.Text, Text = "quick brown" } };
        Assert.Equal([4], Ids(Must(text)));
    }

    [Fact]
    public void RangeOnNumbersAndArrays()
    {
        var range = new FieldCondition(K("price")) { Range = new NumericRange(Gt: 15, Gte: null, Lt: 35, Lte: null) };
        Assert.Equal([2, 3], Ids(Must(range)));
        var high = new FieldCondition(K("price")) { Range = new NumericRange(null, 99, null, null) };
        Assert.Equal([5], Ids(Must(high)));
    }

    [Fact]
    public void RangeOnDatetimes()
    {
        Assert.True(FilterEvaluator.TryParseDatetime("2024-03-01T00:00:00Z", out var from));
        var range = new FieldCondition(K("at")) { DatetimeRange = new DatetimeRange(null, from, null, null) };
        Assert.Equal([2], Ids(Must(range)));
    }

    [Fact]
    public void NestedKeysAndArrayProjection()
    {
        var rating = new FieldCondition(K("info.rating")) { Range = new NumericRange(null, 4, null, null) };
        Assert.Equal([1], Ids(Must(rating)));
        var anyFive = new FieldCondition(K("reviews[].score")) { Match = new MatchCondition { Kind = MatchKind.Value, Value = MatchValue.Of(5) } };
        Assert.Equal([3, 4], Ids(Must(anyFive)));
        // `reviews.score` does not descend into arrays (Qdrant semantics).
        var noProjection = new FieldCondition(K("reviews.score")) { Match = new MatchCondition { Kind = MatchKind.Value, Value = MatchValue.Of(5) } };
        Assert.Empty(Ids(Must(noProjection)));
    }

    [Fact]
    public void NestedConditionCorrelatesWithinOneElement()
    {
        var inner = new Filter
        {
            Must =
            [
                MatchKeyword("user", "x"),
                new FieldCondition(K("score")) { Match = new MatchCondition { Kind = MatchKind.Value, Value = MatchValue.Of(5) } },
            ],
        };
        Assert.Equal([3], Ids(Must(new NestedCondition(K("reviews"), inner))));
    }

    [Fact]
    public void IsEmptyIsNullAndValuesCount()
    {
        Assert.Equal([3, 4], Ids(Must(new IsEmptyCondition(K("city")))));
        Assert.Equal([3], Ids(Must(new IsNullCondition(K("city")))));
        Assert.Equal([3, 5], Ids(Must(new IsEmptyCondition(K("tags"))))); // [] and missing
        Assert.Empty(Ids(Must(new IsNullCondition(K("tags"))))); // [null] is an array, not null (Qdrant's query_checker test)
        var twoTags = new FieldCondition(K("tags")) { ValuesCount = new CountRange(null, 2, null, null) };
        Assert.Equal([1], Ids(Must(twoTags)));
        var missingIsZero = new FieldCondition(K("city")) { ValuesCount = new CountRange(null, null, 1, null) };
        Assert.Equal([3, 4], Ids(Must(missingIsZero)));
    }

    [Fact]
    public void ValuesCountCountsEachValueTheKeyReachesOnItsOwn()
    {
        // As Qdrant's query checker: every value the key resolves to is counted alone (an array by its length, null as
        // 0, else 1) and one value in range is enough; the counts of several values are never added up.
        static CountRange AtLeast(long n) => new(null, n, null, null);
        Assert.Equal([3, 4], Ids(Must(new FieldCondition(K("reviews")) { ValuesCount = AtLeast(2) }))); // one array of two objects
        Assert.Empty(Ids(Must(new FieldCondition(K("reviews[].score")) { ValuesCount = AtLeast(2) }))); // two values of one each (the sum was 2)
        Assert.Equal([3, 4], Ids(Must(new FieldCondition(K("reviews[].score")) { ValuesCount = new CountRange(null, 1, null, 1) })));
        Assert.Equal([1, 2, 3, 4, 5], Ids(Must(new FieldCondition(K("reviews[].score")) { ValuesCount = new CountRange(null, null, null, 1) }))); // missing: 0
        Assert.Empty(Ids(Must(new FieldCondition(K("tags[]")) { ValuesCount = AtLeast(2) }))); // `tags[]` splits ["a", "b"] into two values
        Assert.Equal([1], Ids(Must(new FieldCondition(K("tags")) { ValuesCount = AtLeast(2) })));
        Assert.Equal([5], Ids(Must(new FieldCondition(K("city")) { ValuesCount = AtLeast(2) })));

        // A point where the key reaches nothing counts 0; `tags[]` over [] reaches nothing, over [null] reaches a null.
        Assert.Equal([3, 4, 5], Ids(Must(new FieldCondition(K("tags[]")) { ValuesCount = new CountRange(null, null, 1, null) })));
    }

    [Fact]
    public void AnEmptyShouldListMatchesNoPointAndEmptyMustListsMatchAll()
    {
        // Qdrant: `should` holds when any of its conditions does, so `should: []` holds for no point (issue qdrant#554,
        // kept as is); an absent `should`, `must: []` and `must_not: []` hold for every point.
        Assert.Empty(Ids(new Filter { Should = [] }));
        Assert.Empty(Ids(new Filter { Must = [MatchKeyword("city", "Berlin")], Should = [] }));
        Assert.False(new Filter { Should = [] }.IsEmpty);
        Assert.Equal([1, 2, 3, 4, 5], Ids(new Filter { Must = [], MustNot = [] }));
        Assert.True(new Filter { Must = [], MustNot = [] }.IsEmpty);
        Assert.Equal([1, 2, 3, 4, 5], Ids(new Filter { Must = [new FilterCondition(new Filter())] }));
        Assert.Empty(Ids(new Filter { MustNot = [new FilterCondition(new Filter { Should = [] })], Should = [] }));
        Assert.Equal([1, 2, 3, 4, 5], Ids(new Filter { MustNot = [new FilterCondition(new Filter { Should = [] })] }));
    }

    [Fact]
    public void HasIdShouldMustNotAndMinShould()
    {
        var hasId = new HasIdCondition([PointId.FromNumber(1), PointId.FromNumber(2), PointId.FromNumber(3)]);
        Assert.Equal([1, 2, 3], Ids(Must(hasId)));
        Assert.Equal([4, 5], Ids(new Filter { MustNot = [hasId] }));
        Assert.Equal([1, 2, 5], Ids(new Filter { Should = [MatchKeyword("city", "Berlin"), MatchKeyword("city", "London")] }));
        var minShould = new MinShould([MatchKeyword("city", "Berlin"), MatchKeyword("city", "Paris"), hasId], 2);
        Assert.Equal([1, 5], Ids(new Filter { MinShould = minShould }));
        var nested = new Filter { Must = [new FilterCondition(new Filter { Should = [hasId] })], MustNot = [MatchKeyword("city", "London")] };
        Assert.Equal([1, 3], Ids(nested));
    }

    [Fact]
    public void BooleanAndGeo()
    {
        var active = new FieldCondition(K("active")) { Match = new MatchCondition { Kind = MatchKind.Value, Value = MatchValue.Of(true) } };
        Assert.Equal([5], Ids(Must(active)));
        var near = new FieldCondition(K("loc")) { Geo = new GeoRadius(52.5, 13.4, 5000) };
        Assert.Equal([5], Ids(Must(near)));
        var far = new FieldCondition(K("loc")) { Geo = new GeoRadius(48.85, 2.35, 5000) };
        Assert.Empty(Ids(Must(far)));
    }

    [Fact]
    public async Task FilteredSearchFillsTheLimitWheneverEnoughPointsMatch()
    {
        using var d = new TempDirectory();
        using var m = TestData.Open(d.Path);
        // Index everything (tiny thresholds) so the graph path is exercised, then filter to ~2 %.
        var c = m.Create("limit", TestData.Config(16, Vectors.Distance.Cosine, fullScanThreshold: 0, indexingThreshold: 1));
        var random = new Random(3);
        var points = Enumerable.Range(0, 2500)
            .Select(i => TestData.Point((ulong)i, TestData.RandomVector(random, 16), $$"""{"group": {{i % 50}}}"""))
            .ToList();
        await c.UpdateAsync(new UpsertOperation(points), wait: false);
        await c.WaitForIndexingAsync(TimeSpan.FromSeconds(60));
        var filter = Must(new FieldCondition(K("group")) { Match = new MatchCondition { Kind = MatchKind.Value, Value = MatchValue.Of(7) } });
        for (var q = 0; q < 20; q++)
        {
            var result = c.Query(new QueryRequest { Query = new DenseVectorQuery(TestData.RandomVector(random, 16)), Filter = filter, Limit = 50, WithPayload = PayloadSelector.All, HnswEf = 16 });
            Assert.Equal(50, result.Count); // exactly 50 points have group 7
            Assert.All(result, p => Assert.Equal(7, p.Payload!.Root.GetProperty("group").GetInt32()));
        }

        var few = c.Query(new QueryRequest { Query = new DenseVectorQuery(TestData.RandomVector(random, 16)), Filter = filter, Limit = 75 });
        Assert.Equal(50, few.Count);
    }

    [Fact]
    public async Task DeleteByFilterOnAnIndexedFieldDeletesExactlyTheMatchingPointsAndReplays()
    {
        using var d = new TempDirectory();
        var config = TestData.Config(2);
        var matching = new Filter
        {
            Must = [MatchKeyword("file", "a.md")],
            MustNot = [MatchKeyword("hash", "new")],
        };
        using (var m = TestData.Open(d.Path))
        {
            var c = m.Create("files", config);
            c.CreatePayloadIndex("file", new PayloadFieldSchema(PayloadSchemaType.Keyword));
            var points = Enumerable.Range(0, 300).Select(i => TestData.Point(
                (ulong)i, [1, i], $$"""{"file": "{{(i % 3 == 0 ? "a.md" : "b.md")}}", "hash": "{{(i % 2 == 0 ? "new" : "old")}}"}""")).ToList();
            await c.UpdateAsync(new UpsertOperation(points), wait: true);
            await c.UpdateAsync(new DeletePointsOperation(new PointSelector([PointId.FromNumber(3)], null)), wait: true);

            // Indexed candidates: a.md (every third point, 3 already deleted); of those the odd ones have hash "old".
            await c.UpdateAsync(new DeletePointsOperation(PointSelector.ForFilter(matching)), wait: true);
            Assert.Equal(0, c.Count(matching));
            Assert.Equal(50, c.Count(Must(MatchKeyword("file", "a.md"))));
            Assert.Equal(200, c.Count(Must(MatchKeyword("file", "b.md"))));
        }

        using (var m = TestData.Open(d.Path))
        {
            var c = m.Get("files");
            Assert.Equal(250, c.Count(null));
            Assert.Equal(0, c.Count(matching));
        }
    }
}
