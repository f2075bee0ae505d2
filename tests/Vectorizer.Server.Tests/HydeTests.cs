using System.Diagnostics;
using System.Text.Json;

namespace Vectorizer.Server.Tests;

/// <summary>
/// HyDE (<c>"expand": {"hyde": true}</c> on <c>/search/text</c>) against <see cref="ChatServer"/>, a deterministic
/// OpenAI-compatible chat server on a real socket, through the server's real path: the <c>llm:</c> settings, the OpenAI
/// SDK's chat client as Microsoft.Extensions.AI's IChatClient, our retry pipeline, the timeout, the cache of texts.
/// </summary>
public sealed class HydeTests
{
    private const string Documents = """
        {"documents": [
          {"id": 1, "text": "git stash saves your local modifications away and reverts the working directory to match the HEAD commit."},
          {"id": 2, "text": "The central bank raised interest rates again to fight inflation."},
          {"id": 3, "text": "Sourdough bread needs a long, slow fermentation of the dough."}
        ]}
        """;

    private const string Passage = "Use git stash: it saves your local modifications away and reverts the working directory to match the HEAD commit.";

    private static async Task<TestServer> StartAsync(ChatServer chat)
    {
        var server = await TestServer.StartAsync(s =>
        {
            s.Llm.BaseUrl = chat.BaseUrl;
            s.Llm.Model = "test-chat";
            s.Llm.TimeoutSeconds = 2.5;
            s.Llm.MaxRetries = 2;
        });
        (await server.Put("/collections/docs", """{"embedding": {"dense": {"provider": "hash"}, "sparse": {"provider": "bm25"}}}""")).AssertOk();
        (await server.Post("/collections/docs/documents?wait=true", Documents)).AssertOk();
        return server;
    }

    private static async Task<(List<string> Ids, JsonElement Expansion)> Search(TestServer server, string question, string expand = """{"hyde": true}""", string mode = "dense")
    {
        var body = JsonSerializer.Serialize(new { query = question, mode, limit = 3 });
        body = body[..^1] + $$""", "expand": {{expand}}}""";
        var result = (await server.Post("/collections/docs/search/text", body)).AssertOk().Result;
        var ids = result.GetProperty("points").EnumerateArray().Select(p => p.GetProperty("id").ToString()).ToList();
        return (ids, result.GetProperty("expansion").Clone());
    }

    [Fact]
    public async Task TheHypotheticalAnswerIsEmbeddedCachedAndRetried()
    {
        await using var chat = await ChatServer.StartAsync();
        await using var server = await StartAsync(chat);
        const string question = "put my unfinished work aside for a while";
        chat.Answer(question, Passage);

        // The question shares no word with any document; the LLM's passage does with the first.
        var (ids, expansion) = await Search(server, question, """{"hyde": true, "mode": "replace"}""");
        Assert.Equal("applied", expansion.GetProperty("hyde").GetString());
        Assert.True(expansion.GetProperty("expanded").GetBoolean());
        Assert.Equal(Passage, expansion.GetProperty("text").GetString());
        Assert.Equal("1", ids[0]);
        Assert.Equal(1, chat.Requests);
        Assert.Equal([question], chat.Questions);

        // The same question again, averaged with the passage this time: the text comes from the cache, no LLM call.
        (ids, expansion) = await Search(server, question);
        Assert.Equal("cached", expansion.GetProperty("hyde").GetString());
        Assert.Equal(Passage, expansion.GetProperty("text").GetString());
        Assert.Equal("1", ids[0]);
        Assert.Equal(1, chat.Requests);

        // Transient failures are retried (503 twice, then the answer): three requests, one expansion.
        chat.FailNext(503, 2);
        (_, expansion) = await Search(server, "where did my edits go");
        Assert.Equal("applied", expansion.GetProperty("hyde").GetString());
        Assert.Equal(4, chat.Requests);

        // Failing after the retries: the search runs without expansion, says so, and the failure is not cached.
        chat.FailNext(500, 3);
        (ids, expansion) = await Search(server, "what does the bank do about prices");
        Assert.Equal("failed", expansion.GetProperty("hyde").GetString());
        Assert.False(expansion.GetProperty("expanded").GetBoolean());
        Assert.False(expansion.TryGetProperty("text", out _));
        Assert.Contains("the LLM failed", expansion.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(3, ids.Count);
        Assert.Equal(7, chat.Requests);
        (_, expansion) = await Search(server, "what does the bank do about prices");
        Assert.Equal("applied", expansion.GetProperty("hyde").GetString());
        Assert.Equal(8, chat.Requests);

        // Without `expand`, no LLM call and no `expansion` in the answer (the plain /points/query shape).
        var plain = (await server.Post("/collections/docs/search/text", """{"query": "put my unfinished work aside for a while"}""")).AssertOk().Result;
        Assert.False(plain.TryGetProperty("expansion", out _));
        Assert.Equal(8, chat.Requests);
    }

    [Fact]
    public async Task ASlowLlmTimesOutAndTheSearchProceedsWithoutExpansion()
    {
        await using var chat = await ChatServer.StartAsync();
        await using var server = await StartAsync(chat);
        const string question = "how long should bread rise";
        chat.Delay(question, TimeSpan.FromSeconds(20));

        var clock = Stopwatch.StartNew();
        var (ids, expansion) = await Search(server, question, mode: "hybrid");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"took {clock.Elapsed}");
        Assert.Equal("timed_out", expansion.GetProperty("hyde").GetString());
        Assert.False(expansion.GetProperty("expanded").GetBoolean());
        Assert.Contains("llm.timeout_seconds", expansion.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("3", ids[0]); // BM25 still finds the bread: the search ran, unexpanded
    }

    [Fact]
    public async Task ExpansionRequestsAreCheckedBeforeAnythingRuns()
    {
        await using var chat = await ChatServer.StartAsync();
        await using (var server = await StartAsync(chat))
        {
            (await server.Post("/collections/docs/search/text", """{"query": "q", "mode": "sparse", "expand": {"hyde": true}}"""))
                .AssertError(400, "HyDE expands the dense part of a search");
            (await server.Post("/collections/docs/search/text", """{"query": "q", "expand": {"hyde": "yes"}}""")).AssertError(400, "expand.hyde");
            (await server.Post("/collections/docs/search/text", """{"query": "q", "expand": {"hyde": true, "mode": "both"}}""")).AssertError(400, "expected `average` or `replace`");
            (await server.Post("/collections/docs/search/text", """{"query": "q", "expand": {"hyde": true, "temperature": 1}}""")).AssertError(400, "temperature");
            Assert.Equal(0, chat.Requests);
        }

        // No `llm:` section: refused, with what to configure.
        await using var bare = await TestServer.StartAsync();
        (await bare.Put("/collections/docs", """{"embedding": {"dense": {"provider": "hash"}}}""")).AssertOk();
        (await bare.Post("/collections/docs/search/text", """{"query": "q", "expand": {"hyde": true}}""")).AssertError(400, "no LLM is configured");
    }
}
