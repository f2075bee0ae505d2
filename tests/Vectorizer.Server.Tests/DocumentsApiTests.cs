using System.Text.Json;

namespace Vectorizer.Server.Tests;

/// <summary><c>/documents</c> and <c>/search/text</c> over HTTP with the hash and BM25 embedders.</summary>
public sealed class DocumentsApiTests
{
    private const string Documents = """
        {"documents": [
          {"id": 1, "text": "HNSW builds a layered proximity graph; search descends the layers greedily.", "metadata": {"topic": "index"}},
          {"id": 2, "text": "The write-ahead log is fsynced before a write with wait=true is acknowledged.", "metadata": {"topic": "storage"}},
          {"id": 3, "text": "Checkpoints bound how much of the write-ahead log a restart has to replay.", "metadata": {"topic": "storage"}},
          {"id": 4, "text": "Payload filters select points by keyword, range or geo conditions.", "metadata": {"topic": "filters"}},
          {"id": "5b4a8f64-4b1e-4f3a-9a53-0c6b8a7d2e10", "text": "Sourdough bread needs a long, slow fermentation of the dough.", "metadata": {"topic": "baking"}}
        ]}
        """;

    private static async Task<List<string>> Search(TestServer server, string collection, string body)
    {
        var points = (await server.Post($"/collections/{collection}/search/text", body)).AssertOk().Result.GetProperty("points");
        return points.EnumerateArray().Select(p => p.GetProperty("id").ToString()).ToList();
    }

    [Fact]
    public async Task DocumentsAreEmbeddedAndFoundInEveryMode()
    {
        await using var server = await TestServer.StartAsync();
        (await server.Put("/collections/docs", """{"embedding": {"dense": {"provider": "hash"}, "sparse": {"provider": "bm25"}}}""")).AssertOk();

        // The embedders created their vectors; the Qdrant-shaped config does not carry our section.
        var config = (await server.Get("/collections/docs")).AssertOk().Result.GetProperty("config");
        Assert.Equal(512, config.GetProperty("params").GetProperty("vectors").GetProperty("dense").GetProperty("size").GetInt32());
        Assert.Equal("Cosine", config.GetProperty("params").GetProperty("vectors").GetProperty("dense").GetProperty("distance").GetString());
        Assert.Equal("idf", config.GetProperty("params").GetProperty("sparse_vectors").GetProperty("text").GetProperty("modifier").GetString());
        Assert.False(config.TryGetProperty("embedding", out _));
        var embedding = (await server.Get("/collections/docs/embedding")).AssertOk().Result;
        Assert.Equal("""{"dense":{"provider":"hash","vector":"dense","dimension":512},"sparse":{"provider":"bm25","vector":"text","k1":1.2,"b":0.75}}""", embedding.GetRawText());

        var added = (await server.Post("/collections/docs/documents?wait=true", Documents)).AssertOk().Result;
        Assert.Equal(5, added.GetProperty("documents").GetInt32());
        Assert.Equal(5, added.GetProperty("points").GetInt32());
        Assert.Equal("completed", added.GetProperty("status").GetString());
        Assert.Equal("[1,2,3,4,\"5b4a8f64-4b1e-4f3a-9a53-0c6b8a7d2e10\"]", added.GetProperty("ids").GetRawText());
        Assert.Equal(5, added.GetProperty("usage").GetProperty("embedded").GetInt32());

        Assert.Equal("1", (await Search(server, "docs", """{"query": "layered graph search", "mode": "dense"}"""))[0]);
        Assert.Equal("1", (await Search(server, "docs", """{"query": "layered graph search", "mode": "sparse"}"""))[0]);
        Assert.Equal("1", (await Search(server, "docs", """{"query": "layered graph search", "mode": "hybrid"}"""))[0]);
        Assert.Equal("1", (await Search(server, "docs", """{"query": "layered graph search"}"""))[0]);
        Assert.Equal("5b4a8f64-4b1e-4f3a-9a53-0c6b8a7d2e10", (await Search(server, "docs", """{"query": "how long should dough ferment?", "limit": 1}"""))[0]);

        // BM25 only returns documents that share a term; the filter applies in every mode.
        var sparse = await Search(server, "docs", """{"query": "write-ahead log replay", "mode": "sparse"}""");
        Assert.Equal(["3", "2"], sparse);
        foreach (var mode in new[] { "dense", "sparse", "hybrid" })
        {
            var filtered = await Search(server, "docs", $$$"""{"query": "write-ahead log replay", "mode": "{{{mode}}}", "filter": {"must": [{"key": "topic", "match": {"value": "storage"}}]}}""");
            Assert.Equal(["2", "3"], filtered.Order());
        }

        var top = (await server.Post("/collections/docs/search/text", """{"query": "geo conditions", "limit": 1}""")).AssertOk().Result.GetProperty("points")[0];
        Assert.Equal(4, top.GetProperty("id").GetInt32());
        Assert.Equal("filters", top.GetProperty("payload").GetProperty("topic").GetString());
        Assert.StartsWith("Payload filters", top.GetProperty("payload").GetProperty("content").GetString(), StringComparison.Ordinal);
        var bare = (await server.Post("/collections/docs/search/text", """{"query": "geo conditions", "limit": 1, "with_payload": false}""")).AssertOk().Result.GetProperty("points")[0];
        Assert.False(bare.TryGetProperty("payload", out _));

        // The points are ordinary points: Qdrant's API sees them.
        Assert.Equal(5, (await server.Post("/collections/docs/points/count", "{}")).AssertOk().Result.GetProperty("count").GetInt32());
    }

