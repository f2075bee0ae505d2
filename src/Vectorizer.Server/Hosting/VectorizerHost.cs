using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Storage;
using Vectorizer.Ingestion;
using Vectorizer.Ingestion.Health;
using Vectorizer.Server.Api.Ops;
using Vectorizer.Server.Api.Qdrant;
using Vectorizer.Server.Application;
using Vectorizer.Server.Application.Caching;
using Vectorizer.Server.Backups;
using Vectorizer.Server.Configuration;
using Vectorizer.Server.Grpc;
using Vectorizer.Server.Http;
using Vectorizer.Server.Mcp;
using Vectorizer.Server.Observability;
using Vectorizer.Server.Replication;
using Vectorizer.Server.Replication.Leadership;
using Vectorizer.Server.Rollouts;
using Vectorizer.Server.Security;

namespace Vectorizer.Server.Hosting;

/// <summary>Builds and runs the HTTP server over a <see cref="CollectionManager"/>.</summary>
public static class VectorizerHost
{
    /// <summary>
    /// Creates the web application (not started). The engine opens when the host starts. <paramref name="configPath"/>
    /// is the file the settings came from (the file watcher's <c>hot_reload</c> watches it).
    /// </summary>
    public static WebApplication Build(VectorizerSettings settings, Action<ILoggingBuilder>? configureLogging = null, string? configPath = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = "vectorizer" });
        builder.Logging.ClearProviders();
        if (configureLogging is not null)
        {
            configureLogging(builder.Logging);
        }
        else
        {
            ConfigureLogging(builder.Logging, settings.Logging);
        }

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = (long)settings.Limits.MaxRequestMb << 20;
            if (IPAddress.TryParse(settings.Server.Host, out var address))
            {
                kestrel.Listen(address, settings.Server.Port, listen => listen.UseVectorizerTls(settings));
            }
            else if (settings.Server.Host is "localhost")
            {
                kestrel.ListenLocalhost(settings.Server.Port, listen => listen.UseVectorizerTls(settings));
            }
            else
            {
                kestrel.ListenAnyIP(settings.Server.Port, listen => listen.UseVectorizerTls(settings));
            }
        });
        builder.AddVectorizerGrpc(settings);
        builder.AddVectorizerReplication(settings);
        builder.Services.AddLeadership(settings);
        builder.Services.AddReplicationMetrics(settings);
        builder.Services.Configure<HostOptions>(options =>
        {
            options.ShutdownTimeout = TimeSpan.FromSeconds(30 + settings.Server.ShutdownDelaySeconds);
            options.ServicesStartConcurrently = true; // the web server listens while the engine loads (EngineLifetime)
        });
        // Settings made in code (tests, embedders of the CLI) are held to the same rules as loaded ones.
        if (ConfigLoader.Validate(settings) is { Count: > 0 } problems)
        {
            throw new ConfigException(problems);
        }

        builder.Services.AddSingleton(settings);
        foreach (var section in ConfigSections.All)
        {
            section.Register(builder.Services, settings);
        }

        builder.Services.AddSingleton(new ServerClock());
        builder.Services.AddSingleton<EngineLifetime>();
        builder.Services.AddHostedService(provider => provider.GetRequiredService<EngineLifetime>());
        builder.Services.AddSingleton(provider => provider.GetRequiredService<EngineLifetime>().Manager);
        builder.Services.AddTextSearch(settings);
        builder.Services.AddSingleton(provider => new HealthCheckService(provider.GetRequiredService<IngestionService>()));
        builder.Services.AddSingleton<CollectionsService>();
        builder.Services.AddSingleton<PointsService>();
        builder.Services.AddSingleton<IssuesService>();
        builder.Services.AddSingleton<DocumentsService>();
        builder.Services.AddFilesApi();
        builder.Services.AddVectorizerSecurity(settings);
        builder.Services.AddVectorizerMcp();
        builder.Services.AddRollouts(settings);
        builder.Services.AddBackups(settings);

        // After the engine: started once it is open, stopped before it closes.
        builder.Services.AddVectorizerObservability(settings);
        builder.Services.AddSingleton(new ConfigSource(configPath));
        builder.Services.AddSingleton<FileWatcherHost>();
        builder.Services.AddHostedService(provider => provider.GetRequiredService<FileWatcherHost>());

        var app = builder.Build();
        var loggers = app.Services.GetRequiredService<ILoggerFactory>();
        var logRequests = settings.Logging.LogRequests || settings.Logging.LogResponses;
        app.Use(AccessLog.Middleware(loggers.CreateLogger("Vectorizer.Http"), logRequests ? loggers.CreateLogger(AccessLog.Category) : null, settings.Logging.LogResponses));
        app.UseVectorizerObservability();
        app.Use(HandleErrors);
        app.UseStatusCodePages(WriteStatusCodePage);
        app.UseRouting();
        app.Use(DecodeCollectionName);
        app.UseVectorizerSecurity(settings);
        app.UseQdrantParameters();
        app.UseRollouts();
        app.UseReplicationWrites();
        app.MapServiceApi();
        app.MapCollectionsApi();
        app.MapPointsApi();
        app.MapSearchApi();
        app.MapNodeApi();
        app.MapDocumentsApi();
        app.MapFilesApi();
        app.MapOpsApi();
        app.MapVectorizerGrpc();
        app.MapRolloutsApi();
        app.MapObservabilityApi();
        app.MapVectorizerMcp();
        app.MapBackupsApi();
        app.MapReplicationApi();
        return app;
    }

    /// <summary>The address the server listens on, once started (useful with port 0).</summary>
    public static string ListeningAddress(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

    public static void ConfigureLogging(ILoggingBuilder logging, LoggingSection section)
    {
        logging.SetMinimumLevel(section.Level switch
        {
            "trace" => LogLevel.Trace,
            "debug" => LogLevel.Debug,
            "warn" => LogLevel.Warning,
            "error" => LogLevel.Error,
            _ => LogLevel.Information,
        });
        // ASP.NET Core's own request logging is about five lines a request; the access log is one (AccessLog).
        logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        logging.AddFilter(AccessLog.Category, section.LogRequests || section.LogResponses ? LogLevel.Information : LogLevel.None);
        // The request's scope (AccessLog) carries request_id and trace_id; no second copy of the trace ids.
        logging.Configure(options => options.ActivityTrackingOptions = ActivityTrackingOptions.None);
        logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Information);

        // "Hosting failed to start" repeats, with a stack trace, the error `vectorizer serve` reports in one line.
        logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical);
        if (section.Format == "json")
        {
            logging.AddJsonConsole(options =>
            {
                options.IncludeScopes = true;
                options.UseUtcTimestamp = true;
                options.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
            });
        }
        else
        {
            logging.AddSimpleConsole(options =>
            {
                options.SingleLine = true;
                options.TimestampFormat = "yyyy-MM-dd HH:mm:ss ";
                options.ColorBehavior = LoggerColorBehavior.Disabled;
            });
        }
    }

    /// <summary>Unmatched routes and methods get the error envelope too.</summary>
    private static Task WriteStatusCodePage(StatusCodeContext context)
    {
        var http = context.HttpContext;
        var message = http.Response.StatusCode switch
        {
            StatusCodes.Status404NotFound => $"Not found: no endpoint {http.Request.Method} {http.Request.Path}",
            StatusCodes.Status405MethodNotAllowed => $"Method not allowed: {http.Request.Method} {http.Request.Path}",
            var status => $"HTTP {status}",
        };
        return QdrantResults.WriteError(http, http.Response.StatusCode, message);
    }

    /// <summary>
    /// Kestrel leaves <c>%2F</c> encoded in route values; decode collection names fully so that
    /// <c>..%2F..%2Fx</c> is validated as <c>../../x</c> (and rejected) rather than accepted literally.
    /// </summary>
    private static Task DecodeCollectionName(HttpContext context, RequestDelegate next)
    {
        if (context.Request.RouteValues.TryGetValue("collection", out var value) && value is string name && name.Contains('%', StringComparison.Ordinal))
        {
            context.Request.RouteValues["collection"] = Uri.UnescapeDataString(name);
        }

        return next(context);
    }

    /// <summary>Turns exceptions into Qdrant's error envelope; unexpected ones are logged and become 500.</summary>
    private static async Task HandleErrors(HttpContext context, RequestDelegate next)
    {
        QdrantResults.MarkStart(context);
        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch (Exception e) when (!context.Response.HasStarted && ErrorMapper.Map(e) is { } error)
        {
            await QdrantResults.WriteError(context, error.Status, error.Message).ConfigureAwait(false);
        }
        catch (BadHttpRequestException e) when (!context.Response.HasStarted)
        {
            var message = e.StatusCode == StatusCodes.Status413PayloadTooLarge
                ? $"Payload error: request body is larger than allowed (limit: {context.RequestServices.GetRequiredService<VectorizerSettings>().Limits.MaxRequestMb} MiB)."
                : "Bad request: " + e.Message;
            await QdrantResults.WriteError(context, e.StatusCode, message).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away.
        }
        catch (Exception e) when (!context.Response.HasStarted && e is not OutOfMemoryException)
        {
            context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Vectorizer.Http")
                .LogError(e, "Unhandled error in {Method} {Path}", context.Request.Method, context.Request.Path);
            await QdrantResults.WriteError(context, StatusCodes.Status500InternalServerError, "Service internal error: " + e.Message).ConfigureAwait(false);
        }
    }
}

