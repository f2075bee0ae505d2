using System.Text.Json;

namespace Vectorizer.Server.Tests;

/// <summary>
/// The search family beyond <c>query</c>, over HTTP on the collection of Qdrant's REST suite: the legacy <c>search</c>
/// endpoint and its batch form, grouped queries (<c>query/groups</c>, <c>search/groups</c>, <c>recommend/groups</c>,
/// <c>with_lookup</c>), <c>facet</c> (Qdrant's <c>test_facets.py</c> data), the search matrix, and DBSF fusion as
/// Qdrant's <c>test_basic_dbsf</c> computes it.
/// </summary>
public sealed class GroupsFacetMatrixTests : IAsyncLifetime
{
    private static readonly IReadOnlyDictionary<int, float[]> V = QdrantBasicCollection.Vectors;
    private static readonly float[] Q = [0.1f, 0.2f, 0.3f, 0.4f];

    private static readonly Dictionary<int, string[]> Cities = new()
    {
        [1] = ["Berlin"],
        [2] = ["Berlin", "London"],
        [3] = ["Berlin", "Moscow"],
        [4] = ["London", "Moscow"],
    };

    private TestServer server = null!;

    public async Task InitializeAsync()
    {
        server = await TestServer.StartAsync();
        await QdrantBasicCollection.CreateAsync(server, "c");
    }

    public async Task DisposeAsync() => await server.DisposeAsync();

    private static List<int> Ids(JsonElement points) => [.. points.EnumerateArray().Select(p => p.GetProperty("id").GetInt32())];

    [Fact]
    public async Task LegacySearchIsTheUniversalQuery()
    {
        var search = (await server.Post("/collections/c/points/search", """{"vector": [0.1, 0.2, 0.3, 0.4], "limit": 10, "with_payload": true}""")).AssertOk().Result;
        var query = (await server.Post("/collections/c/points/query", """{"query": {"nearest": [0.1, 0.2, 0.3, 0.4]}, "with_payload": true}""")).AssertOk().Result.GetProperty("points");
        Assert.Equal(query.GetRawText(), search.GetRawText());
        Assert.Equal(V.Keys.OrderByDescending(i => QdrantBasicCollection.Dot(Q, V[i])), Ids(search));

        // u64::MAX is a valid limit (Qdrant's test_basic_search_high_limit): every point, no allocation failure.
        var all = (await server.Post("/collections/c/points/search", """{"vector": [0.1, 0.2, 0.3, 0.4], "limit": 18446744073709551615}""")).AssertOk().Result;
        Assert.Equal(8, all.GetArrayLength());
        var rescored = (await server.Post("/collections/c/points/query", """{"prefetch": {"limit": 18446744073709551615}, "query": [0.1, 0.2, 0.3, 0.4], "limit": 18446744073709551615}""")).AssertOk().Result.GetProperty("points");
        Assert.Equal(all.GetRawText(), rescored.GetRawText());

        // Named and sparse forms of `vector`, batch, offset and threshold.
        var sparse = (await server.Post("/collections/c/points/search", """{"vector": {"name": "sparse-text", "vector": {"indices": [1, 66], "values": [1, 1]}}, "limit": 5}""")).AssertOk().Result;
        Assert.Equal([9, 10], Ids(sparse));
        var batch = (await server.Post("/collections/c/points/search/batch", """
            {"searches": [{"vector": [0.1, 0.2, 0.3, 0.4], "limit": 2, "offset": 1},
                          {"vector": [0.1, 0.2, 0.3, 0.4], "limit": 10, "score_threshold": 0.6}]}
            """)).AssertOk().Result;
        var expected = V.Keys.OrderByDescending(i => QdrantBasicCollection.Dot(Q, V[i])).ToList();
        Assert.Equal(expected.Skip(1).Take(2), Ids(batch[0]));
        Assert.Equal(expected.Where(i => QdrantBasicCollection.Dot(Q, V[i]) > 0.6f), Ids(batch[1]));
        (await server.Post("/collections/c/points/search", """{"vector": [0.1, 0.2, 0.3, 0.4]}""")).AssertError(400, "missing field `limit`");
    }