    [Fact]
    public async Task ChunkedDocumentsCarryTheirLineRanges()
    {
        await using var server = await TestServer.StartAsync();
        (await server.Put("/collections/kb", """{"embedding": {"dense": {"provider": "hash", "dimension": 256}, "sparse": {"provider": "bm25"}}}""")).AssertOk();
        var markdown = "# Vectorizer\\n\\nA vector database.\\n\\n## Backups\\n\\nSnapshots are copied to the backup folder nightly.\\n\\n## Replication\\n\\nFollowers replay the leader's log.\\n";
        var body = $$$"""{"documents": [{"id": 7, "text": "{{{markdown}}}", "metadata": {"file_path": "docs/guide.md", "team": "core"}}], "chunk": true}""";
        var added = (await server.Post("/collections/kb/documents?wait=true", body)).AssertOk().Result;
        Assert.Equal(3, added.GetProperty("points").GetInt32());

        // Re-adding the same document replaces its chunks (the ids derive from the document id and chunk index).
        var again = (await server.Post("/collections/kb/documents?wait=true", body)).AssertOk().Result;
        Assert.Equal(added.GetProperty("ids").GetRawText(), again.GetProperty("ids").GetRawText());
        Assert.Equal(3, (await server.Post("/collections/kb/points/count", "{}")).AssertOk().Result.GetProperty("count").GetInt32());

        var hit = (await server.Post("/collections/kb/search/text", """{"query": "nightly backup snapshots", "limit": 1}""")).AssertOk().Result.GetProperty("points")[0].GetProperty("payload");
        Assert.Equal("## Backups\n\nSnapshots are copied to the backup folder nightly.", hit.GetProperty("content").GetString());
        Assert.Equal(5, hit.GetProperty("start_line").GetInt32());
        Assert.Equal(7, hit.GetProperty("end_line").GetInt32());
        Assert.Equal(1, hit.GetProperty("chunk_index").GetInt32());
        Assert.Equal("docs/guide.md", hit.GetProperty("file_path").GetString());
        Assert.Equal("markdown", hit.GetProperty("language").GetString());
        Assert.Equal("7", hit.GetProperty("document_id").GetString());
        Assert.Equal("core", hit.GetProperty("team").GetString());
        Assert.Equal(64, hit.GetProperty("content_hash").GetString()!.Length);
        Assert.Equal(64, hit.GetProperty("file_hash").GetString()!.Length);
        Assert.Equal(JsonValueKind.Null, hit.GetProperty("mtime").ValueKind);
    }

