using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using Vectorizer.Engine.Collections;
using Vectorizer.Ingestion;
using Vectorizer.Ingestion.Health;
using Vectorizer.Server.Application;
using Vectorizer.Server.Application.Caching;
using Vectorizer.Server.Backups;
using Vectorizer.Server.Configuration;
using Vectorizer.Server.Hosting;
using Vectorizer.Server.Security;

namespace Vectorizer.Server.Mcp;

/// <summary>
/// <c>vectorizer mcp</c>: an MCP server on standard input and output. Only protocol messages go to stdout; logs go to
/// stderr. Two ways to reach the data:
/// <list type="bullet">
/// <item><see cref="RunInProcessAsync"/>: opens the data directory itself (taking its lock, like <c>vectorizer index</c>)
/// with the same services and tools as the server; whoever runs the process owns the directory (full access).</item>
/// <item><see cref="RunProxyAsync"/>: forwards every request to a running server's <c>/mcp</c> (with its API key), so
/// the tools run there, under that key's access, and nothing is implemented twice.</item>
/// </list>
/// </summary>
public static class McpStdio
{
    /// <summary>Serves the data directory of <paramref name="settings"/> in-process until stdin closes or the process is stopped.</summary>
    public static async Task RunInProcessAsync(VectorizerSettings settings, CancellationToken cancellationToken)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { ApplicationName = "vectorizer" });
        ConfigureLogging(builder.Logging, settings.Logging.Level);
        var services = builder.Services;
        services.AddSingleton(settings);
        foreach (var section in ConfigSections.All)
        {
            section.Register(services, settings);
        }

        services.AddSingleton(new ServerClock());
        services.AddSingleton<EngineLifetime>();
        services.AddHostedService(provider => provider.GetRequiredService<EngineLifetime>()); // before the MCP server: opened first, closed last
        services.AddSingleton(provider => provider.GetRequiredService<EngineLifetime>().Manager);
        services.AddTextSearch(settings); // the ingestion service with the query cache, HyDE and the embedding budget, as in the server
        services.AddSingleton(provider => new HealthCheckService(provider.GetRequiredService<IngestionService>()));
        services.AddSingleton<CollectionsService>();
        // In-process there is no replication stream: a standalone directory takes writes, a replication node's does not.
        services.AddSingleton<IWriteGuard>(settings.Replication.Enabled ? new ReplicatedDirectoryWrites() : new StandaloneWrites());
        services.AddSingleton<PointsService>();
        services.AddSingleton<IssuesService>();
        services.AddSingleton<DocumentsService>();
        services.AddSingleton(new AllowedPaths(settings));
        services.AddSingleton<HealthChecks>();
        services.AddBackupsService(settings); // the backup tools (no schedule: that is the server's)
        services.AddSingleton<IMcpCallSource, LocalMcpCallSource>();
        services.AddMcpServer(McpSetup.Configure)
            .WithStdioServerTransport()
            .WithVectorizerPrimitives();

        using var host = builder.Build();
        await host.RunAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Forwards stdio requests to the server at <paramref name="url"/> (its <c>/mcp</c>), sending <paramref name="apiKey"/>.</summary>
    public static async Task RunProxyAsync(Uri url, string? apiKey, string logLevel, CancellationToken cancellationToken)
    {
        using var loggers = LoggerFactory.Create(logging => ConfigureLogging(logging, logLevel));
        var endpoint = new Uri(url, McpSetup.Path);
        McpServer? server = null;
        var clientOptions = new McpClientOptions
        {
            ClientInfo = new Implementation { Name = "vectorizer-mcp-stdio", Version = Api.Qdrant.ServiceApi.Version },
            Handlers = new McpClientHandlers
            {
                // The server's progress notifications carry the progress token the stdio client chose: pass them on.
                NotificationHandlers =
                [
                    new(NotificationMethods.ProgressNotification, (notification, token) =>
                        server is null ? ValueTask.CompletedTask : new ValueTask(server.SendMessageAsync(notification, token))),
                ],
            },
        };
        var transport = new HttpClientTransport(
            new HttpClientTransportOptions
            {
                Endpoint = endpoint,
                Name = "vectorizer",
                AdditionalHeaders = apiKey is null ? null : new Dictionary<string, string> { [Authenticator.ApiKeyHeader] = apiKey },
            },
            loggers);
        await using var client = await McpClient.CreateAsync(transport, clientOptions, loggers, cancellationToken).ConfigureAwait(false);
        var options = new McpServerOptions
        {
            ServerInfo = client.ServerInfo,
            ServerInstructions = client.ServerInstructions,
            Handlers = new McpServerHandlers
            {
                ListToolsHandler = (request, token) => client.ListToolsAsync(request.Params ?? new ListToolsRequestParams(), token),
                CallToolHandler = (request, token) => client.CallToolAsync(request.Params!, token),
                ListResourcesHandler = (request, token) => client.ListResourcesAsync(request.Params ?? new ListResourcesRequestParams(), token),
                ListResourceTemplatesHandler = (request, token) => client.ListResourceTemplatesAsync(request.Params ?? new ListResourceTemplatesRequestParams(), token),
                ReadResourceHandler = (request, token) => client.ReadResourceAsync(request.Params!, token),
                ListPromptsHandler = (request, token) => client.ListPromptsAsync(request.Params ?? new ListPromptsRequestParams(), token),
                GetPromptHandler = (request, token) => client.GetPromptAsync(request.Params!, token),
            },
        };
        await using var stdio = new StdioServerTransport("vectorizer", loggers);
        await using var created = McpServer.Create(stdio, options, loggers);
        server = created;
        await created.RunAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Everything to stderr: stdout carries only protocol messages.</summary>
    private static void ConfigureLogging(ILoggingBuilder logging, string level)
    {
        logging.ClearProviders();
        logging.SetMinimumLevel(level switch
        {
            "trace" => LogLevel.Trace,
            "debug" => LogLevel.Debug,
            "info" => LogLevel.Information,
            "error" => LogLevel.Error,
            _ => LogLevel.Warning,
        });
        logging.AddSimpleConsole(options =>
        {
            options.SingleLine = true;
            options.TimestampFormat = "yyyy-MM-dd HH:mm:ss ";
            options.ColorBehavior = LoggerColorBehavior.Disabled;
        });
        logging.Services.Configure<ConsoleLoggerOptions>(options => options.LogToStandardErrorThreshold = LogLevel.Trace);
        if (level is not ("debug" or "trace"))
        {
            logging.AddFilter("ModelContextProtocol", LogLevel.Critical); // a client's bad request is not the server's error
        }
    }
}
