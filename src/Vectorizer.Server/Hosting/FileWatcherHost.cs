using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Vectorizer.Engine.Collections;
using Vectorizer.Ingestion;
using Vectorizer.Ingestion.Files;
using Vectorizer.Server.Configuration;

namespace Vectorizer.Server.Hosting;

/// <summary>The config file the server was started with (null: none), for <c>file_watcher.hot_reload</c>.</summary>
public sealed record ConfigSource(string? Path);

/// <summary>What <c>GET /api/watcher/status</c> reports.</summary>
public sealed record WatcherSnapshot(
    bool Enabled,
    bool Running,
    bool Scanning,
    IReadOnlyList<string> Paths,
    int QueueDepth,
    FileWatcherStats Stats);

/// <summary>
/// Runs the <see cref="FileWatcher"/> the <c>file_watcher:</c> section describes, after the engine has opened (and
/// stops it before the engine closes). With <c>hot_reload</c> it watches the config file: a changed, valid
/// <c>file_watcher</c> section replaces the running watcher (counters are kept); an invalid one is reported and ignored.
/// Not disposable on purpose: the container would dispose it twice (as itself and as a hosted service); StopAsync cleans up.
/// </summary>
public sealed class FileWatcherHost(
    VectorizerSettings settings, ConfigSource source, EngineLifetime engine, IServiceProvider services, ILoggerFactory loggerFactory) : IHostedService
{
    private readonly ILogger logger = loggerFactory.CreateLogger("Vectorizer.FileWatcher");
    private readonly SemaphoreSlim gate = new(1, 1);
    private readonly FileWatcherStats stats = new();
    private FileWatcherSection section = settings.FileWatcher;
    private string sectionYaml = ConfigLoader.ToYaml(settings.FileWatcher);
    private FileWatcher? watcher;
    private FileSystemWatcher? configWatcher;
    private Timer? reloadTimer;

    public WatcherSnapshot Snapshot()
    {
        var current = Volatile.Read(ref watcher);
        return new WatcherSnapshot(
            section.Enabled,
            current is not null,
            current?.Scanning ?? false,
            current?.Roots ?? [.. section.WatchPaths.Select(FileIndexerOptions.NormalizeRoot)],
            current?.QueueDepth ?? 0,
            stats);
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            await engine.Loaded.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (engine.Loaded.IsFaulted)
        {
            return; // the engine's start reports why (one error, not two)
        }

        await RestartAsync(section).ConfigureAwait(false);
        if (section.HotReload && source.Path is { } path && File.Exists(path))
        {
            var full = Path.GetFullPath(path);
            configWatcher = new FileSystemWatcher(Path.GetDirectoryName(full)!, Path.GetFileName(full))
            {
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size,
            };
            reloadTimer = new Timer(_ => _ = ReloadSafelyAsync(full));
            FileSystemEventHandler changed = (_, _) => reloadTimer.Change(section.DebounceMs, Timeout.Infinite);
            configWatcher.Changed += changed;
            configWatcher.Created += changed;
            configWatcher.Renamed += (_, _) => reloadTimer.Change(section.DebounceMs, Timeout.Infinite);
            configWatcher.EnableRaisingEvents = true;
            logger.LogInformation("Watching {Config} for changes to `file_watcher`", full);
        }
    }

    private async Task ReloadSafelyAsync(string path)
    {
        try
        {
            await ReloadAsync(path).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            stats.Error(path, "config reload failed: " + e.Message);
            logger.LogError(e, "Reloading {Config} failed", path);
        }
    }

    /// <summary>
    /// Re-reads the configuration (the file and the environment, as at startup) and applies its <c>file_watcher</c>
    /// section when it changed; a configuration with any error is reported and not applied.
    /// </summary>
    public async Task ReloadAsync(string path)
    {
        var (fresh, issues) = await Task.Run(() => ConfigLoader.Check(path, ConfigLoader.CurrentEnvironment())).ConfigureAwait(false);
        if (fresh is null)
        {
            var errors = issues.Where(i => !i.IsWarning).ToList();
            foreach (var issue in errors)
            {
                stats.Error(path, "config not reloaded: " + issue);
            }

            logger.LogWarning("Not reloading {Config}: {Issues}", path, string.Join("; ", errors));
            return;
        }

        var yaml = ConfigLoader.ToYaml(fresh.Settings.FileWatcher);
        if (yaml == sectionYaml)
        {
            return;
        }

        logger.LogInformation("The `file_watcher` section of {Config} changed; restarting the watcher", path);
        stats.Reload();
        await RestartAsync(fresh.Settings.FileWatcher).ConfigureAwait(false);
    }

    private async Task RestartAsync(FileWatcherSection next)
    {
        await gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (watcher is { } running)
            {
                Volatile.Write(ref watcher, null);
                await running.DisposeAsync().ConfigureAwait(false);
            }

            section = next;
            sectionYaml = ConfigLoader.ToYaml(next);
            if (!next.Enabled)
            {
                return;
            }

            var indexer = new FileIndexer(engine.Manager, services.GetRequiredService<IngestionService>(), next.ToIndexerOptions(settings.Embedding.ToEmbeddingConfig()), logger);
            var started = new FileWatcher(indexer, next.ToWatcherOptions(), stats, logger);
            started.Start();
            Volatile.Write(ref watcher, started);
        }
        finally
        {
            gate.Release();
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        configWatcher?.Dispose();
        configWatcher = null;
        if (reloadTimer is not null)
        {
            await reloadTimer.DisposeAsync().ConfigureAwait(false);
            reloadTimer = null;
        }

        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (watcher is { } running)
            {
                Volatile.Write(ref watcher, null);
                await running.DisposeAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            gate.Release();
        }
    }
}
