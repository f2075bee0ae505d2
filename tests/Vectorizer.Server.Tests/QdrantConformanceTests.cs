using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Vectorizer.Server.Tests;

/// <summary>
/// Where Qdrant's own REST suite (<c>tests/openapi/</c>) found us different, checked over HTTP against a real server:
/// the version handshake, PATCH of per-vector and sparse settings, schema validation (422) against deserialization
/// errors (400), optional vectors, payload operations by <c>key</c>, nested payload selectors, datetimes with time zones,
/// invalid UTF-8, and the endpoints of the 1.19 contract that answer for a single node.
/// </summary>
public sealed class QdrantConformanceTests : IAsyncLifetime
{
    private TestServer server = null!;

    public async Task InitializeAsync() => server = await TestServer.StartAsync();

    public async Task DisposeAsync() => await server.DisposeAsync();

    [Fact]
    public async Task VersionHandshakeNamesTheQdrantApiWithOurOwnVersionApart()
    {
        var response = await server.Get("/");
        Assert.Equal(200, response.Status);
        var body = response.Body;
        Assert.Contains("vectorizer", body.GetProperty("title").GetString());
        Assert.Matches(@"^1\.19\.\d+$", body.GetProperty("version").GetString());
        Assert.True(body.TryGetProperty("commit", out _));
        Assert.Matches(@"^\d+\.\d+\.\d+", body.GetProperty("vectorizer_version").GetString());
    }

    [Fact]
    public async Task PatchChangesPerVectorHnswAndQuantizationSparseIndexAndOptimizers()
    {
        (await server.Put("/collections/p", """{"vectors": {"image": {"size": 4, "distance": "Dot"}, "text": {"size": 8, "distance": "Cosine"}}, "sparse_vectors": {"words": {}}}""")).AssertOk();
        (await server.Patch("/collections/p", """{"vectors": {"image": {"hnsw_config": {"m": 32, "ef_construct": 123}, "quantization_config": {"scalar": {"type": "int8", "quantile": 0.8}}}}}""")).AssertOk();
        (await server.Patch("/collections/p", """{"sparse_vectors": {"words": {"index": {"on_disk": true, "full_scan_threshold": 42}, "modifier": "idf"}}}""")).AssertOk();
        (await server.Patch("/collections/p", """{"optimizers_config": {"indexing_threshold": 12345, "default_segment_number": 2}}""")).AssertOk();

        var config = (await server.Get("/collections/p")).AssertOk().Result.GetProperty("config");
        var image = config.GetProperty("params").GetProperty("vectors").GetProperty("image");
        Assert.Equal(32, image.GetProperty("hnsw_config").GetProperty("m").GetInt32());
        Assert.Equal(123, image.GetProperty("hnsw_config").GetProperty("ef_construct").GetInt32());
        Assert.Equal("int8", image.GetProperty("quantization_config").GetProperty("scalar").GetProperty("type").GetString());
        Assert.False(config.GetProperty("params").GetProperty("vectors").GetProperty("text").TryGetProperty("quantization_config", out _));
        var words = config.GetProperty("params").GetProperty("sparse_vectors").GetProperty("words");
        Assert.Equal(42, words.GetProperty("index").GetProperty("full_scan_threshold").GetInt32());
        Assert.True(words.GetProperty("index").GetProperty("on_disk").GetBoolean());
        Assert.Equal("idf", words.GetProperty("modifier").GetString());
        Assert.Equal(12345, config.GetProperty("optimizer_config").GetProperty("indexing_threshold").GetInt32());

        (await server.Patch("/collections/p", """{"sparse_vectors": {"nope": {"modifier": "idf"}}}""")).AssertError(400, "Not existing vector name error: nope");
    }

