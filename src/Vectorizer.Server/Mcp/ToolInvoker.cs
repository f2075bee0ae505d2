using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using Vectorizer.Engine.Errors;
using Vectorizer.Ingestion;
using Vectorizer.Server.Api.Qdrant.Json;
using Vectorizer.Server.Http;

namespace Vectorizer.Server.Mcp;

/// <summary>
/// Runs a tool: builds the call's <see cref="Application.CallContext"/> (<see cref="IMcpCallSource"/>), checks the
/// arguments' top level against the input schema (names, required, types; deeper levels are checked by the REST API's
/// parsers), runs it, and answers structured content plus a text summary. Failures are tool errors
/// (<c>isError: true</c>) carrying the REST API's message, with the error code and HTTP status in <c>_meta</c>; an
/// unexpected exception is logged and answered like the REST API's 500 (the message, never a stack trace).
/// </summary>
internal static class ToolInvoker
{
    /// <summary>The <c>_meta</c> key of a failed call: <c>{"code": "CollectionNotFound", "status": 404}</c>.</summary>
    public const string ErrorMetaKey = "vectorizer/error";

    public static async ValueTask<CallToolResult> InvokeAsync(McpTool tool, RequestContext<CallToolRequestParams> request, CancellationToken cancellationToken)
    {
        var services = request.Services ?? throw new InvalidOperationException("MCP request without services");
        var call = services.GetRequiredService<IMcpCallSource>().Current();
        var result = await RunAsync(tool, request, services, call, cancellationToken).ConfigureAwait(false);

        // A read routed by a rollout counts for the side that answered, as a REST request does.
        call.Route?.Complete(result.IsError == true && Rollouts.RolloutsApi.IsFailure(StatusOf(result)));
        return result;
    }

    private static int StatusOf(CallToolResult result) =>
        result.Meta?[ErrorMetaKey]?["status"]?.GetValue<int>() ?? 500;

    private static async ValueTask<CallToolResult> RunAsync(McpTool tool, RequestContext<CallToolRequestParams> request, IServiceProvider services, Application.CallContext call, CancellationToken cancellationToken)
    {
        try
        {
            var arguments = Arguments(request.Params?.Arguments);
            ToolArguments.Check(tool.Input, arguments);
            if (tool.IsWrite(arguments))
            {
                McpWrites.CheckWritable(services);
            }

            Func<ModelContextProtocol.ProgressNotificationValue, Task>? progress = null;
            if (request.Params?.ProgressToken is { } token)
            {
                var server = request.Server;
                progress = value => server.NotifyProgressAsync(token, value, cancellationToken: CancellationToken.None);
            }

            var toolCall = new ToolCall(call, arguments, services, progress, cancellationToken);
            var output = await tool.Run(toolCall).ConfigureAwait(false);
            await toolCall.FlushProgressAsync().ConfigureAwait(false);
            return new CallToolResult
            {
                StructuredContent = JsonSerializer.SerializeToElement(output.Structured),
                Content = [new TextContentBlock { Text = output.Summary }],
            };
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e) when (ErrorMapper.Map(e) is { } error)
        {
            return Error(Code(e), error.Status, error.Message);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            services.GetRequiredService<ILoggerFactory>().CreateLogger("Vectorizer.Mcp").LogError(e, "Unhandled error in MCP tool {Tool}", tool.Name);
            return Error(nameof(ErrorCode.Internal), 500, "Service internal error: " + e.Message);
        }
    }

    public static CallToolResult Error(string code, int status, string message) => new()
    {
        IsError = true,
        Content = [new TextContentBlock { Text = message }],
        Meta = new JsonObject { [ErrorMetaKey] = new JsonObject { ["code"] = code, ["status"] = status } },
    };

    private static string Code(Exception e) => e switch
    {
        VectorizerException v => v.Code.ToString(),
        IngestionException i => i.Code.ToString(),
        ApiException a => a.Code.ToString(),
        _ => nameof(ErrorCode.Internal),
    };

    private static JsonElement Arguments(IDictionary<string, JsonElement>? arguments)
    {
        var body = new JsonObject();
        foreach (var (name, value) in arguments ?? new Dictionary<string, JsonElement>())
        {
            body[name] = JsonNode.Parse(value.GetRawText());
        }

        return JsonSerializer.SerializeToElement(body);
    }
}

/// <summary>
/// The top level of a tool's arguments against its input schema: unknown names (a typo would otherwise be ignored),
/// missing required ones, and each value's JSON type. Errors read like the REST API's ("Format error in JSON body:
/// limit: invalid type: string "ten", expected integer") and name the argument.
/// </summary>
internal static class ToolArguments
{
    public static void Check(JsonObject schema, JsonElement arguments)
    {
        var properties = schema["properties"]?.AsObject() ?? [];
        var root = JsonInput.Root(arguments);
        foreach (var property in arguments.EnumerateObject())
        {
            if (!properties.ContainsKey(property.Name))
            {
                throw root.Error(properties.Count == 0
                    ? $"unknown argument `{property.Name}`: this tool takes no arguments"
                    : $"unknown argument `{property.Name}`, expected one of {string.Join(", ", properties.Select(p => $"`{p.Key}`"))}");
            }

            if (property.Value.ValueKind == JsonValueKind.Null)
            {
                continue; // null is "not given", as in the REST API
            }

            var expected = Types(properties[property.Name]!.AsObject());
            if (expected.Count > 0 && !expected.Any(type => Matches(type, property.Value)))
            {
                throw new JsonInput(property.Value, property.Name).Error(
                    $"invalid type: {JsonInput.Describe(property.Value)}, expected {string.Join(" or ", expected)}");
            }
        }

        foreach (var required in schema["required"]?.AsArray() ?? [])
        {
            var name = required!.GetValue<string>();
            if (!arguments.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
            {
                throw root.Error($"missing field `{name}`");
            }
        }
    }

    /// <summary>The JSON types a property schema allows (from <c>type</c>, or each <c>anyOf</c> branch); empty: any.</summary>
    private static List<string> Types(JsonObject schema)
    {
        var types = new List<string>();
        switch (schema["type"])
        {
            case JsonValue value:
                types.Add(value.GetValue<string>());
                break;
            case JsonArray array:
                types.AddRange(array.Select(t => t!.GetValue<string>()));
                break;
        }

        if (schema["anyOf"] is JsonArray options)
        {
            foreach (var option in options)
            {
                var inner = Types(option!.AsObject());
                if (inner.Count == 0)
                {
                    return [];
                }

                types.AddRange(inner);
            }
        }

        return [.. types.Distinct()];
    }

    private static bool Matches(string type, JsonElement value) => type switch
    {
        "string" => value.ValueKind == JsonValueKind.String,
        "integer" => value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out _),
        "number" => value.ValueKind == JsonValueKind.Number,
        "boolean" => value.ValueKind is JsonValueKind.True or JsonValueKind.False,
        "object" => value.ValueKind == JsonValueKind.Object,
        "array" => value.ValueKind == JsonValueKind.Array,
        "null" => value.ValueKind == JsonValueKind.Null,
        _ => true,
    };
}