    [Fact]
    public async Task DbsfFusesAsQdrantsReference()
    {
        // Qdrant's test_basic_dbsf: each list normalised by mean ± 3 sample standard deviations, then summed.
        var lists = new List<List<(int Id, double Score)>>();
        foreach (var vector in new[] { "[0.1, 0.2, 0.3, 0.4]", "[0.5, 0.6, 0.7, 0.8]" })
        {
            var found = (await server.Post("/collections/c/points/search", $$"""{"vector": {{vector}}, "limit": 10}""")).AssertOk().Result;
            lists.Add([.. found.EnumerateArray().Select(p => (p.GetProperty("id").GetInt32(), p.GetProperty("score").GetDouble()))]);
        }

        var totals = new Dictionary<int, double>();
        foreach (var list in lists)
        {
            var mean = list.Average(p => p.Score);
            var std = Math.Sqrt(list.Sum(p => (p.Score - mean) * (p.Score - mean)) / (list.Count - 1));
            foreach (var (id, score) in list)
            {
                totals[id] = totals.GetValueOrDefault(id) + ((score - (mean - (3 * std))) / (6 * std));
            }
        }

        var fused = (await server.Post("/collections/c/points/query", """
            {"prefetch": [{"query": [0.1, 0.2, 0.3, 0.4]}, {"query": [0.5, 0.6, 0.7, 0.8]}], "query": {"fusion": "dbsf"}}
            """)).AssertOk().Result.GetProperty("points").EnumerateArray().ToList();
        var expected = totals.OrderByDescending(t => t.Value).ToList();
        Assert.Equal(expected.Count, fused.Count);
        for (var i = 0; i < fused.Count; i++)
        {
            Assert.Equal(expected[i].Key, fused[i].GetProperty("id").GetInt32());
            Assert.Equal(expected[i].Value, fused[i].GetProperty("score").GetDouble(), 1e-5 * Math.Abs(expected[i].Value));
        }
    }

    /// <summary>Groups as the reference algorithm forms them: points best first, each joining its cities' groups while they have room.</summary>
    private static List<(string City, List<int> Ids)> ExpectedGroups(Func<int, float> score, int groupSize, int limit, IEnumerable<int>? candidates = null)
    {
        var groups = new List<(string City, List<int> Ids)>();
        foreach (var id in (candidates ?? V.Keys).Where(Cities.ContainsKey).OrderByDescending(score))
        {
            foreach (var city in Cities[id])
            {
                var group = groups.FirstOrDefault(g => g.City == city);
                if (group.Ids is null)
                {
                    if (groups.Count == limit)
                    {
                        continue;
                    }

                    group = (city, []);
                    groups.Add(group);
                }

                if (group.Ids.Count < groupSize)
                {
                    group.Ids.Add(id);
                }
            }
        }

        return groups;
    }

    private static List<(string City, List<int> Ids)> Groups(JsonElement result) =>
        [.. result.GetProperty("groups").EnumerateArray().Select(g => (g.GetProperty("id").GetString()!, Ids(g.GetProperty("hits"))))];

    private static List<string> Text(IEnumerable<(string City, List<int> Ids)> groups) => [.. groups.Select(g => $"{g.City}: {string.Join(", ", g.Ids)}")];

    [Fact]
    public async Task QueryGroupsFillTheGroupsOfTheBestPoints()
    {
        var expected = ExpectedGroups(i => QdrantBasicCollection.Dot(Q, V[i]), groupSize: 2, limit: 2);
        var byQuery = (await server.Post("/collections/c/points/query/groups", """{"query": [0.1, 0.2, 0.3, 0.4], "group_by": "city", "group_size": 2, "limit": 2}""")).AssertOk().Result;
        Assert.Equal(Text(expected), Text(Groups(byQuery)));
        var bySearch = (await server.Post("/collections/c/points/search/groups", """{"vector": [0.1, 0.2, 0.3, 0.4], "group_by": "city", "group_size": 2, "limit": 2}""")).AssertOk().Result;
        Assert.Equal(byQuery.GetRawText(), bySearch.GetRawText());

        // Recommendations grouped: the examples never appear.
        var recommended = (await server.Post("/collections/c/points/recommend/groups", """{"positive": [1], "group_by": "city", "group_size": 3, "limit": 5}""")).AssertOk().Result;
        var expectedRecommended = ExpectedGroups(i => QdrantBasicCollection.Dot(V[1], V[i]), groupSize: 3, limit: 5, V.Keys.Where(i => i != 1));
        Assert.Equal(Text(expectedRecommended), Text(Groups(recommended)));

        // Without a query the points come in id order; a filter applies before grouping.
        var noQuery = (await server.Post("/collections/c/points/query/groups", """{"group_by": "city", "group_size": 1, "limit": 10, "filter": {"must_not": [{"has_id": [1]}]}}""")).AssertOk().Result;
        Assert.Equal(["Berlin: 2", "London: 2", "Moscow: 3"], Text(Groups(noQuery)));

        (await server.Post("/collections/c/points/query/groups", """{"query": [0.1, 0.2, 0.3, 0.4]}""")).AssertError(400, "missing field `group_by`");
        (await server.Post("/collections/c/points/query/groups", """{"group_by": ""}""")).AssertError(422, "group_by: must not be empty");
    }