    [Theory]
    [InlineData("""{"vectors": {"size": 65537, "distance": "Dot"}}""", 422, "Validation error in JSON body: [vectors.size: value 65537 invalid, must be from 1 to 65536]")]
    [InlineData("""{"vectors": {"size": 4, "distance": "Dot"}, "shard_number": -1}""", 400, "invalid value: integer `-1`, expected u32")]
    [InlineData("""{"vectors": {"size": 4, "distance": "Dot"}, "replication_factor": -1}""", 400, "invalid value: integer `-1`, expected u32")]
    [InlineData("""{"vectors": {"size": 4, "distance": "Dot"}, "write_consistency_factor": -1}""", 400, "invalid value: integer `-1`, expected u32")]
    [InlineData("""{"vectors": {"size": 4, "distance": "Dot"}, "shard_number": 0}""", 422, "shard_number: value 0 invalid")]
    [InlineData("""{"vectors": {"size": 4, "distance": "Dot"}, "hnsw_config": {"ef_construct": 0}}""", 422, "hnsw_config.ef_construct")]
    [InlineData("""{"vectors": {"x": {"size": 4, "distance": "Dot"}}, "sparse_vectors": {"x": {}}}""", 422, "Dense and sparse vector names must be unique - duplicate found with 'x'")]
    public async Task CollectionCreationIsValidatedAsQdrantDoes(string body, int status, string message)
    {
        (await server.Put("/collections/v", body)).AssertError(status, message);
        Assert.False((await server.Get("/collections/v/exists")).AssertOk().Result.GetProperty("exists").GetBoolean());
    }

    [Fact]
    public async Task PathAndQueryParametersAreValidated()
    {
        await server.CreateCollection("c");
        var longName = string.Concat(Enumerable.Repeat("extremelylongname", 20));
        (await server.Get($"/collections/{longName}/points/1")).AssertError(422, "Validation error in path parameters: [name: length 340 invalid, must be from 1 to 255 bytes]");
        (await server.Put($"/collections/{longName}", """{"vectors": {"size": 4, "distance": "Dot"}}""")).AssertError(422, "Validation error in path parameters");
        (await server.Put("/collections/t?timeout=0", """{"vectors": {"size": 4, "distance": "Dot"}}""")).AssertError(422, "timeout: value 0 invalid");
        Assert.False((await server.Get("/collections/t/exists")).AssertOk().Result.GetProperty("exists").GetBoolean());
    }

    [Fact]
    public async Task MismatchedSparseIndicesAndValuesAre422()
    {
        (await server.Put("/collections/s", """{"sparse_vectors": {"w": {}}}""")).AssertOk();
        (await server.Put("/collections/s/points?wait=true", """{"points": [{"id": 1, "vector": {"w": {"indices": [1, 2], "values": [0.5]}}}]}"""))
            .AssertError(422, "Validation error in JSON body: [points[0].vector.w.values: must be the same length as indices]");
        Assert.Equal(0, (await server.Post("/collections/s/points/count", "{}")).AssertOk().Result.GetProperty("count").GetInt32());
    }

    [Theory]
    [InlineData("""{"field_name": "f", "field_schema": "nonsense"}""", "field_schema: unknown variant `nonsense`")]
    [InlineData("""{"field_name": "f", "field_schema": {"type": "nonsense"}}""", "unknown variant `nonsense`")]
    [InlineData("""{"field_name": "f", "field_schema": {"type": "keyword", "range": true}}""", "unknown field `range` for a keyword index")]
    [InlineData("""{"field_name": "f", "field_schema": {"type": "integer", "lookup": false, "range": false}}""", "can't be both disabled")]
    public async Task PayloadIndexWithAnInvalidSchemaIs422AndChangesNothing(string body, string message)
    {
        await server.CreateCollection("c");
        (await server.Put("/collections/c/index?wait=true", body)).AssertError(422, message);
        var schema = (await server.Get("/collections/c")).AssertOk().Result.GetProperty("payload_schema");
        Assert.Empty(schema.EnumerateObject());
    }

