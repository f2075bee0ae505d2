using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Filters;
using Vectorizer.Engine.Operations;
using Vectorizer.Engine.Payload;
using Vectorizer.Engine.Points;

namespace Vectorizer.Engine.Tests;

/// <summary>
/// Unindexed filters remembered between queries (<see cref="FilterResultCache"/>): every answer is the exact
/// filtered answer, before the cache, from it, and after every kind of write.
/// </summary>
public sealed class FilterCacheTests : IDisposable
{
    private const int Dim = 8;
    private readonly TempDirectory dir = new();
    private readonly CollectionManager manager;
    private readonly Collection collection;
    private readonly Dictionary<ulong, (float[] Vector, int Group)> points = [];
    private readonly Random random = new(17);

    public FilterCacheTests()
    {
        manager = TestData.Open(dir.Path);
        collection = manager.Create("cache", TestData.Config(Dim, Vectors.Distance.Euclid));
        Upsert(Enumerable.Range(0, 2000).Select(i => ((ulong)i, i % 10)));
    }

    public void Dispose()
    {
        manager.Dispose();
        dir.Dispose();
    }

    private void Upsert(IEnumerable<(ulong Id, int Group)> items)
    {
        var batch = new List<PointStruct>();
        foreach (var (id, group) in items)
        {
            var vector = TestData.RandomVector(random, Dim);
            points[id] = (vector, group);
            batch.Add(TestData.Point(id, vector, $$"""{"g": {{group}}, "name": "p{{id}}"}"""));
        }

        collection.UpdateAsync(new UpsertOperation(batch), wait: true).AsTask().GetAwaiter().GetResult();
    }

    private static Filter Group(int g) => new() { Must = [new FieldCondition(JsonPath.Parse("g")) { Match = new MatchCondition { Kind = MatchKind.Value, Value = MatchValue.Of(g) } }] };

    /// <summary>Checks a filtered query against brute force over what the test wrote.</summary>
    private void AssertExact(int group)
    {
        var query = TestData.RandomVector(random, Dim);
        var expected = points.Where(p => p.Value.Group == group)
            .Select(p => (p.Key, Distance: System.Numerics.Tensors.TensorPrimitives.Distance(query, p.Value.Vector)))
            .OrderBy(p => p.Distance).ThenBy(p => p.Key).Take(10).Select(p => p.Key).ToArray();
        var actual = collection.Query(new QueryRequest { Query = new DenseVectorQuery(query), Filter = Group(group), Limit = 10 }).Select(p => p.Id.Number).ToArray();
        Assert.Equal(expected, actual);
    }

    [Fact]
    public async Task RepeatedFiltersAnswerExactlyAndFollowEveryWrite()
    {
        var state = collection.State;
        for (var round = 0; round < 3; round++)
        {
            for (var g = 0; g < 10; g++)
            {
                AssertExact(g);
            }
        }

        // Seen more than once at this state: the matching offsets are remembered.
        Assert.Equal(200, FilterResultCache.Peek(state, Group(3))!.Length);

        // New points, a moved point, a deleted one and a payload change: each answer still exact.
        Upsert([(5000, 3), (5001, 3)]);
        AssertExact(3);
        AssertExact(3);
        Upsert([(13, 4)]);
        points[13] = (points[13].Vector, 4);
        AssertExact(3);
        AssertExact(4);
        AssertExact(4);
        await collection.UpdateAsync(new DeletePointsOperation(new PointSelector([PointId.FromNumber(23)], null)), wait: true);
        points.Remove(23);
        AssertExact(3);
        AssertExact(3);
        var payload = PointPayload.FromUtf8("""{"g": 7}"""u8);
        await collection.UpdateAsync(new SetPayloadOperation(payload, new PointSelector([PointId.FromNumber(33)], null), null), wait: true);
        points[33] = (points[33].Vector, 7);
        AssertExact(3);
        AssertExact(3);
        AssertExact(7);
        AssertExact(7);
    }

    [Fact]
    public void KeysAreCanonicalAndFullTextIsNotCached()
    {
        var a = new Filter { Must = [new FieldCondition(JsonPath.Parse("tags")) { Match = new MatchCondition { Kind = MatchKind.Any, Keywords = ["x", "y"] } }] };
        var b = new Filter { Must = [new FieldCondition(JsonPath.Parse("tags")) { Match = new MatchCondition { Kind = MatchKind.Any, Keywords = ["y", "x"] } }] };
        var c = new Filter { Must = [new FieldCondition(JsonPath.Parse("tags")) { Match = new MatchCondition { Kind = MatchKind.Any, Keywords = ["x", "z"] } }] };
        Assert.Equal(FilterKey.Of(a), FilterKey.Of(b));
        Assert.NotEqual(FilterKey.Of(a), FilterKey.Of(c));
        Assert.NotEqual(FilterKey.Of(new Filter { Must = a.Must }), FilterKey.Of(new Filter { MustNot = a.Must }));
        Assert.NotEqual(FilterKey.Of(Group(1)), FilterKey.Of(Group(11)));
        var range = new Filter { Must = [new FieldCondition(JsonPath.Parse("g")) { Range = new NumericRange(null, 0.1, 0.30000000000000004, null) }] };
        var close = new Filter { Must = [new FieldCondition(JsonPath.Parse("g")) { Range = new NumericRange(null, 0.1, 0.3, null) }] };
        Assert.NotEqual(FilterKey.Of(range), FilterKey.Of(close));
        var text = new Filter { Must = [new FieldCondition(JsonPath.Parse("name")) { Match = new MatchCondition { Kind = MatchKind.Text, Text = "p1" } }] };
        Assert.Null(FilterKey.Of(text));
    }
}
