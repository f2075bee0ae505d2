using System.Net;
using System.Text;
using System.Text.Json;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Vectorizer.Server.Application;
using Vectorizer.Server.Security;
using Xunit.Abstractions;

namespace Vectorizer.Server.Tests;

/// <summary>
/// The MCP server at <c>/mcp</c> of a real server, driven by the official C# SDK client over streamable HTTP: tool
/// registration and schemas, every tool called with valid arguments (its structured content checked against its output
/// schema) and with invalid ones (a tool error naming the bad argument), errors, resources, prompts, progress,
/// cancellation and authentication.
/// </summary>
public sealed class McpServerTests(ITestOutputHelper output)
{
    private static readonly string Berlin = """{"id": 1, "vector": [0.05, 0.61, 0.76, 0.74], "payload": {"city": "Berlin"}}""";
    private static readonly string London = """{"id": 2, "vector": [0.19, 0.81, 0.75, 0.11], "payload": {"city": "London"}}""";
    private static readonly string Moscow = """{"id": 3, "vector": [0.36, 0.55, 0.47, 0.94], "payload": {"city": "Moscow"}}""";
    private static readonly string TextEmbedding = """{"dense": {"provider": "hash", "dimension": 16}, "sparse": {"provider": "bm25"}}""";

    private static string SourceTree()
    {
        var root = TestPaths.NewPath("mcp-src-");
        Directory.CreateDirectory(Path.Combine(root, "guide"));
        File.WriteAllText(Path.Combine(root, "backups.md"), "# Backups\n\nSnapshots are copied nightly to the backup host.\n");
        File.WriteAllText(Path.Combine(root, "guide", "restore.md"), "# Restore\n\nCopy a snapshot back and restart the server.\n");
        File.WriteAllText(Path.Combine(root, "guide", "tuning.md"), "# Tuning\n\nRaise ef to trade speed for recall.\n");
        return root;
    }