    [Fact]
    public async Task OptionalVectorsAsQdrantsSuite()
    {
        (await server.Put("/collections/m", """{"vectors": {"image": {"size": 4, "distance": "Dot"}, "text": {"size": 2, "distance": "Dot"}}}""")).AssertOk();
        (await server.Put("/collections/m/points?wait=true", """
            {"points": [
              {"id": 1, "vector": {"image": [1, 0, 0, 0], "text": [1, 0]}},
              {"id": 101, "vector": {"text": [0.5, 0.5]}},
              {"id": 103, "vector": {}, "payload": {"city": "Berlin"}}
            ]}
            """)).AssertOk();
        var partial = (await server.Get("/collections/m/points/101")).AssertOk().Result.GetProperty("vector");
        Assert.True(partial.TryGetProperty("text", out _));
        Assert.False(partial.TryGetProperty("image", out _));
        Assert.Empty((await server.Get("/collections/m/points/103")).AssertOk().Result.GetProperty("vector").EnumerateObject());

        // Updating vectors needs at least one; an unknown point or vector name changes nothing.
        (await server.Put("/collections/m/points/vectors?wait=true", """{"points": [{"id": 1, "vector": {}}]}"""))
            .AssertError(422, "Validation error in JSON body: [points[0].vector: must specify vectors to update for point]");
        (await server.Put("/collections/m/points/vectors?wait=true", """{"points": [{"id": 1, "vector": {"text": [0, 1]}}, {"id": 424242424242424242, "vector": {"image": [1, 1, 1, 1]}}]}"""))
            .AssertError(404, "Not found: No point with id 424242424242424242 found");
        Assert.Equal(new[] { 1f, 0f }, Floats((await server.Get("/collections/m/points/1")).AssertOk().Result.GetProperty("vector").GetProperty("text")));
        (await server.Post("/collections/m/points/vectors/delete?wait=true", """{"points": [1], "vector": ["a"]}"""))
            .AssertError(400, "Wrong input: Not existing vector name error: a");

        (await server.Post("/collections/m/points/vectors/delete?wait=true", """{"points": [1], "vector": ["image", "text"]}""")).AssertOk();
        Assert.Empty((await server.Get("/collections/m/points/1")).AssertOk().Result.GetProperty("vector").EnumerateObject());
        (await server.Put("/collections/m/points/vectors?wait=true", """{"points": [{"id": 1, "vector": {"text": [0, 1]}}, {"id": 1, "vector": {"image": [0, 0, 1, 0]}}]}""")).AssertOk();
        var both = (await server.Get("/collections/m/points/1")).AssertOk().Result.GetProperty("vector");
        Assert.Equal(new[] { 0f, 1f }, Floats(both.GetProperty("text")));
        Assert.Equal(new[] { 0f, 0f, 1f, 0f }, Floats(both.GetProperty("image")));
    }

    [Fact]
    public async Task SetPayloadByKeyFollowsNestedPathsAndArrays()
    {
        await server.CreateCollection("k");
        (await server.Put("/collections/k/points?wait=true", """{"points": [{"id": 1, "vector": [1, 0, 0, 0]}, {"id": 9, "vector": [0, 1, 0, 0]}]}""")).AssertOk();
        async Task Set(string body) => (await server.Post("/collections/k/points/payload?wait=true", body)).AssertOk();
        await Set("""{"payload": {"key6": {"subkey": "xxx", "arraykey": [{"a1": {"a1k": "xxx"}}, {"a2": {"a2k": "xxx"}}], "subkey2": {"subkey3": "xxx"}}}, "points": [1]}""");
        await Set("""{"payload": {"subkey": "yyy"}, "points": [1], "key": "key6"}""");
        await Set("""{"payload": {"subkey3": "yyy"}, "points": [1], "key": "key6.subkey2"}""");
        await Set("""{"payload": {"a1k": "yyy"}, "points": [1], "key": "key6.arraykey[0].a1"}""");
        await Set("""{"payload": {"a2k": "yyy"}, "points": [1], "key": "key6.arraykey[].a2"}""");
        await Set("""{"payload": {"key": "xxx"}, "points": [1], "key": "key6.subkey7"}""");
        await Set("""{"payload": {"key": "xxx"}, "points": [9], "key": "key"}""");
        await Set("""{"payload": {"key": "xxx"}, "points": [9], "key": "key"}""");

        var key6 = (await server.Get("/collections/k/points/1")).AssertOk().Result.GetProperty("payload").GetProperty("key6");
        Assert.Equal("yyy", key6.GetProperty("subkey").GetString());
        Assert.Equal("yyy", key6.GetProperty("subkey2").GetProperty("subkey3").GetString());
        Assert.Equal("yyy", key6.GetProperty("arraykey")[0].GetProperty("a1").GetProperty("a1k").GetString());
        Assert.Equal("yyy", key6.GetProperty("arraykey")[1].GetProperty("a2").GetProperty("a2k").GetString());
        Assert.Equal("xxx", key6.GetProperty("subkey7").GetProperty("key").GetString());
        Assert.Equal("""{"key":{"key":"xxx"}}""", (await server.Get("/collections/k/points/9")).AssertOk().Result.GetProperty("payload").GetRawText());

        (await server.Post("/collections/k/points/payload/delete?wait=true", """{"keys": ["key6.arraykey[].a2.a2k", "key6.subkey"], "points": [1]}""")).AssertOk();
        key6 = (await server.Get("/collections/k/points/1")).AssertOk().Result.GetProperty("payload").GetProperty("key6");
        Assert.False(key6.TryGetProperty("subkey", out _));
        Assert.Equal("{}", key6.GetProperty("arraykey")[1].GetProperty("a2").GetRawText());
    }

