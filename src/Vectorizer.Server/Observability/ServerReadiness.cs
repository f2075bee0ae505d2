using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Vectorizer.Server.Configuration;
using Vectorizer.Server.Hosting;

namespace Vectorizer.Server.Observability;

/// <summary>
/// Whether the server should get traffic (<c>/readyz</c>): not while the engine loads its collections (the web server
/// already listens then, answering probes and 503 to the rest), ready once they are loaded, and not again from the
/// moment shutdown begins. <c>server.shutdown_delay_seconds</c> keeps serving for that long after shutdown began, so a
/// load balancer that polls <c>/readyz</c> stops sending requests before the listener closes.
/// </summary>
public sealed class ServerReadiness(EngineLifetime engine, VectorizerSettings settings, ILoggerFactory loggers) : IHostedLifecycleService
{
    private readonly ILogger logger = loggers.CreateLogger("Vectorizer");
    private volatile bool stopping;

    public bool IsReady => engine.IsLoaded && !stopping;

    /// <summary><c>loading</c>, <c>ready</c> or <c>stopping</c>.</summary>
    public string Phase => stopping ? "stopping" : engine.IsLoaded ? "ready" : "loading";

    public bool IsStopping => stopping;

    /// <summary>Runs before any hosted service stops (the web server included).</summary>
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        stopping = true;
        var delay = settings.Server.ShutdownDelaySeconds;
        if (delay > 0)
        {
            logger.LogInformation("Shutting down: /readyz answers 503; serving {Delay} s more before closing the listener", delay);
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(delay), cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // The host's shutdown timeout ran out: stop now.
            }
        }
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