/// <summary>When the process started (for uptime).</summary>
public sealed class ServerClock
{
    public DateTimeOffset StartedAt { get; } = DateTimeOffset.UtcNow;

    public TimeSpan Uptime => DateTimeOffset.UtcNow - StartedAt;
}

/// <summary>
/// Owns the engine: takes the data directory's lock and opens it before the server accepts requests; checkpoints,
/// closes and unlocks it after the last one.
/// </summary>
public sealed class EngineLifetime : IHostedService
{
    private readonly ILoggerFactory loggerFactory;
    private readonly Lazy<CollectionManager> manager;
    private readonly TaskCompletionSource loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private DataDirectoryLock? dataLock;

    public EngineLifetime(VectorizerSettings settings, ILoggerFactory loggerFactory)
    {
        this.loggerFactory = loggerFactory;
        manager = new Lazy<CollectionManager>(() =>
        {
            var options = settings.ToEngineOptions();
            dataLock = DataDirectoryLock.Acquire(options.DataDir);
            try
            {
                return CollectionManager.Open(options, loggerFactory);
            }
            catch
            {
                dataLock.Dispose();
                throw;
            }
        });
    }

    public CollectionManager Manager => manager.Value;

    /// <summary>Completes once every collection is loaded (faults when the engine could not open).</summary>
    public Task Loaded => loaded.Task;

    public bool IsLoaded => loaded.Task.IsCompletedSuccessfully;

    /// <summary>
    /// Opens the engine off the host's thread: the host starts its services concurrently, so the web server listens
    /// meanwhile, answering probes (<c>/livez</c> 200, <c>/readyz</c> 503) and 503 to the rest until this completes.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Task.Run(() => manager.Value, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            loaded.TrySetException(e);
            throw;
        }

        loaded.TrySetResult();
        loggerFactory.CreateLogger("Vectorizer").LogInformation("Data directory {DataDir}", manager.Value.DataDirectory);
    }

    /// <summary>Runs after Kestrel stopped accepting and drained in-flight requests: flush the WAL, checkpoint, close, unlock.</summary>
    public Task StopAsync(CancellationToken cancellationToken)
    {
        if (manager.IsValueCreated)
        {
            manager.Value.Dispose();
            dataLock?.Dispose();
            loggerFactory.CreateLogger("Vectorizer").LogInformation("Engine stopped: WALs flushed and collections checkpointed");
        }

        return Task.CompletedTask;
    }
}
