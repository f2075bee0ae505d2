using System.Text;

namespace Vectorizer.Server.Tests;

/// <summary>Every kind of bad input gets a 4xx in Qdrant's error envelope, changes nothing, and leaves the server healthy.</summary>
public sealed class BadInputTests : IAsyncLifetime
{
    private TestServer server = null!;

    public async Task InitializeAsync()
    {
        server = await TestServer.StartAsync(s => s.Limits.MaxRequestMb = 1);
        await server.CreateCollection("c", size: 3);
        (await server.Put("/collections/c/points?wait=true", """{"points": [{"id": 1, "vector": [1, 0, 0], "payload": {"k": "v"}}]}""")).AssertOk();
    }

    public async Task DisposeAsync() => await server.DisposeAsync();

    private async Task AssertUnchanged()
    {
        Assert.Equal(200, (int)(await server.Client.GetAsync("/healthz")).StatusCode);
        var point = (await server.Get("/collections/c/points/1")).AssertOk().Result;
        Assert.Equal(1f, point.GetProperty("vector")[0].GetSingle());
        Assert.Equal("v", point.GetProperty("payload").GetProperty("k").GetString());
        Assert.Equal(1, (await server.Post("/collections/c/points/count", "{}")).Result.GetProperty("count").GetInt32());
        Assert.Equal(["c"], (await server.Get("/collections")).Result.GetProperty("collections").EnumerateArray().Select(c => c.GetProperty("name").GetString()));
    }

    [Theory]
    [InlineData("""{"points": [{"id": 2, "vector": [1, 2]}]}""", 400, "Vector dimension error: expected dim: 3, got 2")]
    [InlineData("""{"points": [{"id": 2, "vector": [1, 2, NaN]}]}""", 400, "Format error in JSON body")]
    [InlineData("""{"points": [{"id": 2, "vector": [1, 2, 1e39]}]}""", 400, "expected a finite number")]
    [InlineData("""{"points": [{"id": 2, "vector": {"other": [1, 2, 3]}}]}""", 400, "Not existing vector name error: other")]
    [InlineData("""{"points": [{"id": -1, "vector": [1, 2, 3]}]}""", 400, "value -1 is not a valid point ID")]
    [InlineData("""{"points": [{"id": "123", "vector": [1, 2, 3]}]}""", 400, "value 123 is not a valid point ID")]
    [InlineData("""{"points": [{"id": 1.5, "vector": [1, 2, 3]}]}""", 400, "not a valid point ID")]
    [InlineData("""{"points": [{"id": 2}]}""", 400, "missing field `vector`")]
    [InlineData("""{"points": [{"id": 2, "vector": [1, 2, 3], "payload": [1]}]}""", 400, "expected a payload object")]
    [InlineData("""{"points": [{"id": 2, "vector": [1, 2, 3]}, {"id": 3, "vector": [1, 2]}]}""", 400, "expected dim: 3, got 2")]
    [InlineData("""{"points": [""", 400, "Format error in JSON body")]
    [InlineData("""hello""", 400, "Format error in JSON body")]
    [InlineData("", 400, "EOF while parsing")]
    [InlineData("""{"nothing": 1}""", 400, "expected `points` or `batch`")]
    [InlineData("""{"batch": {"ids": [1, 2], "vectors": [[1, 2, 3]]}}""", 422, "has 1 vectors for 2 ids")]
    public async Task BadUpserts(string body, int status, string message)
    {
        (await server.Put("/collections/c/points?wait=true", body)).AssertError(status, message);
        await AssertUnchanged();
    }

