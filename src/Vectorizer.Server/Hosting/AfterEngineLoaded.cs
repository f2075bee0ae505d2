using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Vectorizer.Server.Hosting;

/// <summary>
/// Runs a hosted service that needs the engine once the engine has loaded, and resolves it only then: resolving it at
/// host start would open the engine synchronously (<see cref="EngineLifetime.Manager"/>) before the web server
/// listens, so probes could not answer 503 while collections load.
/// </summary>
internal sealed class AfterEngineLoaded<T>(IServiceProvider services, EngineLifetime engine) : IHostedService
    where T : class, IHostedService
{
    private T? inner;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            await engine.Loaded.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (engine.Loaded.IsFaulted)
        {
            return; // the engine's own start reports the failure
        }

        inner = services.GetRequiredService<T>();
        await inner.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    public Task StopAsync(CancellationToken cancellationToken) => inner?.StopAsync(cancellationToken) ?? Task.CompletedTask;
}

public static class AfterEngineLoadedExtensions
{
    /// <summary>Registers <typeparamref name="T"/> (already a singleton) as a hosted service started once the engine has loaded.</summary>
    public static IServiceCollection AddHostedServiceAfterEngine<T>(this IServiceCollection services)
        where T : class, IHostedService =>
        services.AddHostedService(provider => new AfterEngineLoaded<T>(provider, provider.GetRequiredService<EngineLifetime>()));
}
