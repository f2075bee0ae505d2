using System.Text.Json;

namespace Vectorizer.Server.Tests;

/// <summary>
/// Full-text payload indexes over HTTP: the tokenizers and their options, and <c>match</c> <c>text</c> (all tokens),
/// <c>text_any</c> (any token) and <c>phrase</c> (tokens in order, adjacent) with and without an index. Every answer
/// is checked three ways that take different paths: scroll (the filter evaluator alone), count and a vector query
/// (the planner's token postings, then the evaluator).
/// </summary>
public sealed class TextIndexTests : IAsyncLifetime
{
    private const string Points = """
        {"points": [
          {"id": 1, "vector": [1, 0], "payload": {"t": "The Quick Brown Fox"}},
          {"id": 2, "vector": [1, 0], "payload": {"t": "quick-thinking brown dogs"}},
          {"id": 3, "vector": [1, 0], "payload": {"t": "Brown, the fox; quick!"}},
          {"id": 4, "vector": [1, 0], "payload": {"t": "slow green turtle"}},
          {"id": 5, "vector": [1, 0], "payload": {"t": ["red fox", "blue whale"]}},
          {"id": 6, "vector": [1, 0], "payload": {"t": 42}},
          {"id": 7, "vector": [1, 0], "payload": {"t": "Ação rápida"}}
        ]}
        """;

    private TestServer server = null!;

    public async Task InitializeAsync()
    {
        server = await TestServer.StartAsync();
        await Create("c");
    }

    public async Task DisposeAsync() => await server.DisposeAsync();

    private async Task Create(string name)
    {
        await server.CreateCollection(name, size: 2, distance: "Dot");
        (await server.Put($"/collections/{name}/points?wait=true", Points)).AssertOk();
    }

    private async Task Index(string collection, string schema) =>
        (await server.Put($"/collections/{collection}/index?wait=true", $$"""{"field_name": "t", "field_schema": {{schema}}}""")).AssertOk();

    /// <summary>The ids matching <c>{"key": "t", "match": {kind: text}}</c>, the same by scroll, count and query.</summary>
    private Task<List<int>> Match(string kind, string text, string collection = "c") => Match(server, kind, text, collection);

    private static async Task<List<int>> Match(TestServer server, string kind, string text, string collection = "c")
    {
        var condition = $$$"""{"key": "t", "match": {"{{{kind}}}": {{{JsonSerializer.Serialize(text)}}}}}""";
        var filter = $$"""{"must": [{{condition}}]}""";
        var scrolled = Ids((await server.Post($"/collections/{collection}/points/scroll", $$"""{"filter": {{filter}}, "limit": 100}""")).AssertOk().Result.GetProperty("points"));
        var queried = Ids((await server.Post($"/collections/{collection}/points/query", $$"""{"query": [1, 0], "filter": {{filter}}, "limit": 100}""")).AssertOk().Result.GetProperty("points"));
        var count = (await server.Post($"/collections/{collection}/points/count", $$"""{"filter": {{filter}}}""")).AssertOk().Result.GetProperty("count").GetInt32();
        var excluded = Ids((await server.Post($"/collections/{collection}/points/scroll", $$"""{"filter": {"must_not": [{{condition}}]}, "limit": 100}""")).Result.GetProperty("points"));
        Assert.Equal(scrolled, queried);
        Assert.Equal(scrolled.Count, count);
        Assert.Empty(scrolled.Intersect(excluded));
        var total = (await server.Post($"/collections/{collection}/points/count", "{}")).Result.GetProperty("count").GetInt32();
        Assert.Equal(total, scrolled.Count + excluded.Count);
        return scrolled;
    }

    private static List<int> Ids(JsonElement points) => [.. points.EnumerateArray().Select(p => p.GetProperty("id").GetInt32()).Order()];

    [Fact]
    public async Task WithoutAnIndexTextMatchesSubstrings()
    {
        Assert.Equal([2, 3], await Match("text", "quick"));
        Assert.Equal([1], await Match("text", "Brown Fox"));
        Assert.Equal([3, 4, 5], await Match("text_any", "fox turtle"));
        Assert.Equal([], await Match("phrase", "quick brown"));
        Assert.Equal([2], await Match("phrase", "quick-thinking"));
    }