    [Fact]
    public async Task EveryToolIsRegisteredWithValidSchemasAndWorksAsItsSchemasSay()
    {
        var source = SourceTree();
        await using var server = await TestServer.StartAsync(settings => settings.Security.AllowedRoots = [TestPaths.Root]);
        await using var client = await McpSupport.ConnectAsync(server.Url);

        var tools = await client.ListToolsAsync();
        Assert.Equal(McpSupport.ExpectedTools.Order(), tools.Select(t => t.Name).Order());
        var byName = tools.ToDictionary(t => t.Name, t => t.ProtocolTool);
        foreach (var tool in byName.Values)
        {
            McpSupport.AssertValidSchema(tool.InputSchema, $"{tool.Name} input schema");
            McpSupport.AssertValidSchema(tool.OutputSchema!.Value, $"{tool.Name} output schema");
            Assert.True(tool.Description?.Length > 40, $"{tool.Name}: describe what it does for an agent");
            foreach (var property in tool.InputSchema.GetProperty("properties").EnumerateObject())
            {
                Assert.True(property.Value.TryGetProperty("description", out _), $"{tool.Name}.{property.Name} has no description");
            }

            Assert.NotNull(tool.Annotations);
            Assert.Equal(tool.Annotations!.ReadOnlyHint, tool.Name is "list_collections" or "get_collection" or "list_aliases" or "get_points" or "count_points"
                or "scroll_points" or "search" or "search_text" or "hybrid_query" or "recommend" or "watcher_status" or "server_status" or "list_backups");
        }

        // Valid calls, in an order that builds what the next needs; each result checked against the output schema.
        var called = new HashSet<string>();
        async Task<JsonElement> Valid(string tool, string arguments)
        {
            var result = await client.Call(tool, arguments);
            var structured = result.Ok(tool);
            McpSupport.AssertMatches(byName[tool].OutputSchema!.Value, structured, tool);
            called.Add(tool);
            output.WriteLine($"{tool}: {result.Text()}");
            return structured;
        }

        Assert.True((await Valid("create_collection", """{"collection": "cities", "vectors": {"size": 4, "distance": "Cosine"}}""")).GetProperty("created").GetBoolean());
        await Valid("create_collection", $$"""{"collection": "notes", "embedding": {{TextEmbedding}}}""");
        var listed = await Valid("list_collections", "{}");
        Assert.Equal(["cities", "notes"], listed.GetProperty("collections").EnumerateArray().Select(c => c.GetProperty("name").GetString()));
        Assert.Equal(4, (await Valid("get_collection", """{"collection": "cities"}""")).GetProperty("config").GetProperty("params").GetProperty("vectors").GetProperty("size").GetInt32());
        Assert.Equal("completed", (await Valid("upsert_points", $$"""{"collection": "cities", "points": [{{Berlin}}, {{London}}, {{Moscow}}]}""")).GetProperty("status").GetString());
        var got = await Valid("get_points", """{"collection": "cities", "ids": [1, 2], "with_vector": true}""");
        Assert.Equal("Berlin", got.GetProperty("points")[0].GetProperty("payload").GetProperty("city").GetString());
        Assert.Equal(1, (await Valid("count_points", """{"collection": "cities", "filter": {"must": [{"key": "city", "match": {"value": "Berlin"}}]}}""")).GetProperty("count").GetInt64());
        Assert.Equal(3, (await Valid("scroll_points", """{"collection": "cities", "limit": 2}""")).GetProperty("next_page_offset").GetInt64());
        var found = await Valid("search", """{"collection": "cities", "vector": [0.2, 0.1, 0.9, 0.7], "limit": 2, "filter": {"must": [{"key": "city", "match": {"any": ["Berlin", "Moscow"]}}]}}""");
        Assert.Equal(1, found.GetProperty("points")[0].GetProperty("id").GetInt64()); // the README's example: Berlin, 0.89
        Assert.Equal(2, (await Valid("search", """{"collection": "cities", "point_id": 1, "limit": 2}""")).GetProperty("points").GetArrayLength());
        var recommended = await Valid("recommend", """{"collection": "cities", "positive": [1], "negative": [[0.0, 0.0, 0.0, 1.0]], "strategy": "best_score", "limit": 5}""");
        Assert.Equal(2, recommended.GetProperty("points").GetArrayLength()); // the example itself is left out
        Assert.DoesNotContain(recommended.GetProperty("points").EnumerateArray(), p => p.GetProperty("id").GetInt64() == 1);
        await Valid("set_payload", """{"collection": "cities", "payload": {"country": "DE"}, "points": [1]}""");
        Assert.Equal(1, (await Valid("count_points", """{"collection": "cities", "filter": {"must": [{"key": "country", "match": {"value": "DE"}}]}}""")).GetProperty("count").GetInt64());
        Assert.Equal(2, (await Valid("add_documents", """
            {"collection": "notes", "documents": [
              {"id": 10, "text": "Snapshots are copied nightly to the backup host.", "metadata": {"source": "ops.md"}},
              {"id": 11, "text": "The cafeteria opens at noon."}]}
            """)).GetProperty("points").GetInt32());
        var text = await Valid("search_text", """{"collection": "notes", "query": "backup snapshots", "limit": 1}""");
        Assert.Equal(10, text.GetProperty("points")[0].GetProperty("id").GetInt64());
        var dense = string.Join(", ", Enumerable.Range(0, 16).Select(i => i % 3 == 0 ? "0.5" : "0.1"));
        var hybrid = await Valid("hybrid_query", $$"""
            {"collection": "notes", "limit": 2, "prefetch": [
              {"query": [{{dense}}], "using": "dense", "limit": 5},
              {"query": {"indices": [1, 2, 3], "values": [0.5, 0.5, 0.5]}, "using": "text", "limit": 5}]}
            """);
        Assert.Equal(2, hybrid.GetProperty("points").GetArrayLength());
        await Valid("hybrid_query", $$"""{"collection": "notes", "fusion": "dbsf", "prefetch": [{"query": [{{dense}}], "using": "dense"}]}""");
        Assert.Empty((await Valid("list_aliases", "{}")).GetProperty("aliases").EnumerateArray());
        Assert.Equal(JsonValueKind.Null, (await Valid("switch_alias", """{"alias": "current", "collection": "cities"}""")).GetProperty("previous_collection").ValueKind);
        Assert.Equal("cities", (await Valid("switch_alias", """{"alias": "current", "collection": "notes"}""")).GetProperty("previous_collection").GetString());
        Assert.Equal("notes", (await Valid("list_aliases", """{"collection": "notes"}""")).GetProperty("aliases")[0].GetProperty("collection_name").GetString());

        var progress = new System.Collections.Concurrent.ConcurrentQueue<ProgressNotificationValue>();
        // The SDK dispatches notifications concurrently with the response and drops the call's own progress handler
        // once the result is in, so a loaded machine can lose every notification there. A session-wide handler lives
        // on; the test waits for it below.
        var seen = new System.Collections.Concurrent.ConcurrentQueue<ProgressNotificationParams>();
        await using var progressHandler = client.RegisterNotificationHandler(NotificationMethods.ProgressNotification, (notification, _) =>
        {
            if (JsonSerializer.Deserialize<ProgressNotificationParams>(notification.Params, McpJsonUtilities.DefaultOptions) is { } value)
            {
                seen.Enqueue(value);
            }

            return ValueTask.CompletedTask;
        });
        var indexed = await client.CallToolAsync(
            "index_path",
            new Dictionary<string, object?> { ["collection"] = "docs", ["path"] = source },
            new SynchronousProgress(progress.Enqueue));
        var indexedContent = indexed.Ok("index_path");
        McpSupport.AssertMatches(byName["index_path"].OutputSchema!.Value, indexedContent, "index_path");
        called.Add("index_path");
        Assert.Equal(3, indexedContent.GetProperty("indexed").GetInt32());
        for (var i = 0; i < 100 && seen.IsEmpty; i++)
        {
            await Task.Delay(100);
        }

        Assert.NotEmpty(seen);
        Assert.All(seen, p => Assert.Equal(3, p.Progress.Total));
        Assert.All(progress, p => Assert.Equal(3, p.Total));
        var again = await Valid("index_path", $$"""{"collection": "docs", "path": "{{source}}", "include_extensions": [".md"]}""");
        Assert.Equal(3, again.GetProperty("unchanged").GetInt32());
        var docs = await Valid("search_text", """{"collection": "docs", "query": "restore a snapshot", "limit": 1}""");
        Assert.Equal("guide/restore.md", docs.GetProperty("points")[0].GetProperty("payload").GetProperty("file_path").GetString());

        Assert.False((await Valid("watcher_status", "{}")).GetProperty("enabled").GetBoolean());
        Assert.Equal("PASS", (await Valid("health_check", """{"collection": "docs"}""")).GetProperty("status").GetString());
        File.Delete(Path.Combine(source, "guide", "tuning.md"));
        Assert.Equal("FAIL", (await Valid("health_check", """{"collection": "docs"}""")).GetProperty("status").GetString());
        Assert.Equal("PASS", (await Valid("health_check", """{"collection": "docs", "fix": true, "confirm": "docs"}""")).GetProperty("status").GetString());
        var status = await Valid("server_status", "{}");
        Assert.Equal(3, status.GetProperty("collections_count").GetInt32());

        // Backups: a full one and an incremental on it, listed; the full one restored as a copy, the chain over the live collection.
        var full = await Valid("create_backup", """{"collection": "cities"}""");
        Assert.Equal(("full", 3L), (full.GetProperty("type").GetString(), full.GetProperty("points").GetInt64()));
        var fullId = full.GetProperty("id").GetString()!;
        await Valid("set_payload", """{"collection": "cities", "payload": {"country": "GB"}, "points": [2]}""");
        var incremental = await Valid("create_backup", """{"collection": "cities", "type": "incremental"}""");
        Assert.Equal(("incremental", fullId), (incremental.GetProperty("type").GetString(), incremental.GetProperty("parent").GetString()));
        var incrementalId = incremental.GetProperty("id").GetString()!;
        var backups = (await Valid("list_backups", "{}")).GetProperty("backups");
        Assert.Equal([incrementalId, fullId], backups.EnumerateArray().Select(b => b.GetProperty("id").GetString()));
        var copy = await Valid("restore_backup", $$"""{"backup_id": "{{fullId}}", "collection": "cities", "as": "cities_copy", "confirm": "{{fullId}}"}""");
        Assert.Equal(("cities_copy", 3L, false), (copy.GetProperty("collections")[0].GetProperty("name").GetString(), copy.GetProperty("collections")[0].GetProperty("points").GetInt64(), copy.GetProperty("collections")[0].GetProperty("replaced").GetBoolean()));
        Assert.Equal(0, (await Valid("count_points", """{"collection": "cities_copy", "filter": {"must": [{"key": "country", "match": {"value": "GB"}}]}}""")).GetProperty("count").GetInt64());
        await Valid("upsert_points", """{"collection": "cities", "points": [{"id": 9, "vector": [1, 0, 0, 0]}]}""");
        var replaced = await Valid("restore_backup", $$"""{"backup_id": "{{incrementalId}}", "confirm": "{{incrementalId}}"}""");
        Assert.True(replaced.GetProperty("collections")[0].GetProperty("replaced").GetBoolean());
        Assert.Single(replaced.GetProperty("safety_backups").EnumerateArray()); // the state it replaced (with point 9), backed up first
        Assert.Equal(3, (await Valid("count_points", """{"collection": "cities"}""")).GetProperty("count").GetInt64());
        Assert.Equal(1, (await Valid("count_points", """{"collection": "cities", "filter": {"must": [{"key": "country", "match": {"value": "GB"}}]}}""")).GetProperty("count").GetInt64());
        Assert.True((await Valid("delete_collection", """{"collection": "cities_copy", "confirm": "cities_copy"}""")).GetProperty("deleted").GetBoolean());
        await Valid("delete_points", """{"collection": "cities", "points": [3]}""");
        await Valid("delete_points", """{"collection": "cities", "filter": {"must": [{"key": "city", "match": {"value": "London"}}]}}""");
        Assert.Equal(1, (await Valid("count_points", """{"collection": "cities"}""")).GetProperty("count").GetInt64());
        Assert.True((await Valid("delete_collection", """{"collection": "cities", "confirm": "cities"}""")).GetProperty("deleted").GetBoolean());
        Assert.Equal(McpSupport.ExpectedTools.Order(), called.Order());

        // Invalid calls: a tool error (isError, never a protocol error) whose message names the bad argument.
        var invalid = new (string Tool, string Arguments, string Names)[]
        {
            ("list_collections", """{"bogus": 1}""", "bogus"),
            ("get_collection", "{}", "collection"),
            ("create_collection", """{"collection": "x", "vectors": {"size": "four", "distance": "Cosine"}}""", "size"),
            ("delete_collection", """{"collection": "notes", "confirm": "nope"}""", "confirm"),
            ("list_aliases", """{"collection": 5}""", "collection"),
            ("switch_alias", """{"alias": "current"}""", "collection"),
            ("upsert_points", """{"collection": "notes", "points": "none"}""", "points"),
            ("get_points", """{"collection": "notes", "ids": [-1]}""", "ids"),
            ("delete_points", """{"collection": "notes", "points": [1], "filter": {"must": []}}""", "filter"),
            ("set_payload", """{"collection": "notes", "points": [1]}""", "payload"),
            ("count_points", """{"collection": "notes", "filter": "everything"}""", "filter"),
            ("scroll_points", """{"collection": "notes", "limit": "ten"}""", "limit"),
            ("search", """{"collection": "notes", "limit": 5}""", "vector"),
            ("search_text", """{"collection": "notes", "query": "x", "mode": "fuzzy"}""", "mode"),
            ("hybrid_query", """{"collection": "notes", "prefetch": [{"query": [1, 2], "using": "dense"}], "fusion": "max"}""", "fusion"),
            ("recommend", """{"collection": "cities", "positive": [1], "strategy": "worst"}""", "strategy"),
            ("add_documents", """{"collection": "notes", "documents": [{"body": "x"}]}""", "body"),
            ("index_path", """{"collection": "docs", "path": "/etc"}""", "path"),
            ("watcher_status", """{"verbose": true}""", "verbose"),
            ("health_check", """{"collection": "docs", "fix": true}""", "confirm"),
            ("server_status", """{"verbose": true}""", "verbose"),
            ("create_backup", """{"collection": "notes", "type": "differential"}""", "type"),
            ("list_backups", """{"collection": "notes"}""", "collection"),
            ("restore_backup", """{"backup_id": "20260101T000000Z-full-000000", "confirm": "yes"}""", "confirm"),
        };
        Assert.Equal(McpSupport.ExpectedTools.Order(), invalid.Select(i => i.Tool).Order());
        foreach (var (tool, arguments, names) in invalid)
        {
            var (message, code, httpStatus) = (await client.Call(tool, arguments)).Failed(tool);
            output.WriteLine($"{tool} refused: [{code} {httpStatus}] {message}");
            Assert.Contains($"{names}", message, StringComparison.Ordinal);
            Assert.True(httpStatus is 400 or 403 or 422, $"{tool}: {httpStatus} {message}");
        }

        Assert.Equal(1, (await Valid("list_collections", "{}")).GetProperty("collections").EnumerateArray().Count(c => c.GetProperty("name").GetString() == "notes"));
        TestPaths.TryDelete(source);
    }