    [Fact]
    public async Task TextSearchReturnsOneChunkPerDocumentUnlessAskedForMore()
    {
        await using var server = await TestServer.StartAsync();
        (await server.Put("/collections/kb", """{"embedding": {"dense": {"provider": "hash", "dimension": 256}, "sparse": {"provider": "bm25"}}}""")).AssertOk();
        var guide = "# Backups\\n\\nSnapshots of backups are copied nightly.\\n\\n## Restore backups\\n\\nRestore backups from the snapshot folder.\\n\\n## Verify backups\\n\\nBackups are verified by checksum.\\n";
        var body = $$$"""
            {"documents": [
              {"id": 7, "text": "{{{guide}}}", "metadata": {"file_path": "docs/backups.md"}},
              {"id": 8, "text": "# Replication\\n\\nFollowers replay the leader's log; backups are taken on the leader.\\n", "metadata": {"file_path": "docs/replication.md"}},
              {"id": 9, "text": "Backups of backups: an unchunked note."}
            ], "chunk": true}
            """;
        (await server.Post("/collections/kb/documents?wait=true", body)).AssertOk();

        async Task<List<JsonElement>> Found(string extra)
        {
            var points = (await server.Post("/collections/kb/search/text", $$"""{"query": "backups", "limit": 10{{extra}}}""")).AssertOk().Result.GetProperty("points");
            return [.. points.EnumerateArray()];
        }

        // By default each document's best chunk only: three chunks of the guide would otherwise fill the page.
        var grouped = await Found("");
        Assert.Equal(3, grouped.Count);
        Assert.Equal(["7", "8", "9"], grouped.Select(p => p.GetProperty("payload").GetProperty("document_id").GetString()).Order());

        var all = await Found(""", "max_per_document": 0""");
        Assert.Equal(5, all.Count);
        Assert.Equal(3, all.Count(p => p.GetProperty("payload").GetProperty("document_id").GetString() == "7"));
        Assert.Equal(4, (await Found(""", "max_per_document": 2""")).Count);

        // The page is cut after grouping (limit and offset count documents' chunks kept), and the payload selection still applies.
        var second = (await server.Post("/collections/kb/search/text", """{"query": "backups", "limit": 1, "offset": 1, "with_payload": false}""")).AssertOk().Result.GetProperty("points");
        Assert.Equal(grouped[1].GetProperty("id").ToString(), second[0].GetProperty("id").ToString());
        Assert.False(second[0].TryGetProperty("payload", out var payload) && payload.ValueKind == JsonValueKind.Object);

        (await server.Post("/collections/kb/search/text", """{"query": "backups", "max_per_document": -1}""")).AssertError(422, "max_per_document");
    }

    [Fact]
    public async Task BadEmbeddingConfigurationsAreRejected()
    {
        await using var server = await TestServer.StartAsync();
        (await server.Put("/collections/a", """{"embedding": {"dense": {"provider": "word2vec"}}}"""))
            .AssertError(400, "unknown dense embedding provider `word2vec`, expected one of `local`, `hash`, `openai`");
        (await server.Put("/collections/a", """{"embedding": {"sparse": {"provider": "splade"}}}"""))
            .AssertError(400, "unknown sparse embedding provider `splade`");
        (await server.Put("/collections/a", """{"vectors": {"dense": {"size": 384, "distance": "Cosine"}}, "embedding": {"dense": {"provider": "hash"}}}"""))
            .AssertError(400, "the `hash` provider makes 512-dimensional vectors but vector `dense` has size 384");
        (await server.Put("/collections/a", """{"sparse_vectors": {"text": {}}, "embedding": {"sparse": {"provider": "bm25"}}}"""))
            .AssertError(400, "bm25 needs");
        (await server.Put("/collections/a", """{"vectors": {"size": 512, "distance": "Cosine"}, "embedding": {"dense": {"provider": "hash"}}}"""))
            .AssertError(400, "it has one unnamed vector");
        (await server.Put("/collections/a", """{"embedding": {"dense": {"provider": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "m"}}}"""))
            .AssertError(400, "set `dimensions` or declare vector `dense`");
        (await server.Put("/collections/a", """{"embedding": {"dense": {"provider": "hash", "dimension": 0}}}"""))
            .AssertError(400, "embedding.dense.dimension: value 0 invalid");
        Assert.False((await server.Get("/collections/a/exists")).AssertOk().Result.GetProperty("exists").GetBoolean());

        // Declared vectors of the right size are used as they are; the unnamed vector works with "vector": "".
        (await server.Put("/collections/a", """{"vectors": {"size": 64, "distance": "Dot"}, "embedding": {"dense": {"provider": "hash", "dimension": 64, "vector": ""}}}""")).AssertOk();
        (await server.Post("/collections/a/documents", """{"documents": [{"text": "plain vectors"}]}""")).AssertOk();
        Assert.Single(await Search(server, "a", """{"query": "plain"}"""));
        (await server.Post("/collections/a/search/text", """{"query": "plain", "mode": "sparse"}""")).AssertError(400, "has no sparse embedder");
        (await server.Patch("/collections/a", """{"embedding": {"dense": {"provider": "hash"}}}""")).AssertError(400, "embedding can not be changed");

        // A plain Qdrant collection has no embedders.
        await server.CreateCollection("plain");
        (await server.Post("/collections/plain/documents", """{"documents": [{"text": "x"}]}""")).AssertError(400, "has no `embedding` configuration");
        (await server.Post("/collections/plain/search/text", """{"query": "x"}""")).AssertError(400, "has no `embedding` configuration");
        (await server.Post("/collections/a/documents", """{"documents": [{"text": "  "}]}""")).AssertError(400, "documents[0].text: must not be empty");
        (await server.Post("/collections/a/documents", """{"documents": []}""")).AssertError(422, "must contain at least 1 item");
        (await server.Post("/collections/a/search/text", """{"query": "x", "mode": "fuzzy"}""")).AssertError(400, "unknown variant `fuzzy`");
        (await server.Post("/collections/missing/documents", """{"documents": [{"text": "x"}]}""")).AssertError(404, "doesn't exist");
    }