    [Fact]
    public async Task GroupsLookUpThePointNamedByTheirKey()
    {
        (await server.Post("/collections/c/points/payload?wait=true", """{"payload": {"owner": 100}, "points": [1, 2]}""")).AssertOk();
        (await server.Post("/collections/c/points/payload?wait=true", """{"payload": {"owner": 101}, "points": [3, 4]}""")).AssertOk();
        (await server.Post("/collections/c/points/payload?wait=true", """{"payload": {"owner": "0f0f0f0f-0000-0000-0000-000000000001"}, "points": [5]}""")).AssertOk();
        (await server.Put("/collections/owners", """{"vectors": {"size": 2, "distance": "Dot"}}""")).AssertOk();
        (await server.Put("/collections/owners/points?wait=true", """
            {"points": [{"id": 100, "vector": [1, 0], "payload": {"name": "Ada"}}, {"id": 101, "vector": [0, 1], "payload": {"name": "Bob"}}]}
            """)).AssertOk();

        var result = (await server.Post("/collections/c/points/query/groups", """
            {"group_by": "owner", "group_size": 5, "limit": 5, "with_lookup": {"collection": "owners", "with_payload": ["name"], "with_vectors": true}}
            """)).AssertOk().Result.GetProperty("groups").EnumerateArray().ToList();
        Assert.Equal(3, result.Count);
        Assert.Equal(100, result[0].GetProperty("id").GetInt32());
        Assert.Equal([1, 2], Ids(result[0].GetProperty("hits")));
        Assert.Equal("Ada", result[0].GetProperty("lookup").GetProperty("payload").GetProperty("name").GetString());
        Assert.Equal(2, result[0].GetProperty("lookup").GetProperty("vector").GetArrayLength());
        Assert.Equal("Bob", result[1].GetProperty("lookup").GetProperty("payload").GetProperty("name").GetString());
        Assert.Equal("0f0f0f0f-0000-0000-0000-000000000001", result[2].GetProperty("id").GetString());
        Assert.Equal(JsonValueKind.Null, result[2].GetProperty("lookup").ValueKind);

        var byName = (await server.Post("/collections/c/points/query/groups", """{"group_by": "owner", "limit": 1, "with_lookup": "owners"}""")).AssertOk().Result;
        var lookup = byName.GetProperty("groups")[0].GetProperty("lookup");
        Assert.Equal("Ada", lookup.GetProperty("payload").GetProperty("name").GetString());
        Assert.False(lookup.TryGetProperty("vector", out _));
    }

    [Fact]
    public async Task FacetsCountPointsPerIndexedValue()
    {
        // Qdrant's test_facets.py: extra points with integer, uuid and boolean values.
        (await server.Put("/collections/c/points?wait=true", """
            {"points": [
              {"id": 100, "vector": {}, "payload": {"integer": 3, "uuid": "a64a8051-3ee7-4881-8bc6-691d25c70d54", "boolean": true}},
              {"id": 101, "vector": {}, "payload": {"integer": 3, "uuid": "a64a8051-3ee7-4881-8bc6-691d25c70d54", "boolean": true}},
              {"id": 102, "vector": {}, "payload": {"integer": 3, "uuid": "7cb46fb3-e348-4762-93ad-7fb983d2b85e", "boolean": false}},
              {"id": 103, "vector": {}, "payload": {"integer": 0, "uuid": "2b016c50-282c-4d80-b784-cefead291180", "boolean": true}},
              {"id": 104, "vector": {}, "payload": {"integer": 3, "uuid": "a64a8051-3ee7-4881-8bc6-691d25c70d54", "boolean": true}},
              {"id": 105, "vector": {}, "payload": {"integer": 1, "uuid": "a64a8051-3ee7-4881-8bc6-691d25c70d54", "boolean": false}},
              {"id": 106, "vector": {}, "payload": {"integer": 2, "uuid": "7cb46fb3-e348-4762-93ad-7fb983d2b85e", "boolean": false}},
              {"id": 107, "vector": {}, "payload": {"integer": 0, "uuid": "a64a8051-3ee7-4881-8bc6-691d25c70d54", "boolean": true}}
            ]}
            """)).AssertOk();
        (await server.Post("/collections/c/facet", """{"key": "city"}""")).AssertError(400, "Index required but not found for \"city\"");
        foreach (var (field, schema) in new[] { ("city", "keyword"), ("integer", "integer"), ("uuid", "uuid"), ("boolean", "bool") })
        {
            (await server.Put("/collections/c/index?wait=true", $$"""{"field_name": "{{field}}", "field_schema": "{{schema}}"}""")).AssertOk();
        }

        async Task<string> Facet(string body) => (await server.Post("/collections/c/facet", body)).AssertOk().Result.GetRawText();
        Assert.Equal("""{"hits":[{"value":"Berlin","count":3},{"value":"London","count":2},{"value":"Moscow","count":2}]}""", await Facet("""{"key": "city"}"""));
        Assert.Equal("""{"hits":[{"value":3,"count":4},{"value":0,"count":2},{"value":1,"count":1},{"value":2,"count":1}]}""", await Facet("""{"key": "integer"}"""));
        Assert.Equal(
            """{"hits":[{"value":"a64a8051-3ee7-4881-8bc6-691d25c70d54","count":5},{"value":"7cb46fb3-e348-4762-93ad-7fb983d2b85e","count":2},{"value":"2b016c50-282c-4d80-b784-cefead291180","count":1}]}""",
            await Facet("""{"key": "uuid"}"""));
        Assert.Equal("""{"hits":[{"value":true,"count":5},{"value":false,"count":3}]}""", await Facet("""{"key": "boolean"}"""));
        Assert.Equal("""{"hits":[{"value":3,"count":4},{"value":0,"count":2}]}""", await Facet("""{"key": "integer", "limit": 2, "exact": true}"""));
        Assert.Equal("""{"hits":[{"value":"Berlin","count":2},{"value":"Moscow","count":1}]}""", await Facet("""{"key": "city", "filter": {"must": [{"has_id": [1, 3]}]}}"""));
        (await server.Post("/collections/c/facet", """{"key": "price"}""")).AssertError(400, "Index required");
        (await server.Post("/collections/c/facet", """{"key": "city", "limit": 0}""")).AssertError(422, "limit: value 0 invalid");
    }

