using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol.Protocol;
using Vectorizer.Engine.Errors;
using Vectorizer.Server.Application;

namespace Vectorizer.Server.Mcp;

/// <summary>
/// Which MCP calls change replicated data (<see cref="McpTool.IsWrite"/>): a replica proxies those to the master's
/// <c>/mcp</c> (see <c>WriteForwarding</c>), and a node that takes no writes refuses them as tool errors naming the
/// master (<see cref="CheckWritable"/>) — also the tools whose service does not ask itself (collections, aliases).
/// </summary>
internal static class McpWrites
{
    /// <summary>The <see cref="HttpContext.Items"/> key of the reason a replica did not forward this request's write (a <see cref="VectorizerException"/>).</summary>
    public const string RefusalItem = "vectorizer.mcp.write-refused";

    private static readonly Dictionary<string, McpTool> Tools = McpTools.All.ToDictionary(t => t.Name, StringComparer.Ordinal);

    public static bool IsMcpPost(HttpRequest request) =>
        HttpMethods.IsPost(request.Method) && request.Path.Equals(McpSetup.Path, StringComparison.Ordinal);

    /// <summary>
    /// Whether the body is a JSON-RPC <c>tools/call</c> of a write tool. Leaves the body readable from the start
    /// (buffered). Anything else (another method, an unknown tool, malformed JSON) is not: it is served here, where the
    /// MCP server answers it (and <see cref="CheckWritable"/> refuses a write it finds).
    /// </summary>
    public static async Task<bool> IsWriteCallAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        request.EnableBuffering();
        try
        {
            using var message = await JsonDocument.ParseAsync(request.Body, cancellationToken: cancellationToken).ConfigureAwait(false);
            var root = message.RootElement;
            return root.ValueKind == JsonValueKind.Object &&
                root.TryGetProperty("method", out var method) && method.ValueKind == JsonValueKind.String && method.ValueEquals(RequestMethods.ToolsCall) &&
                root.TryGetProperty("params", out var parameters) && parameters.ValueKind == JsonValueKind.Object &&
                parameters.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String &&
                Tools.TryGetValue(name.GetString()!, out var tool) &&
                tool.IsWrite(parameters.TryGetProperty("arguments", out var arguments) && arguments.ValueKind == JsonValueKind.Object ? arguments : default);
        }
        catch (JsonException)
        {
            return false;
        }
        finally
        {
            request.Body.Position = 0;
        }
    }

    /// <summary>Before a write tool runs: throws <c>NotMaster</c> (naming the master) when this node does not take writes.</summary>
    public static void CheckWritable(IServiceProvider services)
    {
        if (services.GetService<IHttpContextAccessor>()?.HttpContext?.Items[RefusalItem] is VectorizerException refused)
        {
            throw refused;
        }

        services.GetRequiredService<IWriteGuard>().CheckWritable();
    }
}