    [Fact]
    public async Task Bm25SearchSurvivesRestart()
    {
        var dataDir = TestServer.NewDataDir();
        try
        {
            const string query = """{"query": "compaction of segments", "mode": "sparse"}""";
            List<string> before;
            await using (var server = await TestServer.StartAsync(dataDir: dataDir))
            {
                (await server.Put("/collections/bm", """{"embedding": {"sparse": {"provider": "bm25"}}}""")).AssertOk();
                (await server.Post("/collections/bm/documents?wait=true", """
                    {"documents": [
                      {"id": 1, "text": "Segments are merged by compaction in the background."},
                      {"id": 2, "text": "Compaction rewrites segments without deleted points; compaction is cheap."},
                      {"id": 3, "text": "Aliases switch atomically between collections."}
                    ]}
                    """)).AssertOk();
                before = await Search(server, "bm", query);
                Assert.Equal(2, before.Count);
            }

            var statsFile = Path.Combine(dataDir, "collections", "bm", "ingest", "bm25.text.json");
            Assert.Equal("""{"documents":3,"total_length":17}""", File.ReadAllText(statsFile));
            await using (var server = await TestServer.StartAsync(dataDir: dataDir))
            {
                Assert.Equal(before, await Search(server, "bm", query));
                (await server.Post("/collections/bm/documents?wait=true", """{"documents": [{"id": 4, "text": "Compaction compaction compaction."}]}""")).AssertOk();
                // The new document was normalised with the persisted average length: short and dense in the term, it ranks first.
                Assert.Equal("4", (await Search(server, "bm", """{"query": "compaction", "mode": "sparse"}"""))[0]);
            }

            Assert.Equal("""{"documents":4,"total_length":20}""", File.ReadAllText(statsFile));
        }
        finally
        {
            TestServer.TryDelete(dataDir);
        }
    }
}

/// <summary>The server config's <c>embedding:</c> section: validated at startup, used for collections created by <c>/documents</c>.</summary>
public sealed class EmbeddingConfigTests
{
    [Fact]
    public void UnknownProviderOrBadValueInTheConfigStopsStartup()
    {
        var issues = Configuration.ConfigLoader.ValidateYaml("""
            embedding:
              dense:
                provider: word2vec
            """);
        var issue = Assert.Single(issues);
        Assert.Equal("embedding.dense.provider", issue.Key);
        Assert.Contains("unknown dense embedding provider `word2vec`", issue.Message, StringComparison.Ordinal);

        issue = Assert.Single(Configuration.ConfigLoader.ValidateYaml("embedding:\n  sparse:\n    provider: bm25\n    b: 2\n"));
        Assert.Equal("embedding.sparse.b", issue.Key);
        issue = Assert.Single(Configuration.ConfigLoader.ValidateYaml("embedding:\n  dense:\n    provider: openai\n    model: m\n"));
        Assert.Contains("`` is not an http(s) URL", issue.Message, StringComparison.Ordinal);

        Assert.Empty(Configuration.ConfigLoader.ValidateYaml("""
            embedding:
              dense:
                provider: openai
                base_url: "https://api.openai.com/v1"
                model: "text-embedding-3-small"
                api_key_env: "OPENAI_API_KEY"
                dimensions: 512
                cost_per_1k_tokens: 0.00002
              sparse:
                provider: bm25
                k1: 1.5
            """));
    }

    [Fact]
    public async Task DocumentsCreateAMissingCollectionWithTheConfiguredEmbedders()
    {
        await using (var plain = await TestServer.StartAsync())
        {
            (await plain.Post("/collections/auto/documents", """{"documents": [{"text": "x"}]}""")).AssertError(404, "doesn't exist");
        }

        await using var server = await TestServer.StartAsync(settings =>
        {
            settings.Embedding.Dense.Provider = "hash";
            settings.Embedding.Dense.Dimension = 128;
            settings.Embedding.Sparse.Provider = "bm25";
        });
        (await server.Post("/collections/auto/documents?wait=true", """{"documents": [{"id": 1, "text": "first note"}, {"id": 2, "text": "second note about graphs"}]}""")).AssertOk();
        var vectors = (await server.Get("/collections/auto")).AssertOk().Result.GetProperty("config").GetProperty("params").GetProperty("vectors");
        Assert.Equal(128, vectors.GetProperty("dense").GetProperty("size").GetInt32());
        var top = (await server.Post("/collections/auto/search/text", """{"query": "graphs"}""")).AssertOk().Result.GetProperty("points")[0];
        Assert.Equal(2, top.GetProperty("id").GetInt32());
    }
}
