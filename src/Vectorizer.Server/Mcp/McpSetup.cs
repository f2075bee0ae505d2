using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using Vectorizer.Server.Api.Qdrant;
using Vectorizer.Server.Application;
using Vectorizer.Server.Security;

namespace Vectorizer.Server.Mcp;

/// <summary>
/// The MCP server (Model Context Protocol), on the official C# SDK: tools (<see cref="McpTools.All"/>), collection
/// resources and prompts, served over streamable HTTP at <c>/mcp</c> (<see cref="AddVectorizerMcp"/>,
/// <see cref="MapVectorizerMcp"/>) or stdio (<see cref="McpStdio"/>).
/// </summary>
public static class McpSetup
{
    public const string Path = "/mcp";

    public const string Instructions =
        "Vectorizer is a vector database (Qdrant-compatible). Collections hold points: an id, dense and/or sparse vectors, a JSON payload. "
        + "Text collections (with an `embedding` section) turn text into vectors themselves: fill them with `add_documents` or `index_path`, search them with `search_text`. "
        + "Other collections take vectors: `upsert_points`, `search`, `hybrid_query`. Start with `list_collections` and `get_collection`. "
        + "Filters use Qdrant's syntax ({\"must\": [{\"key\": \"city\", \"match\": {\"value\": \"Oslo\"}}]}).";

    /// <summary>The MCP server's services for streamable HTTP: each call's access is its HTTP request's (<see cref="HttpMcpCallSource"/>).</summary>
    public static IServiceCollection AddVectorizerMcp(this IServiceCollection services)
    {
        services.AddHttpContextAccessor();
        services.AddSingleton<IMcpCallSource, HttpMcpCallSource>();
        // The SDK logs three lines per request at Information, and a client's bad request (an unknown tool or resource) as
        // an error with a stack trace; the access log has one line per request, and our own unexpected errors are logged
        // by ToolInvoker ("Vectorizer.Mcp").
        services.AddLogging(logging => logging.AddFilter("ModelContextProtocol", LogLevel.Critical));
        services.AddMcpServer(Configure)
            .WithHttpTransport()
            .WithVectorizerPrimitives();
        return services;
    }

    /// <summary>
    /// <c>/mcp</c> behind the same authentication and limits as the REST API: any valid credential may connect
    /// (collection-scoped tokens too); each tool then needs the access its operation needs, checked by the application
    /// services on every call.
    /// </summary>
    public static IEndpointConventionBuilder MapVectorizerMcp(this IEndpointRouteBuilder app) =>
        app.MapMcp(Path).RequireAccess(AccessLevel.Read, perCollection: true);

    internal static void Configure(McpServerOptions options)
    {
        options.ServerInfo = new Implementation { Name = "vectorizer", Title = "Vectorizer", Version = ServiceApi.Version };
        options.ServerInstructions = Instructions;
    }

    internal static IMcpServerBuilder WithVectorizerPrimitives(this IMcpServerBuilder builder) => builder
        .WithTools(McpTools.All.Select(McpTools.ToServerTool))
        .WithListResourcesHandler(McpResources.ListAsync)
        .WithListResourceTemplatesHandler(McpResources.ListTemplatesAsync)
        .WithReadResourceHandler(McpResources.ReadAsync)
        .WithListPromptsHandler(McpPrompts.ListAsync)
        .WithGetPromptHandler(McpPrompts.GetAsync);
}