    [Fact]
    public async Task WithPayloadSelectorsKeepTheSelectedPartsOfNestedValues()
    {
        await server.CreateCollection("n");
        (await server.Put("/collections/n/points?wait=true", """
            {"points": [{"id": 1, "vector": [1, 0, 0, 0], "payload": {
              "country": {"name": "Germany", "capital": "Berlin", "cities": [{"name": "Berlin", "population": 3.7, "sightseeing": ["Brandenburg Gate"]}, {"name": "Munich", "population": 1.5}]},
              "rank": 1}}]}
            """)).AssertOk();
        async Task<string> Payload(string selector) =>
            (await server.Post("/collections/n/points", $$"""{"ids": [1], "with_payload": {{selector}}}""")).AssertOk().Result[0].GetProperty("payload").GetRawText();

        Assert.Equal("""{"country":{"cities":[{"name":"Berlin"},{"name":"Munich"}]}}""", await Payload("""{"include": ["country.cities[].name"]}"""));
        Assert.Equal("""{"country":{"cities":[{"name":"Berlin","population":3.7},{"name":"Munich","population":1.5}]}}""", await Payload("""{"include": ["country.cities[].name", "country.cities[].population"]}"""));
        Assert.Equal("""{"country":{"cities":[{"sightseeing":["Brandenburg Gate"]}]}}""", await Payload("""{"include": ["country.cities[0].sightseeing"]}"""));
        Assert.Equal("""{"country":{"capital":"Berlin"},"rank":1}""", await Payload("""["country.capital", "rank"]"""));
        Assert.Equal("""{"country":{"name":"Germany","capital":"Berlin","cities":[{"name":"Berlin","sightseeing":["Brandenburg Gate"]},{"name":"Munich"}]},"rank":1}""", await Payload("""{"exclude": ["country.cities[].population"]}"""));
    }

    [Fact]
    public async Task DatetimeIndexAndRangesCompareInstantsAcrossTimeZones()
    {
        await server.CreateCollection("d");
        (await server.Put("/collections/d/index?wait=true", """{"field_name": "at", "field_schema": "datetime"}""")).AssertOk();
        (await server.Put("/collections/d/points?wait=true", """
            {"points": [
              {"id": 1, "vector": [1, 0, 0, 0], "payload": {"at": "2024-01-01T10:00:00+02:00"}},
              {"id": 2, "vector": [0, 1, 0, 0], "payload": {"at": "2024-01-01T09:00:00Z"}},
              {"id": 3, "vector": [0, 0, 1, 0], "payload": {"at": "2024-01-01T05:00:00-05:00"}},
              {"id": 4, "vector": [0, 0, 0, 1], "payload": {"at": "2024-01-01 07:30:00"}}
            ]}
            """)).AssertOk();
        async Task<int[]> Range(string range)
        {
            var points = (await server.Post("/collections/d/points/scroll", $$$"""{"filter": {"must": [{"key": "at", "range": {{{range}}}}]}}""")).AssertOk().Result.GetProperty("points");
            return [.. points.EnumerateArray().Select(p => p.GetProperty("id").GetInt32()).Order()];
        }

        // Instants: 1 = 08:00Z, 2 = 09:00Z, 3 = 10:00Z, 4 = 07:30Z (no zone reads as UTC).
        Assert.Equal(new[] { 1 }, await Range("""{"gte": "2024-01-01T08:00:00Z", "lte": "2024-01-01T08:00:00Z"}"""));
        Assert.Equal(new[] { 1, 2 }, await Range("""{"gte": "2024-01-01T10:00:00+02:00", "lt": "2024-01-01T12:00:00+02:00"}"""));
        Assert.Equal(new[] { 3 }, await Range("""{"gt": "2024-01-01T09:00:00Z"}"""));
        Assert.Equal(new[] { 1, 4 }, await Range("""{"lte": "2024-01-01T03:00:00-05:00"}"""));
    }