    [Fact]
    public async Task WordIndexMatchesTokens()
    {
        await Index("c", "\"text\"");
        Assert.Equal([1, 2, 3], await Match("text", "quick"));
        Assert.Equal([1, 3], await Match("text", "Brown FOX"));
        Assert.Equal([5], await Match("text", "fox whale"));               // tokens of all the values together
        Assert.Equal([], await Match("text", "brown fox whale"));
        Assert.Equal([], await Match("text", "unseen"));
        Assert.Equal([], await Match("text", " ,;! "));                    // no tokens: nothing matches
        Assert.Equal([1, 3, 4, 5], await Match("text_any", "fox, turtle unseen"));
        Assert.Equal([1], await Match("phrase", "quick brown"));
        Assert.Equal([1], await Match("phrase", "Brown fox"));
        Assert.Equal([2], await Match("phrase", "quick thinking"));
        Assert.Equal([], await Match("phrase", "fox blue"));                // a phrase lies within one value
        Assert.Equal([7], await Match("text", "AÇÃO"));

        var schema = (await server.Get("/collections/c")).AssertOk().Result.GetProperty("payload_schema").GetProperty("t");
        Assert.Equal("text", schema.GetProperty("data_type").GetString());
        Assert.Equal(6, schema.GetProperty("points").GetInt32());

        // The evaluator alone (should, which the planner does not use) agrees with the postings (must).
        var should = (await server.Post("/collections/c/points/count", """{"filter": {"should": [{"key": "t", "match": {"text": "quick"}}]}}""")).Result.GetProperty("count").GetInt32();
        Assert.Equal(3, should);

        // Updates: rewritten payloads lose their old tokens, new ones are indexed.
        (await server.Post("/collections/c/points/payload?wait=true", """{"payload": {"t": "\u0051uick \"turtle\""}, "points": [4]}""")).AssertOk();
        Assert.Equal([1, 2, 3, 4], await Match("text", "quick"));
        Assert.Equal([4], await Match("phrase", "quick turtle"));
        Assert.Equal([], await Match("text", "slow"));
        (await server.Post("/collections/c/points/delete?wait=true", """{"points": [1]}""")).AssertOk();
        Assert.Equal([2, 3, 4], await Match("text", "quick"));
    }

