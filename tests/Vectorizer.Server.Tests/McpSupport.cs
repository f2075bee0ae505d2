using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Vectorizer.Server.Tests;

/// <summary>The official C# MCP client against a real server, and checks of tool results against their schemas.</summary>
internal static class McpSupport
{
    /// <summary>Every tool the server must offer (issue 15); a tool added later is added here.</summary>
    public static readonly string[] ExpectedTools =
    [
        "list_collections", "get_collection", "create_collection", "delete_collection", "list_aliases", "switch_alias",
        "upsert_points", "get_points", "delete_points", "set_payload", "count_points", "scroll_points",
        "search", "search_text", "hybrid_query", "recommend",
        "add_documents", "index_path", "watcher_status",
        "health_check", "server_status",
        "create_backup", "list_backups", "restore_backup",
    ];

    /// <summary>Connects over streamable HTTP to <c>/mcp</c>, sending <paramref name="apiKey"/> (an API key or JWT) when given.</summary>
    public static Task<McpClient> ConnectAsync(string serverUrl, string? apiKey = null, CancellationToken cancellationToken = default) =>
        McpClient.CreateAsync(
            new HttpClientTransport(new HttpClientTransportOptions
            {
                Endpoint = new Uri(new Uri(serverUrl), "/mcp"),
                Name = "vectorizer-tests",
                AdditionalHeaders = apiKey is null ? null : new Dictionary<string, string> { ["api-key"] = apiKey },
            }),
            cancellationToken: cancellationToken);

    /// <summary>Connects over stdio to <c>vectorizer mcp</c> with <paramref name="arguments"/> (the built executable).</summary>
    public static Task<McpClient> ConnectStdioAsync(IList<string> arguments, IDictionary<string, string?>? environment = null) =>
        McpClient.CreateAsync(new StdioClientTransport(new StdioClientTransportOptions
        {
            Command = "dotnet",
            Arguments = [VectorizerProcess.ExecutablePath(), "mcp", .. arguments],
            Name = "vectorizer-stdio",
            EnvironmentVariables = new Dictionary<string, string?>(environment ?? new Dictionary<string, string?>()) { ["TMPDIR"] = TestPaths.Root },
            ShutdownTimeout = TimeSpan.FromSeconds(30),
        }));

    public static Task<CallToolResult> Call(this McpClient client, string tool, string argumentsJson, CancellationToken cancellationToken = default) =>
        client.CallToolAsync(new CallToolRequestParams { Name = tool, Arguments = Arguments(argumentsJson) }, cancellationToken).AsTask();

    public static Dictionary<string, JsonElement> Arguments(string json) =>
        JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(json)!;

    public static string Text(this CallToolResult result) =>
        string.Join("\n", result.Content.OfType<TextContentBlock>().Select(c => c.Text));

    /// <summary>A successful call's structured content (fails the test with the tool's message otherwise).</summary>
    public static JsonElement Ok(this CallToolResult result, string tool)
    {
        Assert.True(result.IsError is not true, $"{tool} failed: {result.Text()}");
        Assert.False(string.IsNullOrWhiteSpace(result.Text()), $"{tool}: no text summary");
        Assert.True(result.StructuredContent is { ValueKind: JsonValueKind.Object }, $"{tool}: no structured content");
        return result.StructuredContent!.Value;
    }

    /// <summary>A failed call: a tool error (never a protocol error) whose text is the message and whose <c>_meta</c> has the code.</summary>
    public static (string Message, string Code, int Status) Failed(this CallToolResult result, string tool)
    {
        Assert.True(result.IsError is true, $"{tool}: expected a tool error, got {result.Text()}");
        var error = result.Meta?["vectorizer/error"]?.AsObject();
        Assert.NotNull(error);
        var message = result.Text();
        Assert.DoesNotContain("   at ", message, StringComparison.Ordinal); // no stack trace
        return (message, error!["code"]!.GetValue<string>(), error["status"]!.GetValue<int>());
    }

    /// <summary>Checks <paramref name="schema"/> is a valid draft 2020-12 JSON Schema (against the meta-schema).</summary>
    public static void AssertValidSchema(JsonElement schema, string what)
    {
        var node = JsonNode.Parse(schema.GetRawText());
        var results = MetaSchemas.Draft202012.Evaluate(node, new EvaluationOptions { OutputFormat = OutputFormat.List });
        Assert.True(results.IsValid, $"{what} is not a valid JSON Schema: {Errors(results)}");
        Assert.Equal("object", schema.GetProperty("type").GetString());
    }

    /// <summary>Checks <paramref name="instance"/> against <paramref name="schema"/>.</summary>
    public static void AssertMatches(JsonElement schema, JsonElement instance, string what)
    {
        var results = JsonSchema.FromText(schema.GetRawText()).Evaluate(JsonNode.Parse(instance.GetRawText()), new EvaluationOptions { OutputFormat = OutputFormat.List });
        Assert.True(results.IsValid, $"{what}: structured content does not match the output schema: {Errors(results)}\n{instance}");
    }

    private static string Errors(EvaluationResults results) =>
        string.Join("; ", results.Details.Where(d => d.Errors is { Count: > 0 }).SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation} {e.Key}: {e.Value}")));
}