    [Fact]
    public async Task InvalidUtf8InAJsonStringIsRefusedAndNothingIsStored()
    {
        await server.CreateCollection("u");
        var bytes = Encoding.UTF8.GetBytes("""{"points": [{"id": 1, "vector": [1, 0, 0, 0], "payload": {"x": "AB"}}]}""");
        var at = Array.IndexOf(bytes, (byte)'A');
        bytes[at] = 0xFF;
        bytes[at + 1] = 0xFE;
        using var request = new HttpRequestMessage(HttpMethod.Put, "/collections/u/points?wait=true") { Content = new ByteArrayContent(bytes) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        var response = await server.Client.SendAndRead(request);
        response.AssertError(400, "Format error in JSON body: invalid UTF-8 sequence at line 1 column");
        Assert.Equal(0, (await server.Post("/collections/u/points/count", "{}")).AssertOk().Result.GetProperty("count").GetInt32());
    }

    [Fact]
    public async Task NamedVectorsAreCreatedAndDeletedWithTheirValues()
    {
        await server.CreateCollection("nv");
        (await server.Put("/collections/nv/points?wait=true", """{"points": [{"id": 1, "vector": [1, 0, 0, 0]}]}""")).AssertOk();
        (await server.Put("/collections/nv/vectors/extra", """{"dense": {"size": 2, "distance": "Euclid"}}""")).AssertOk();
        (await server.Put("/collections/nv/vectors/words", """{"sparse": {"modifier": "idf"}}""")).AssertOk();
        (await server.Put("/collections/nv/vectors/extra", """{"dense": {"size": 2, "distance": "Euclid"}}""")).AssertError(400, "extra");
        (await server.Put("/collections/nv/vectors/bad", """{"dense": {"size": 0, "distance": "Dot"}}""")).AssertError(422, "size");
        (await server.Put("/collections/nv/vectors/bad", """{"nope": {}}""")).AssertError(400, "expected `dense` or `sparse`");

        var parameters = (await server.Get("/collections/nv")).AssertOk().Result.GetProperty("config").GetProperty("params");
        Assert.Equal(2, parameters.GetProperty("vectors").GetProperty("extra").GetProperty("size").GetInt32());
        Assert.Equal(4, parameters.GetProperty("vectors").GetProperty("").GetProperty("size").GetInt32());
        Assert.Equal("idf", parameters.GetProperty("sparse_vectors").GetProperty("words").GetProperty("modifier").GetString());
        Assert.False(parameters.GetProperty("vectors").TryGetProperty("bad", out _));

        (await server.Put("/collections/nv/points/vectors?wait=true", """{"points": [{"id": 1, "vector": {"extra": [3, 4], "words": {"indices": [7], "values": [1]}}}]}""")).AssertOk();
        var hits = (await server.Post("/collections/nv/points/query", """{"query": [0, 0], "using": "extra", "with_vector": true}""")).AssertOk().Result.GetProperty("points");
        Assert.Equal(1, hits[0].GetProperty("id").GetInt32());

        (await server.Delete("/collections/nv/vectors/extra")).AssertOk();
        // The same query again is not answered from the query cache: the vector it searched is gone.
        (await server.Post("/collections/nv/points/query", """{"query": [0, 0], "using": "extra", "with_vector": true}""")).AssertError(400, "extra");
        (await server.Delete("/collections/nv/vectors/words")).AssertOk();
        (await server.Delete("/collections/nv/vectors/extra")).AssertError(400, "Not existing vector name error: extra");
        var vector = (await server.Get("/collections/nv/points/1")).AssertOk().Result.GetProperty("vector");
        Assert.Equal(new[] { 1f, 0f, 0f, 0f }, Floats(vector));
    }

    [Fact]
    public async Task OptimizationsReportIndexingRunsAndWhatWaits()
    {
        await server.CreateCollection("o", extra: """, "optimizers_config": {"indexing_threshold": 1}""");
        var points = string.Join(",", Enumerable.Range(1, 200).Select(i => $$"""{"id": {{i}}, "vector": [{{i % 7}}, {{i % 5}}, {{i % 3}}, 1]}"""));
        (await server.Put("/collections/o/points?wait=true", $$"""{"points": [{{points}}]}""")).AssertOk();

        JsonElement report = default;
        for (var i = 0; i < 200; i++)
        {
            report = (await server.Get("/collections/o/optimizations?with=completed,queued,idle_segments")).AssertOk().Result;
            if (report.GetProperty("completed").GetArrayLength() > 0 && report.GetProperty("running").GetArrayLength() == 0)
            {
                break;
            }

            await Task.Delay(50);
        }

        var completed = report.GetProperty("completed")[0];
        Assert.Equal("indexing", completed.GetProperty("optimizer").GetString());
        Assert.Equal("done", completed.GetProperty("status").GetString());
        Assert.Equal(200, completed.GetProperty("progress").GetProperty("total").GetInt64());
        Assert.Equal(completed.GetProperty("progress").GetProperty("total").GetInt64(), completed.GetProperty("progress").GetProperty("done").GetInt64());
        Assert.Equal(0, report.GetProperty("summary").GetProperty("queued_points").GetInt64());
        Assert.Equal(200, report.GetProperty("idle_segments")[0].GetProperty("points_count").GetInt64());

        var plain = (await server.Get("/collections/o/optimizations")).AssertOk().Result;
        Assert.False(plain.TryGetProperty("completed", out _));
        (await server.Get("/collections/o/optimizations?with=everything")).AssertError(400, "unknown variant `everything`");
        (await server.Get("/collections/missing/optimizations")).AssertError(404, "missing");
    }

    [Fact]
    public async Task ClusterEndpointsAnswerForASingleNode()
    {
        await server.CreateCollection("cl");
        (await server.Put("/collections/cl/points?wait=true", """{"points": [{"id": 1, "vector": [1, 0, 0, 0]}, {"id": 2, "vector": [0, 1, 0, 0]}]}""")).AssertOk();
        Assert.Equal("disabled", (await server.Get("/cluster")).AssertOk().Result.GetProperty("status").GetString());
        var info = (await server.Get("/collections/cl/cluster")).AssertOk().Result;
        Assert.Equal(1, info.GetProperty("shard_count").GetInt32());
        Assert.Equal(2, info.GetProperty("local_shards")[0].GetProperty("points_count").GetInt32());
        Assert.Equal("Active", info.GetProperty("local_shards")[0].GetProperty("state").GetString());
        Assert.Empty(info.GetProperty("remote_shards").EnumerateArray());
        var peer = info.GetProperty("peer_id").GetUInt64();
        Assert.Equal(peer, (await server.Get("/collections/cl/cluster")).AssertOk().Result.GetProperty("peer_id").GetUInt64());
        (await server.Post("/collections/cl/cluster", """{"move_shard": {"shard_id": 0, "from_peer_id": 1, "to_peer_id": 2}}""")).AssertError(405, "standalone mode");
        (await server.Post("/cluster/recover", "{}")).AssertError(405, "standalone mode");
        (await server.Get("/collections/missing/cluster")).AssertError(404, "missing");
    }

    [Fact]
    public async Task IssuesReportFiltersOnUnindexedFieldsUntilIndexed()
    {
        await server.CreateCollection("is");
        Assert.Empty((await server.Get("/issues")).AssertOk().Result.GetProperty("issues").EnumerateArray());
        (await server.Post("/collections/is/points/scroll", """{"filter": {"must": [{"key": "color", "match": {"value": "red"}}]}}""")).AssertOk();
        var issue = Assert.Single((await server.Get("/issues")).AssertOk().Result.GetProperty("issues").EnumerateArray());
        Assert.Equal("is.UNINDEXED_FIELD.color", issue.GetProperty("code").GetString());
        var action = issue.GetProperty("solution").GetProperty("immediate").GetProperty("action");
        Assert.Equal("/collections/is/index", action.GetProperty("uri").GetString());
        Assert.Equal("keyword", action.GetProperty("body").GetProperty("field_schema").GetString());

        (await server.Put("/collections/is/index?wait=true", """{"field_name": "color", "field_schema": "keyword"}""")).AssertOk();
        Assert.Empty((await server.Get("/issues")).AssertOk().Result.GetProperty("issues").EnumerateArray());

        (await server.Post("/collections/is/points/count", """{"filter": {"must": [{"key": "size", "range": {"gt": 1}}]}}""")).AssertOk();
        Assert.Single((await server.Get("/issues")).AssertOk().Result.GetProperty("issues").EnumerateArray());
        (await server.Delete("/issues")).AssertOk();
        Assert.Empty((await server.Get("/issues")).AssertOk().Result.GetProperty("issues").EnumerateArray());
    }

    [Fact]
    public async Task AnEmptyShouldListMatchesNothingAndValuesCountCountsEachValueAlone()
    {
        // Qdrant's query checker: `should: []` is "any of no conditions" (qdrant#554, kept), an absent or empty `must`
        // matches all; values_count counts each value the key reaches on its own and never adds them up.
        (await server.Put("/collections/f", """{"vectors": {"size": 2, "distance": "Dot"}}""")).AssertOk();
        (await server.Put("/collections/f/points?wait=true", """
            {"points": [
              {"id": 1, "vector": [1, 0], "payload": {"tags": ["a", "b", "c"], "reviews": [{"score": [1, 2]}, {"score": 3}]}},
              {"id": 2, "vector": [0, 1], "payload": {"tags": "a", "reviews": [{"score": [1, 2, 3]}]}},
              {"id": 3, "vector": [1, 1], "payload": {}}
            ]}
            """)).AssertOk();

        async Task<int[]> Count(string filter)
        {
            var result = (await server.Post("/collections/f/points/scroll", $$"""{"filter": {{filter}}, "limit": 10}""")).AssertOk().Result;
            return [.. result.GetProperty("points").EnumerateArray().Select(p => p.GetProperty("id").GetInt32())];
        }

        Assert.Empty(await Count("""{"should": []}"""));
        Assert.Empty(await Count("""{"must": [{"has_id": [1, 2]}], "should": []}"""));
        Assert.Equal(new[] { 1, 2, 3 }, await Count("""{"must": [], "must_not": []}"""));
        Assert.Equal(new[] { 1, 2, 3 }, await Count("""{"must_not": [{"should": []}]}"""));
        Assert.Equal(0, (await server.Post("/collections/f/points/count", """{"filter": {"should": []}, "exact": true}""")).AssertOk().Result.GetProperty("count").GetInt32());

        Assert.Equal(new[] { 1 }, await Count("""{"must": [{"key": "tags", "values_count": {"gte": 3}}]}"""));
        Assert.Empty(await Count("""{"must": [{"key": "tags[]", "values_count": {"gte": 2}}]}"""));
        Assert.Equal(new[] { 2 }, await Count("""{"must": [{"key": "reviews[].score", "values_count": {"gte": 3}}]}""")); // point 1: 2 and 1, not 3
        Assert.Equal(new[] { 1, 3 }, await Count("""{"must": [{"key": "reviews[].score", "values_count": {"lt": 2}}]}""")); // 3 alone counts 1; missing counts 0
        Assert.Equal(new[] { 3 }, await Count("""{"must": [{"key": "tags", "values_count": {"lt": 1}}]}""")); // a missing key counts 0
    }

    private static float[] Floats(JsonElement array) => [.. array.EnumerateArray().Select(v => v.GetSingle())];
}