    [Theory]
    [InlineData("""{"query": [1, 0]}""", 400, "Vector dimension error: expected dim: 3, got 2")]
    [InlineData("""{"query": [1, 0, 0], "limit": 0}""", 422, "limit: value 0 invalid, must be 1 or larger")]
    [InlineData("""{"query": [1, 0, 0], "limit": -5}""", 400, "limit: invalid value: number -5, expected an unsigned integer")]
    [InlineData("""{"query": [1, 0, 0], "limit": 1.5}""", 400, "limit: invalid value: number 1.5, expected an unsigned integer")]
    [InlineData("""{"query": [1, 0, 0], "limit": "10"}""", 400, "expected an unsigned integer")]
    [InlineData("""{"query": [1, 0, 0], "offset": -1}""", 400, "offset: invalid value: number -1, expected an unsigned integer")]
    [InlineData("""{"query": [1, 0, 0], "using": "nope"}""", 400, "Not existing vector name error: nope")]
    [InlineData("""{"query": [1, 0, 0], "filter": {"must": [{"key": "k", "match": {"value": "v"}}], "bogus": 1}}""", 400, "unknown field `bogus`")]
    [InlineData("""{"query": [1, 0, 0], "filter": {"must": [{"key": "k"}]}}""", 422, "At least one field condition must be specified")]
    [InlineData("""{"query": [1, 0, 0], "filter": {"must": [{"key": "k", "match": {}}]}}""", 400, "expected one of `value`")]
    [InlineData("""{"query": [1, 0, 0], "filter": {"must": [{"nonsense": true}]}}""", 400, "Expected some form of condition")]
    [InlineData("""{"query": [1, 0, 0], "filter": {"must": [{"key": "a..b", "match": {"value": 1}}]}}""", 400, "invalid payload key")]
    [InlineData("""{"query": [1, 0, 0], "filter": {"must": [{"key": "k", "range": {"gt": "yesterday"}}]}}""", 400, "invalid datetime")]
    [InlineData("""{"query": [1, 0, 0], "filter": {"min_should": {"conditions": []}}}""", 400, "missing field `min_count`")]
    [InlineData("""{"query": [1, 0, 0], "with_payload": {"include": ["k"], "extra": 1}}""", 400, "unknown field `extra`")]
    [InlineData("""{"query": 424242}""", 404, "No point with id 424242 found")]
    public async Task BadQueries(string body, int status, string message)
    {
        (await server.Post("/collections/c/points/query", body)).AssertError(status, message);
        await AssertUnchanged();
    }

    [Fact]
    public async Task BadQueryStringsAndMissingThings()
    {
        (await server.Put("/collections/c/points?wait=maybe", """{"points": []}""")).AssertError(400, "invalid value `maybe` for `wait`");
        (await server.Put("/collections/c/points?ordering=fast", """{"points": []}""")).AssertError(400, "unknown variant `fast`");
        (await server.Post("/collections/missing/points/query", """{"query": [1, 0, 0]}""")).AssertError(404, "Collection `missing` doesn't exist!");
        (await server.Put("/collections/missing/points", """{"points": []}""")).AssertError(404, "Collection `missing` doesn't exist!");
        (await server.Post("/collections/missing/points/scroll", "{}")).AssertError(404, "doesn't exist");
        (await server.Get("/collections/missing/points/1")).AssertError(404, "doesn't exist");
        (await server.Delete("/collections/c/points")).AssertError(405, "Method not allowed");
        (await server.Get("/no/such/route")).AssertError(404, "no endpoint");
        (await server.Post("/collections/c/points/payload/delete", """{"keys": ["k"], "points": [5]}""")).AssertError(404, "No point with id 5 found");
        await AssertUnchanged();
    }