    /// <summary>A tool's error is the REST API's error for the same operation: message, and status in <c>_meta</c>.</summary>
    [Fact]
    public async Task ErrorsAreToolErrorsWithTheRestApisMessages()
    {
        await using var server = await TestServer.StartAsync();
        await using var client = await McpSupport.ConnectAsync(server.Url);
        var rest = await server.Client.Get("/collections/nope", null);
        var (message, code, status) = (await client.Call("get_collection", """{"collection": "nope"}""")).Failed("get_collection");
        Assert.Equal((rest.Status, rest.Error), (status, message));
        Assert.Equal("CollectionNotFound", code);

        await client.Call("create_collection", """{"collection": "c", "vectors": {"size": 2, "distance": "Dot"}}""");
        var restUpsert = await server.Client.Put("/collections/c/points", """{"points": [{"id": 1, "vector": [1, 2, 3]}]}""", null);
        var (upsertMessage, upsertCode, upsertStatus) = (await client.Call("upsert_points", """{"collection": "c", "points": [{"id": 1, "vector": [1, 2, 3]}]}""")).Failed("upsert_points");
        Assert.Equal((restUpsert.Status, restUpsert.Error), (upsertStatus, upsertMessage));
        Assert.Equal("WrongVectorDimension", upsertCode);

        var restCreate = await server.Client.Put("/collections/c", """{"vectors": {"size": 2, "distance": "Dot"}}""", null);
        var (createMessage, createCode, _) = (await client.Call("create_collection", """{"collection": "c", "vectors": {"size": 2, "distance": "Dot"}}""")).Failed("create_collection");
        Assert.Equal(restCreate.Error, createMessage);
        Assert.Equal("CollectionAlreadyExists", createCode);

        // Strict mode (enforced by the services) refuses a tool's query as it refuses the REST query.
        (await client.Call("create_collection", """{"collection": "strict", "vectors": {"size": 2, "distance": "Dot"}, "strict_mode_config": {"enabled": true, "max_query_limit": 2}}""")).Ok("create_collection");
        var restQuery = await server.Client.Post("/collections/strict/points/query", """{"query": [1, 0], "limit": 5}""", null);
        var (strictMessage, _, strictStatus) = (await client.Call("search", """{"collection": "strict", "vector": [1, 0], "limit": 5}""")).Failed("search");
        Assert.Equal((restQuery.Status, restQuery.Error), (strictStatus, strictMessage));

        // An unknown tool is the protocol's error (not a tool's).
        await Assert.ThrowsAsync<McpProtocolException>(() => client.Call("drop_everything", "{}"));
    }

