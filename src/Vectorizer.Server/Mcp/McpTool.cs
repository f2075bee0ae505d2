using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using Vectorizer.Server.Api.Qdrant.Json;
using Vectorizer.Server.Application;

namespace Vectorizer.Server.Mcp;

/// <summary>What a tool does to the server, shown to agent hosts as MCP tool annotations.</summary>
internal enum ToolEffect
{
    /// <summary>Reads only (<c>readOnlyHint</c>).</summary>
    Read,

    /// <summary>Adds or changes data; calling it again with the same arguments changes nothing more (<c>idempotentHint</c>).</summary>
    Write,

    /// <summary>May delete or replace data (<c>destructiveHint</c>).</summary>
    Destructive,
}

/// <summary>
/// One MCP tool: its name, description, argument and result schemas, and what it runs. The run translates arguments to
/// the engine's types (through the REST API's parsers, so validation and messages are the REST API's) and calls an
/// application service with the call's <see cref="CallContext"/>: no tool has its own implementation of an operation.
/// Adding a tool is one more <see cref="McpTool"/> in one of the <c>*Tools</c> classes (see <see cref="McpTools.All"/>).
/// </summary>
internal sealed record McpTool(
    string Name,
    string Title,
    string Description,
    ToolEffect Effect,
    JsonObject Input,
    JsonObject Output,
    Func<ToolCall, Task<ToolOutput>> Run)
{
    /// <summary>
    /// Whether a call with these arguments changes replicated data (a replica forwards it to the master, a node that takes
    /// no writes refuses it); null: every tool that is not <see cref="ToolEffect.Read"/>.
    /// </summary>
    public Func<JsonElement, bool>? Writes { get; init; }

    /// <summary>See <see cref="Writes"/>; <paramref name="arguments"/> is the arguments object (default when none).</summary>
    public bool IsWrite(JsonElement arguments) => Writes?.Invoke(arguments) ?? Effect != ToolEffect.Read;
}

/// <summary>A tool's answer: the structured content (matching its output schema) and a short text for the agent.</summary>
internal sealed record ToolOutput(JsonObject Structured, string Summary)
{
    /// <summary>Structured content written by the REST API's writers (the same JSON the REST API answers in <c>result</c>).</summary>
    public static JsonObject Write(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            write(writer);
        }

        return JsonNode.Parse(buffer.WrittenSpan)!.AsObject();
    }
}

/// <summary>One invocation of a tool: who calls (<see cref="Call"/>), its arguments, services, progress and cancellation.</summary>
internal sealed class ToolCall(CallContext call, JsonElement arguments, IServiceProvider services, Func<ProgressNotificationValue, Task>? progress, CancellationToken cancellationToken)
{
    private Task lastProgress = Task.CompletedTask;

    public CallContext Call { get; } = call;

    /// <summary>The arguments object, with paths for error messages (<c>limit: invalid type: ...</c>).</summary>
    public JsonInput Args { get; } = JsonInput.Root(arguments);

    public JsonElement Arguments { get; } = arguments;

    public IServiceProvider Services { get; } = services;

    public CancellationToken CancellationToken { get; } = cancellationToken;

    /// <summary>The <c>collection</c> argument (required by every tool that has one).</summary>
    public string Collection => Args.Required("collection").AsString();

    public T Service<T>()
        where T : notnull => Services.GetRequiredService<T>();

    /// <summary>
    /// The arguments without <paramref name="names"/>, as the REST body they mirror (the REST parsers of <c>/documents</c>
    /// and <c>/search/text</c> refuse fields they do not know, such as <c>collection</c>).
    /// </summary>
    public JsonInput Body(params string[] names)
    {
        var body = new JsonObject();
        foreach (var property in Arguments.EnumerateObject())
        {
            if (Array.IndexOf(names, property.Name) < 0)
            {
                body[property.Name] = JsonNode.Parse(property.Value.GetRawText());
            }
        }

        return JsonInput.Root(JsonSerializer.SerializeToElement(body));
    }

    /// <summary>An optional boolean argument.</summary>
    public bool Bool(string name, bool fallback) => Args.TryGet(name, out var value) ? value.AsBool() : fallback;

    /// <summary>Sends a progress notification when the client asked for them (a progress token); in order, without waiting.</summary>
    public void Progress(double done, double? total, string message)
    {
        if (progress is null)
        {
            return;
        }

        var value = new ProgressNotificationValue { Progress = (float)done, Total = total is { } t ? (float)t : null, Message = message };
        lock (this)
        {
            lastProgress = lastProgress.ContinueWith(_ => progress(value), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default).Unwrap();
        }
    }

    /// <summary>Waits for the progress notifications sent so far (before the result, so they arrive first).</summary>
    public Task FlushProgressAsync()
    {
        lock (this)
        {
            return lastProgress;
        }
    }
}

/// <summary>Every tool the server offers, and how each becomes an SDK <see cref="McpServerTool"/>.</summary>
internal static class McpTools
{
    public static IReadOnlyList<McpTool> All { get; } =
    [
        .. CollectionTools.All,
        .. PointTools.All,
        .. SearchTools.All,
        .. IngestionTools.All,
        .. OperationsTools.All,
        .. BackupTools.All,
    ];

    public static McpServerTool ToServerTool(McpTool tool)
    {
        var created = McpServerTool.Create(
            (RequestContext<CallToolRequestParams> request, CancellationToken cancellationToken) => ToolInvoker.InvokeAsync(tool, request, cancellationToken),
            new McpServerToolCreateOptions
            {
                Name = tool.Name,
                Title = tool.Title,
                Description = tool.Description,
                ReadOnly = tool.Effect == ToolEffect.Read,
                Destructive = tool.Effect == ToolEffect.Destructive,
                Idempotent = tool.Effect != ToolEffect.Destructive,
                OpenWorld = false,
                UseStructuredContent = true,
                OutputSchema = JsonSerializer.SerializeToElement(tool.Output),
            });
        created.ProtocolTool.InputSchema = JsonSerializer.SerializeToElement(tool.Input);
        return created;
    }
}