    [Fact]
    public async Task TokenizerVariants()
    {
        await Create("ws");
        await Index("ws", """{"type": "text", "tokenizer": "whitespace"}""");
        Assert.Equal([1], await Match("text", "quick", "ws"));
        Assert.Equal([3], await Match("text", "FOX;", "ws"));
        Assert.Equal([2], await Match("phrase", "quick-thinking brown", "ws"));

        await Create("pre");
        await Index("pre", """{"type": "text", "tokenizer": "prefix", "min_token_len": 2, "max_token_len": 5}""");
        Assert.Equal([1, 2, 3], await Match("text", "QUI", "pre"));
        Assert.Equal([2], await Match("text", "thin brow", "pre"));
        Assert.Equal([1, 2, 3], await Match("text", "quickest", "pre"));     // the query word is cut to 5: "quick"
        Assert.Equal([], await Match("text", "q", "pre"));                   // shorter than min_token_len
        Assert.Equal([1, 3, 5], await Match("text_any", "fo", "pre"));

        await Create("case");
        await Index("case", """{"type": "text", "tokenizer": "word", "lowercase": false}""");
        Assert.Equal([2, 3], await Match("text", "quick", "case"));
        Assert.Equal([1], await Match("text", "Quick", "case"));

        await Create("len");
        await Index("len", """{"type": "text", "min_token_len": 4, "max_token_len": 6}""");
        Assert.Equal([], await Match("text", "fox", "len"));                 // dropped from the query and the index
        Assert.Equal([1, 2, 3], await Match("text", "fox quick", "len"));
        Assert.Equal([2], await Match("text_any", "dogs thinking", "len"));   // "thinking" is longer than 6

        await Create("fold");
        await Index("fold", """{"type": "text", "ascii_folding": true, "phrase_matching": true, "stopwords": {"custom": ["The"]}}""");
        Assert.Equal([7], await Match("text", "acao RAPIDA", "fold"));
        Assert.Equal([7], await Match("phrase", "ação rápida", "fold"));
        Assert.Equal([1, 3, 5], await Match("text", "the fox", "fold"));     // "the" is a stopword, gone from the query
        Assert.Equal([1], await Match("phrase", "the quick brown", "fold"));

        await server.CreateCollection("cjk", size: 2, distance: "Dot");
        (await server.Put("/collections/cjk/points?wait=true", """
            {"points": [{"id": 1, "vector": [1, 0], "payload": {"t": "東京タワー Tokyo"}}, {"id": 2, "vector": [1, 0], "payload": {"t": "京都 Kyoto"}}]}
            """)).AssertOk();
        await Index("cjk", """{"type": "text", "tokenizer": "multilingual"}""");
        var both = (await server.Post("/collections/cjk/points/count", """{"filter": {"must": [{"key": "t", "match": {"text": "京"}}]}}""")).Result.GetProperty("count").GetInt32();
        Assert.Equal(2, both);
        var tokyo = (await server.Post("/collections/cjk/points/scroll", """{"filter": {"must": [{"key": "t", "match": {"phrase": "東京"}}]}}""")).Result.GetProperty("points");
        Assert.Equal([1], Ids(tokyo));
        var kyoto = (await server.Post("/collections/cjk/points/scroll", """{"filter": {"must": [{"key": "t", "match": {"text": "kyoto"}}]}}""")).Result.GetProperty("points");
        Assert.Equal([2], Ids(kyoto));
    }

    [Fact]
    public async Task BadTextIndexParameters()
    {
        (await server.Put("/collections/c/index", """{"field_name": "t", "field_schema": {"type": "text", "tokenizer": "ngram"}}""")).AssertError(400, "unknown variant `ngram`");
        (await server.Put("/collections/c/index", """{"field_name": "t", "field_schema": {"type": "text", "min_token_len": -1}}""")).AssertError(400, "min_token_len");
        (await server.Put("/collections/c/index", """{"field_name": "t", "field_schema": {"type": "text", "lowercase": "yes"}}""")).AssertError(400, "lowercase");
        (await server.Put("/collections/c/index", """{"field_name": "t", "field_schema": {"type": "text", "stopwords": "english"}}""")).AssertError(400, "not supported yet");
        (await server.Put("/collections/c/index", """{"field_name": "t", "field_schema": {"type": "text", "stemmer": {"type": "snowball", "language": "english"}}}""")).AssertError(400, "not supported yet");
        Assert.Empty((await server.Get("/collections/c")).Result.GetProperty("payload_schema").EnumerateObject());
    }

    [Fact]
    public async Task TextIndexSurvivesRestartAndDrop()
    {
        var dataDir = TestServer.NewDataDir();
        try
        {
            await using (var first = await TestServer.StartAsync(dataDir: dataDir))
            {
                await first.CreateCollection("c", size: 2, distance: "Dot");
                (await first.Put("/collections/c/points?wait=true", Points)).AssertOk();
                (await first.Put("/collections/c/index?wait=true", """{"field_name": "t", "field_schema": {"type": "text", "tokenizer": "prefix", "max_token_len": 4}}""")).AssertOk();
            }

            await using var second = await TestServer.StartAsync(dataDir: dataDir);
            Assert.Equal([1, 2, 3], await Match(second, "text", "QUICKLY"));
            Assert.Equal("prefix", (await second.Get("/collections/c")).Result.GetProperty("payload_schema").GetProperty("t").GetProperty("params").GetProperty("tokenizer").GetString());

            (await second.Delete("/collections/c/index/t?wait=true")).AssertOk();
            Assert.Equal([], await Match(second, "text", "QUICKLY"));
            Assert.Equal([2, 3], await Match(second, "text", "quick"));
        }
        finally
        {
            TestServer.TryDelete(dataDir);
        }
    }
}