    [Fact]
    public async Task CollectionsAreResourcesAndPromptsAreListed()
    {
        await using var server = await TestServer.StartAsync();
        await using var client = await McpSupport.ConnectAsync(server.Url);
        await client.Call("create_collection", """{"collection": "cities", "vectors": {"size": 4, "distance": "Cosine"}}""");
        await client.Call("upsert_points", $$"""{"collection": "cities", "points": [{{Berlin}}, {{London}}]}""");

        var resources = await client.ListResourcesAsync();
        var resource = Assert.Single(resources);
        Assert.Equal("vectorizer://collections/cities", resource.Uri);
        Assert.Equal("application/json", resource.MimeType);
        var read = await client.ReadResourceAsync(resource.Uri);
        var content = Assert.IsType<TextResourceContents>(Assert.Single(read.Contents));
        using (var info = JsonDocument.Parse(content.Text))
        {
            Assert.Equal(2, info.RootElement.GetProperty("points_count").GetInt64());
        }

        var template = Assert.Single(await client.ListResourceTemplatesAsync());
        Assert.Equal("vectorizer://collections/{name}", template.UriTemplate);
        var missing = await Assert.ThrowsAsync<McpProtocolException>(() => client.ReadResourceAsync("vectorizer://collections/nope").AsTask());
        Assert.Contains("nope", missing.Message, StringComparison.Ordinal);

        var prompts = await client.ListPromptsAsync();
        Assert.Equal(["explore_collection", "search_docs"], prompts.Select(p => p.Name).Order());
        var prompt = await client.GetPromptAsync("search_docs", new Dictionary<string, object?> { ["collection"] = "docs", ["question"] = "How are snapshots restored?" });
        var message = Assert.IsType<TextContentBlock>(Assert.Single(prompt.Messages).Content);
        Assert.Contains("search_text", message.Text, StringComparison.Ordinal);
        Assert.Contains("How are snapshots restored?", message.Text, StringComparison.Ordinal);
    }