    [Fact]
    public async Task SearchMatrixScoresEachSampledPointsNeighbours()
    {
        var pairs = (await server.Post("/collections/c/points/search/matrix/pairs", """{"sample": 4, "limit": 2}""")).AssertOk().Result.GetProperty("pairs").EnumerateArray().ToList();
        Assert.Equal(8, pairs.Count);
        var sampled = pairs.Select(p => p.GetProperty("a").GetInt32()).Distinct().ToList();
        Assert.Equal(4, sampled.Count);
        foreach (var a in sampled)
        {
            var row = pairs.Where(p => p.GetProperty("a").GetInt32() == a).ToList();
            var expected = sampled.Where(b => b != a).OrderByDescending(b => QdrantBasicCollection.Dot(V[a], V[b])).Take(2).ToList();
            Assert.Equal(expected, row.Select(p => p.GetProperty("b").GetInt32()));
            Assert.Equal(QdrantBasicCollection.Dot(V[a], V[expected[0]]), row[0].GetProperty("score").GetSingle(), 4);
        }

        // Offsets: the same matrix by coordinates; only points with the vector are sampled (9 and 10 have none).
        var offsets = (await server.Post("/collections/c/points/search/matrix/offsets", """{"sample": 20, "limit": 1, "filter": {"must_not": [{"has_id": [8]}]}}""")).AssertOk().Result;
        var ids = offsets.GetProperty("ids").EnumerateArray().Select(i => i.GetInt32()).ToList();
        Assert.Equal([1, 2, 3, 4, 5, 6, 7], ids.Order());
        Assert.Equal(7, offsets.GetProperty("offsets_row").GetArrayLength());
        var rows = offsets.GetProperty("offsets_row").EnumerateArray().Select(r => r.GetInt32()).ToList();
        var columns = offsets.GetProperty("offsets_col").EnumerateArray().Select(c => c.GetInt32()).ToList();
        var scores = offsets.GetProperty("scores").EnumerateArray().Select(s => s.GetSingle()).ToList();
        for (var i = 0; i < rows.Count; i++)
        {
            Assert.NotEqual(rows[i], columns[i]);
            Assert.Equal(QdrantBasicCollection.Dot(V[ids[rows[i]]], V[ids[columns[i]]]), scores[i], 4);
        }

        var sparse = (await server.Post("/collections/c/points/search/matrix/pairs", """{"using": "sparse-text"}""")).AssertOk().Result.GetProperty("pairs");
        Assert.Equal(2, sparse.GetArrayLength());
        (await server.Post("/collections/c/points/search/matrix/pairs", """{"sample": 1}""")).AssertError(422, "sample: value 1 invalid, must be 2 or larger");
        (await server.Post("/collections/c/points/search/matrix/pairs", """{"using": "nope"}""")).AssertError(400, "Not existing vector name error: nope");
    }
}
