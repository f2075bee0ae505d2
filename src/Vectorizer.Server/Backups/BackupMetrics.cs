using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Vectorizer.Server.Application;
using Vectorizer.Server.Hosting;
using Vectorizer.Server.Observability;

namespace Vectorizer.Server.Backups;

/// <summary>
/// Backup instruments on the server's meter, read at each scrape from <see cref="BackupsService.Activity"/> and the backup
/// and snapshot directories (nothing is recorded between scrapes). Per <c>operation</c> (create, restore, verify) and
/// <c>kind</c> (create: full, incremental, snapshot; restore and verify: backup, snapshot):
/// <c>vectorizer_backup_operations_total{outcome}</c>, <c>vectorizer_backup_last_success_timestamp_seconds</c>,
/// <c>vectorizer_backup_last_failure_timestamp_seconds</c>, <c>vectorizer_backup_last_duration_seconds</c> and, for
/// create, <c>vectorizer_backup_last_size_bytes</c>; the archives kept, per kind (full, incremental, snapshot):
/// <c>vectorizer_backup_stored</c> and <c>vectorizer_backup_stored_size_bytes</c>; and
/// <c>vectorizer_backup_running</c>. Scheduled backups count as create. Created only when metrics are on.
/// </summary>
public sealed class BackupMetrics
{
    /// <param name="engine">The service needs the engine: it is resolved at the first scrape after the engine has loaded,
    /// so creating the instruments never opens the data directory (that waits until the web server listens).</param>
    public BackupMetrics(IMeterFactory meters, EngineLifetime engine, IServiceProvider services)
    {
        var meter = meters.Create(ServerTelemetry.MeterName);
        var service = new Lazy<BackupsService>(services.GetRequiredService<BackupsService>);
        var idle = new BackupActivity();
        BackupActivity Activity() => engine.IsLoaded ? service.Value.Activity : idle;
        BackupsService? Loaded() => engine.IsLoaded ? service.Value : null;

        IEnumerable<Measurement<T>> Each<T>(Func<BackupOperationStats, T?> value)
            where T : struct =>
            Activity().Stats()
                .Select(s => (Stats: s, Value: value(s)))
                .Where(x => x.Value is not null)
                .Select(x => new Measurement<T>(x.Value!.Value, new("operation", x.Stats.Operation), new("kind", x.Stats.Kind)));

        meter.CreateObservableCounter(
            "vectorizer.backup.operations",
            () => Activity().Stats().SelectMany(s => new[]
            {
                new Measurement<long>(s.Successes, new("operation", s.Operation), new("kind", s.Kind), new("outcome", "success")),
                new Measurement<long>(s.Failures, new("operation", s.Operation), new("kind", s.Kind), new("outcome", "failure")),
            }),
            "{operation}",
            "Backup operations since the server started, by operation (create, restore, verify), kind and outcome");
        meter.CreateObservableGauge(
            "vectorizer.backup.last_success_timestamp", () => Each(s => s.LastSuccess?.ToUnixTimeMilliseconds() / 1000.0), "s", "When the last successful operation of its operation and kind ended (Unix time)");
        meter.CreateObservableGauge(
            "vectorizer.backup.last_failure_timestamp", () => Each(s => s.LastFailure?.ToUnixTimeMilliseconds() / 1000.0), "s", "When the last failed operation of its operation and kind ended (Unix time)");
        meter.CreateObservableGauge("vectorizer.backup.last_duration", () => Each(s => s.LastSeconds), "s", "How long the last operation of its operation and kind took");
        meter.CreateObservableGauge("vectorizer.backup.last_size", () => Each(s => s.LastBytes), "By", "Bytes of the last archive written (create)");
        meter.CreateObservableGauge(
            "vectorizer.backup.stored", () => Stored(Loaded()).Select(k => new Measurement<long>(k.Count, new KeyValuePair<string, object?>("kind", k.Kind))), "{backup}", "Archives kept in backup.directory (full, incremental) and snapshots_directory (snapshot)");
        meter.CreateObservableGauge(
            "vectorizer.backup.stored_size", () => Stored(Loaded()).Select(k => new Measurement<long>(k.Bytes, new KeyValuePair<string, object?>("kind", k.Kind))), "By", "Bytes of the archives kept, by kind");
        meter.CreateObservableGauge("vectorizer.backup.running", () => Activity().Current is null ? 0 : 1, null, "1 while a backup, restore or verify runs");
    }

    /// <summary>The archives on disk by kind, from their file names (an id names its type; no archive is opened).</summary>
    private static IEnumerable<(string Kind, long Count, long Bytes)> Stored(BackupsService? backups)
    {
        var counts = new Dictionary<string, (long Count, long Bytes)>(StringComparer.Ordinal) { ["full"] = (0, 0), ["incremental"] = (0, 0), ["snapshot"] = (0, 0) };
        void Add(string kind, FileInfo file)
        {
            var (count, bytes) = counts[kind];
            counts[kind] = (count + 1, bytes + file.Length);
        }

        if (backups is null)
        {
            return counts.Select(c => (c.Key, c.Value.Count, c.Value.Bytes)); // the engine is still loading
        }

        try
        {
            if (Directory.Exists(backups.BackupsDirectory))
            {
                foreach (var file in new DirectoryInfo(backups.BackupsDirectory).EnumerateFiles())
                {
                    if (BackupsService.IsArchiveName(file.Name))
                    {
                        Add(file.Name.Contains("-incr-", StringComparison.Ordinal) ? "incremental" : "full", file);
                    }
                }
            }

            if (Directory.Exists(backups.SnapshotsDirectory))
            {
                foreach (var file in new DirectoryInfo(backups.SnapshotsDirectory).EnumerateFiles("*.snapshot", SearchOption.AllDirectories))
                {
                    if (file.Directory?.Name != ".downloads")
                    {
                        Add("snapshot", file);
                    }
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A directory that vanished or cannot be read between two calls: report what was counted.
        }

        return counts.Select(c => (c.Key, c.Value.Count, c.Value.Bytes));
    }
}