    /// <summary>A long index_path stops when the client cancels: the run saves its checkpoint and a later call resumes.</summary>
    [Fact]
    [Trait("Category", "Slow")]
    public async Task CancellingIndexPathStopsTheRun()
    {
        var root = TestPaths.NewPath("mcp-many-");
        Directory.CreateDirectory(root);
        for (var i = 0; i < 600; i++) // about 19 batches of 32 files: small enough for a loaded machine
        {
            File.WriteAllText(Path.Combine(root, $"file{i:D4}.md"), $"# File {i}\n\nSome words about topic {i % 17} and more {i}.\n");
        }

        await using var server = await TestServer.StartAsync(settings => settings.Security.AllowedRoots = [root]);
        await using var client = await McpSupport.ConnectAsync(server.Url);
        using var cancel = new CancellationTokenSource();
        var call = client.CallToolAsync(
            "index_path",
            new Dictionary<string, object?> { ["collection"] = "many", ["path"] = root },
            new SynchronousProgress(p =>
            {
                if (p.Progress > 0)
                {
                    cancel.Cancel(); // after the first batch, so there is something to resume from
                }
            }),
            cancellationToken: cancel.Token).AsTask();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);

        // The server stops after its current batch and keeps a checkpoint; the next call resumes from it.
        var checkpoint = Path.Combine(server.DataDir, "collections", "many", "ingest", "index-checkpoint.json");
        for (var i = 0; i < 100 && !File.Exists(checkpoint); i++)
        {
            await Task.Delay(100);
        }

