using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using Vectorizer.Engine.Errors;
using Vectorizer.Server.Api.Qdrant.Json;
using Vectorizer.Server.Application;
using Vectorizer.Server.Http;

namespace Vectorizer.Server.Mcp;

/// <summary>
/// Each collection the caller can see is a resource, <c>vectorizer://collections/{name}</c>, whose content is its
/// info as JSON (what <c>get_collection</c> answers). Errors are protocol errors here (resources have no
/// <c>isError</c>): an unknown collection is <see cref="McpErrorCode.ResourceNotFound"/>, anything else
/// <see cref="McpErrorCode.InvalidParams"/> with the REST API's message.
/// </summary>
internal static class McpResources
{
    public const string Prefix = "vectorizer://collections/";

    public static ValueTask<ListResourcesResult> ListAsync(RequestContext<ListResourcesRequestParams> request, CancellationToken cancellationToken) => Guard(() =>
    {
        var call = request.Services!.GetRequiredService<IMcpCallSource>().Current();
        var names = request.Services!.GetRequiredService<CollectionsService>().List(call);
        return new ListResourcesResult
        {
            Resources = [.. names.Select(name => new Resource
            {
                Uri = Prefix + Uri.EscapeDataString(name),
                Name = name,
                Title = $"Collection {name}",
                Description = $"Configuration, counts, payload indexes and storage of the collection `{name}`.",
                MimeType = "application/json",
            })],
        };
    });

    public static ValueTask<ListResourceTemplatesResult> ListTemplatesAsync(RequestContext<ListResourceTemplatesRequestParams> request, CancellationToken cancellationToken) =>
        ValueTask.FromResult(new ListResourceTemplatesResult
        {
            ResourceTemplates =
            [
                new ResourceTemplate
                {
                    UriTemplate = Prefix + "{name}",
                    Name = "collection",
                    Title = "A collection",
                    Description = "A collection's info (configuration, counts, payload indexes, storage) by name or alias.",
                    MimeType = "application/json",
                },
            ],
        });

    public static ValueTask<ReadResourceResult> ReadAsync(RequestContext<ReadResourceRequestParams> request, CancellationToken cancellationToken) => Guard(() =>
    {
        var uri = request.Params?.Uri ?? "";
        if (!uri.StartsWith(Prefix, StringComparison.Ordinal) || uri.Length == Prefix.Length)
        {
            throw new McpProtocolException($"Unknown resource `{uri}`: expected {Prefix}{{name}}", McpErrorCode.ResourceNotFound);
        }

        var name = Uri.UnescapeDataString(uri[Prefix.Length..]);
        var call = request.Services!.GetRequiredService<IMcpCallSource>().Current();
        var target = request.Services!.GetRequiredService<CollectionsService>().Resolve(call, name, AccessLevel.Read);
        var info = target.GetInfo();
        var json = ToolOutput.Write(w => ResponseJson.CollectionInfo(w, info));
        json["embedding"] = target.Config.Embedding is { } embedding ? System.Text.Json.Nodes.JsonNode.Parse(embedding.ToString()) : null;
        return new ReadResourceResult
        {
            Contents = [new TextResourceContents { Uri = uri, MimeType = "application/json", Text = json.ToJsonString() }],
        };
    });

    private static ValueTask<T> Guard<T>(Func<T> read)
    {
        try
        {
            return ValueTask.FromResult(read());
        }
        catch (VectorizerException e) when (e.Code is ErrorCode.CollectionNotFound or ErrorCode.AliasNotFound)
        {
            throw new McpProtocolException(ErrorMapper.Map(e)!.Value.Message, McpErrorCode.ResourceNotFound);
        }
        catch (Exception e) when (ErrorMapper.Map(e) is { } error)
        {
            throw new McpProtocolException(error.Message, McpErrorCode.InvalidParams);
        }
    }
}

/// <summary>Prompts that show an agent how to use the tools together.</summary>
internal static class McpPrompts
{
    private static readonly Prompt[] Prompts =
    [
        new()
        {
            Name = "search_docs",
            Title = "Answer from a documentation collection, citing files",
            Description = "Search a text collection (filled by index_path or add_documents) for a question and answer from the chunks found, citing file and lines.",
            Arguments =
            [
                new PromptArgument { Name = "collection", Description = "The collection to search, e.g. docs.", Required = true },
                new PromptArgument { Name = "question", Description = "What to find out.", Required = true },
            ],
        },
        new()
        {
            Name = "explore_collection",
            Title = "Describe a collection",
            Description = "Look at a collection's configuration and a few points, and describe what it holds and how to query it.",
            Arguments = [new PromptArgument { Name = "collection", Description = "The collection.", Required = true }],
        },
    ];

    public static ValueTask<ListPromptsResult> ListAsync(RequestContext<ListPromptsRequestParams> request, CancellationToken cancellationToken) =>
        ValueTask.FromResult(new ListPromptsResult { Prompts = Prompts });

    public static ValueTask<GetPromptResult> GetAsync(RequestContext<GetPromptRequestParams> request, CancellationToken cancellationToken)
    {
        var name = request.Params?.Name;
        var arguments = request.Params?.Arguments ?? new Dictionary<string, System.Text.Json.JsonElement>();
        string Argument(string key) => arguments.TryGetValue(key, out var value) && value.ValueKind == System.Text.Json.JsonValueKind.String && value.GetString() is { Length: > 0 } text
            ? text
            : throw new McpProtocolException($"Prompt `{name}`: missing argument `{key}`", McpErrorCode.InvalidParams);
        var text = name switch
        {
            "search_docs" =>
                $"Answer this question from the collection `{Argument("collection")}`: {Argument("question")}\n\n"
                + $"1. Call the `search_text` tool with collection `{Argument("collection")}`, the question (or its key terms) as `query`, and `limit` 8.\n"
                + "2. Read the `content` of the chunks found; search again with other words if they do not answer it.\n"
                + "3. Answer only from those chunks. After each fact, cite its source as `file_path:start_line-end_line` from the chunk's payload "
                + "(or its `metadata` when the chunk came from add_documents). Say so plainly when the collection does not answer the question.",
            "explore_collection" =>
                $"Describe the collection `{Argument("collection")}`.\n\n"
                + $"1. Call `get_collection` for `{Argument("collection")}`: vectors (sizes, distance), sparse vectors, payload indexes, point count, embedders.\n"
                + "2. Call `scroll_points` with `limit` 5 to see sample payloads.\n"
                + "3. Explain what the collection holds, which payload keys can be filtered on (indexed ones first), and which tool fits a search: "
                + "`search_text` when it has embedders, else `search` with a vector of the right size, `hybrid_query` when it has dense and sparse vectors.",
            _ => throw new McpProtocolException($"Unknown prompt `{name}`, expected one of {string.Join(", ", Prompts.Select(p => $"`{p.Name}`"))}", McpErrorCode.InvalidParams),
        };
        return ValueTask.FromResult(new GetPromptResult
        {
            Description = Prompts.First(p => p.Name == name).Description,
            Messages = [new PromptMessage { Role = Role.User, Content = new TextContentBlock { Text = text } }],
        });
    }
}