    [Theory]
    [InlineData("..", 405, "PUT /")] // Kestrel resolves dot segments (also encoded ones): this is PUT /
    [InlineData("%2E%2E", 405, "PUT /")]
    [InlineData("..%2F..%2Fescaped", 422, "collection name cannot contain \"/\"")]
    [InlineData("a%5Cb", 422, "collection name cannot contain \"\\\"")]
    [InlineData("x:y", 422, "collection name cannot contain \":\"")]
    [InlineData("tab%09name", 422, "control characters")]
    public async Task UnsafeCollectionNamesAreRejected(string name, int status, string message)
    {
        // Send the path exactly as written: no client-side dot-segment removal or unescaping.
        using var client = new HttpClient();
        var uri = new Uri($"{server.Url}/collections/{name}", new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true });
        (await client.SendJson(HttpMethod.Put, uri.ToString(), """{"vectors": {"size": 3, "distance": "Dot"}}""")).AssertError(status, message);
        Assert.False(Directory.Exists(Path.Combine(server.DataDir, "escaped")));
        Assert.False(Directory.Exists(Path.Combine(Path.GetDirectoryName(server.DataDir)!, "escaped")));
        await AssertUnchanged();
    }

    [Fact]
    public async Task OverlongNameAndBadCollectionConfigs()
    {
        (await server.Put($"/collections/{new string('n', 300)}", """{"vectors": {"size": 3, "distance": "Dot"}}""")).AssertError(422, "must be from 1 to 255 bytes");
        (await server.Put("/collections/x", """{"vectors": {"size": 0, "distance": "Dot"}}""")).AssertError(422, "size: value 0 invalid");
        (await server.Put("/collections/x", """{"vectors": {"size": 70000, "distance": "Dot"}}""")).AssertError(422, "size: value 70000 invalid");
        (await server.Put("/collections/x", """{"vectors": {"size": "big", "distance": "Dot"}}""")).AssertError(400, "expected an integer");
        (await server.Put("/collections/x", """{"vectors": {"size": 3, "distance": "Hamming"}}""")).AssertError(400, "unknown variant `Hamming`");
        (await server.Put("/collections/x", """{"vectors": {"size": 3}}""")).AssertError(400, "missing field `distance`");
        (await server.Put("/collections/x", "{}")).AssertError(400, "missing field `vectors`");
        (await server.Put("/collections/x", "")).AssertError(400, "EOF while parsing");
        (await server.Put("/collections/x", """{"vectors": {"size": 3, "distance": "Dot"}, "hnsw_config": {"ef_construct": 1}}""")).AssertError(422, "ef_construct: value 1 invalid");
        (await server.Put("/collections/x", """{"vectors": {"size": 3, "distance": "Dot"}, "optimizers_config": {"deleted_threshold": 2}}""")).AssertError(422, "deleted_threshold");
        (await server.Patch("/collections/c", """{"vectors": {"nope": {"on_disk": true}}}""")).AssertError(400, "Not existing vector name error: nope");
        await AssertUnchanged();
    }

    [Fact]
    public async Task OversizedAndDeeplyNestedBodies()
    {
        // Bodies well past the limit, declared (Content-Length) and streamed (chunked): the client, still
        // uploading when the server decides, must get the 413 rather than a reset connection.
        var big = new StringBuilder("{\"points\": [{\"id\": 2, \"vector\": [1, 2, 3], \"payload\": {\"blob\": \"").Append('x', 16 << 20).Append("\"}}]}").ToString();
        for (var i = 0; i < 3; i++)
        {
            (await server.Put("/collections/c/points?wait=true", big)).AssertError(413, "larger than allowed");
        }

        using (var client = new HttpClient())
        using (var streamed = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(big))))
        {
            streamed.Headers.ContentType = new("application/json");
            using var request = new HttpRequestMessage(HttpMethod.Put, $"{server.Url}/collections/c/points?wait=true") { Content = streamed };
            request.Headers.TransferEncodingChunked = true;
            (await client.SendAndRead(request)).AssertError(413, "larger than allowed");
        }

        var deep = new string('[', 200) + new string(']', 200);
        (await server.Put("/collections/c/points", "{\"points\": [{\"id\": 2, \"vector\": [1, 2, 3], \"payload\": {\"d\": " + deep + "}}]}")).AssertError(400, "Format error in JSON body");
        var tooMany = new StringBuilder("""{"points": [""");
        for (var i = 0; i < 10_001; i++)
        {
            tooMany.Append(i == 0 ? "" : ",").Append("{\"id\":").Append(i + 10).Append(",\"vector\":[1,0,0]}");
        }

        (await server.Put("/collections/c/points", tooMany.Append("]}").ToString())).AssertError(422, "too many points");
        await AssertUnchanged();
    }
}