        Assert.True(File.Exists(checkpoint), "no checkpoint: the run was not cancelled");
        // The checkpoint is written per batch, so the cancelled run may still be finishing its batch: the server says
        // so, and a client waits.
        var result = await client.Call("index_path", $$"""{"collection": "many", "path": "{{root}}"}""");
        for (var i = 0; i < 300 && result.IsError is true && result.Text().Contains("is being indexed by another index_path call", StringComparison.Ordinal); i++)
        {
            await Task.Delay(100);
            result = await client.Call("index_path", $$"""{"collection": "many", "path": "{{root}}"}""");
        }

        var resumed = result.Ok("index_path");
        Assert.Equal(600, resumed.GetProperty("files").GetInt32());
        Assert.True(resumed.GetProperty("indexed").GetInt32() < 600, "the second run indexed everything again: nothing was resumed");
        // Each file: its one chunk and its page point (the default embedders' page vectors), none twice.
        Assert.Equal(1200, (await client.Call("count_points", """{"collection": "many"}""")).Ok("count_points").GetProperty("count").GetInt64());
        TestPaths.TryDelete(root);
    }

    /// <summary>With auth on, /mcp needs a credential (401), and each tool needs the access its operation needs.</summary>
    [Fact]
    public async Task McpNeedsACredentialAndEachToolItsAccess()
    {
        await using var server = await TestServer.StartAsync(Secure.Configure);
        using (var anonymous = new HttpClient())
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, server.Url + "/mcp")
            {
                Content = new StringContent("""{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}""", Encoding.UTF8, "application/json"),
            };
            request.Headers.Accept.ParseAdd("application/json, text/event-stream");
            using var response = await anonymous.SendAsync(request);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.StartsWith("Bearer", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        }

        await Assert.ThrowsAnyAsync<Exception>(() => McpSupport.ConnectAsync(server.Url, Secure.WrongKey));

        await using var full = await McpSupport.ConnectAsync(server.Url, Secure.FullKey);
        (await full.Call("create_collection", """{"collection": "mine", "vectors": {"size": 4, "distance": "Cosine"}}""")).Ok("create_collection");
        (await full.Call("create_collection", """{"collection": "theirs", "vectors": {"size": 4, "distance": "Cosine"}}""")).Ok("create_collection");

        await using var reader = await McpSupport.ConnectAsync(server.Url, Secure.ReadKey);
        Assert.Equal(2, (await reader.Call("list_collections", "{}")).Ok("list_collections").GetProperty("collections").GetArrayLength());
        (await reader.Call("search", """{"collection": "mine", "vector": [1, 0, 0, 0]}""")).Ok("search");
        foreach (var (tool, arguments) in new[]
        {
            ("upsert_points", $$"""{"collection": "mine", "points": [{{Berlin}}]}"""),
            ("create_collection", """{"collection": "new", "vectors": {"size": 4, "distance": "Cosine"}}"""),
            ("delete_collection", """{"collection": "mine", "confirm": "mine"}"""),
            ("switch_alias", """{"alias": "a", "collection": "mine"}"""),
            ("delete_points", """{"collection": "mine", "points": [1]}"""),
            ("create_backup", """{"collection": "mine"}"""),
            ("list_backups", "{}"),
            ("restore_backup", """{"backup_id": "20260101T000000Z-full-000000", "confirm": "20260101T000000Z-full-000000"}"""),
        })
        {
            var (message, code, status) = (await reader.Call(tool, arguments)).Failed(tool);
            Assert.Equal((403, nameof(Engine.Errors.ErrorCode.Forbidden)), (status, code));
            Assert.StartsWith("Access forbidden", message, StringComparison.Ordinal);
        }

        // A token for one collection sees and writes only that one.
        await using var scoped = await McpSupport.ConnectAsync(server.Url, Secure.Token(new CollectionGrant("mine", Write: true)));
        var visible = (await scoped.Call("list_collections", "{}")).Ok("list_collections").GetProperty("collections");
        Assert.Equal("mine", Assert.Single(visible.EnumerateArray()).GetProperty("name").GetString());
        (await scoped.Call("upsert_points", $$"""{"collection": "mine", "points": [{{Berlin}}]}""")).Ok("upsert_points");
        Assert.Equal(403, (await scoped.Call("upsert_points", $$"""{"collection": "theirs", "points": [{{Berlin}}]}""")).Failed("upsert_points").Status);
        Assert.Equal(403, (await scoped.Call("server_status", "{}")).Failed("server_status").Status);
        Assert.Equal("mine", Assert.Single(await scoped.ListResourcesAsync()).Name);
    }

    /// <summary>
    /// Streamable HTTP is stateless (the SDK's default since protocol 2026-07-28): no session id, every POST stands alone
    /// and is authorised by its own credential, so a credential cannot be carried over from an earlier request.
    /// </summary>
    [Fact]
    public async Task EachRequestIsAuthorisedByItsOwnCredential()
    {
        await using var server = await TestServer.StartAsync(Secure.Configure);
        using var http = new HttpClient { BaseAddress = new Uri(server.Url) };
        async Task<(HttpStatusCode Status, JsonElement? Message, bool Session)> Post(string? key, string json)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/mcp") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
            request.Headers.Accept.ParseAdd("application/json, text/event-stream");
            if (key is not null)
            {
                request.Headers.Add("api-key", key);
            }

            using var response = await http.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            var data = body.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("data: {", StringComparison.Ordinal))?["data: ".Length..]
                ?? (body.TrimStart().StartsWith('{') ? body : null);
            return (response.StatusCode, data is null ? null : JsonDocument.Parse(data).RootElement.Clone(), response.Headers.Contains("Mcp-Session-Id"));
        }

        var (status, initialized, session) = await Post(Secure.FullKey, """{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.False(session);
        Assert.Equal("vectorizer", initialized!.Value.GetProperty("result").GetProperty("serverInfo").GetProperty("name").GetString());

        const string create = """{"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "create_collection", "arguments": {"collection": "c", "vectors": {"size": 2, "distance": "Dot"}}}}""";
        var (readStatus, refused, _) = await Post(Secure.ReadKey, create);
        Assert.Equal(HttpStatusCode.OK, readStatus);
        var result = refused!.Value.GetProperty("result");
        Assert.True(result.GetProperty("isError").GetBoolean());
        Assert.StartsWith("Access forbidden", result.GetProperty("content")[0].GetProperty("text").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Post(null, create)).Status);

        var (fullStatus, created, _) = await Post(Secure.FullKey, create);
        Assert.Equal(HttpStatusCode.OK, fullStatus);
        Assert.False(created!.Value.GetProperty("result").TryGetProperty("isError", out var isError) && isError.GetBoolean(), created.Value.ToString());
        Assert.True((await server.Client.Get("/collections/c", Secure.ReadKey)).Status == 200);
    }

    /// <summary>The endpoint metadata the security pipeline reads: /mcp declares read access, per collection.</summary>
    [Fact]
    public async Task McpEndpointsDeclareTheirAccess()
    {
        await using var server = await TestServer.StartAsync();
        var endpoints = server.Services.GetService(typeof(Microsoft.AspNetCore.Routing.EndpointDataSource)) as Microsoft.AspNetCore.Routing.EndpointDataSource;
        var mcp = endpoints!.Endpoints.OfType<Microsoft.AspNetCore.Routing.RouteEndpoint>().Where(e => e.RoutePattern.RawText?.TrimStart('/').StartsWith("mcp", StringComparison.Ordinal) == true).ToList();
        output.WriteLine(string.Join(", ", mcp.Select(e => e.DisplayName)));
        Assert.NotEmpty(mcp);
        foreach (var endpoint in mcp)
        {
            var (anonymous, requirement) = EndpointAccess.Declared(endpoint);
            Assert.False(anonymous);
            Assert.Equal(new AccessRequirement(AccessLevel.Read, PerCollection: true), requirement);
        }
    }

    /// <summary>Reports progress on the calling thread (the SDK's <see cref="Progress{T}"/> would post it later).</summary>
    private sealed class SynchronousProgress(Action<ProgressNotificationValue> report) : IProgress<ProgressNotificationValue>
    {
        public void Report(ProgressNotificationValue value)
        {
            lock (this)
            {
                report(value);
            }
        }
    }
}
