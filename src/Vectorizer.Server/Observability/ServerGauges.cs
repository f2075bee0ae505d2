using System.Diagnostics.Metrics;
using Vectorizer.Server.Api.Qdrant;
using Vectorizer.Server.Hosting;

namespace Vectorizer.Server.Observability;

/// <summary>
/// Observable instruments read at each scrape (nothing is recorded between scrapes): per collection (points, indexed
/// and unindexed vectors, RAM and disk bytes as <c>storage</c> reports them, WAL bytes, operations and seconds since
/// the last checkpoint, status, the indexer's queue), the file watcher, free disk under <c>data_dir</c>, memory available
/// to the process, readiness and uptime; and Qdrant's <c>app_info</c> and <c>collections_total</c> so that dashboards
/// made for Qdrant find them. Created only when metrics are on.
/// </summary>
public sealed class ServerGauges
{
    public ServerGauges(IMeterFactory meters, CollectionReadings readings, FileWatcherHost watcher, DataDiskProbe disk, ServerReadiness readiness, ServerClock clock)
    {
        var meter = meters.Create(ServerTelemetry.MeterName);
        IEnumerable<Measurement<T>> PerCollection<T>(Func<CollectionReading, T> value)
            where T : struct =>
            readings.Current().Select(r => new Measurement<T>(value(r), new KeyValuePair<string, object?>("collection", r.Name)));

        meter.CreateObservableGauge("app_info", () => new Measurement<int>(1, new("name", "vectorizer"), new("version", ServiceApi.Version)), null, "Information about the server (Qdrant's name)");
        meter.CreateObservableGauge("collections_total", () => (long)readings.Current().Count, null, "Number of collections (Qdrant's name)");

        meter.CreateObservableGauge("vectorizer.collection.points", () => PerCollection(r => r.Points), "{point}", "Live points per collection");
        meter.CreateObservableGauge("vectorizer.collection.indexed_vectors", () => PerCollection(r => r.IndexedVectors), "{vector}", "Vectors reachable through an HNSW graph");
        meter.CreateObservableGauge(
            "vectorizer.collection.unindexed_vectors", () => PerCollection(r => r.UnindexedVectors), "{vector}", "Vectors in no HNSW graph yet (searched exactly)");
        meter.CreateObservableGauge("vectorizer.collection.ram", () => PerCollection(r => r.RamBytes), "By", "Bytes in RAM: vectors, quantized codes, graphs and payloads (collection info's storage)");
        meter.CreateObservableGauge("vectorizer.collection.disk", () => PerCollection(r => r.DiskBytes), "By", "Bytes of the collection's files: WAL, checkpoints, vector chunks");
        meter.CreateObservableGauge("vectorizer.collection.wal", () => PerCollection(r => r.WalBytes), "By", "Bytes of WAL segments");
        meter.CreateObservableGauge(
            "vectorizer.collection.operations_since_checkpoint", () => PerCollection(r => r.OperationsSinceCheckpoint), "{operation}", "Operations a restart would replay from the WAL");
        meter.CreateObservableGauge(
            "vectorizer.collection.checkpoint_age", () => PerCollection(r => r.CheckpointAgeSeconds), "s", "Seconds since the last checkpoint (or since the collection opened)");
        meter.CreateObservableGauge(
            "vectorizer.collection.status",
            () => readings.Current().Select(r => new Measurement<int>(1, new("collection", r.Name), new("status", r.Status)))
                .Concat(readings.Failed().Select(f => new Measurement<int>(1, new("collection", f.Name), new("status", "failed")))),
            null,
            "1 for each collection's current status (green, yellow, grey, red; failed: it could not be opened and is not served)");
        meter.CreateObservableGauge(
            "vectorizer.collections.failed", () => (long)readings.Failed().Count, "{collection}", "Collections that failed to open (not served; see /health/detailed)");
        meter.CreateObservableGauge(
            "vectorizer.indexer.queue_vectors", () => PerCollection(r => r.IndexerQueue), null, "Vectors waiting for the background indexer to insert them into a graph");

        meter.CreateObservableGauge("vectorizer.watcher.running", () => watcher.Snapshot().Running ? 1 : 0, null, "1 while the file watcher runs");
        meter.CreateObservableGauge("vectorizer.watcher.queue_depth", () => (long)watcher.Snapshot().QueueDepth, null, "Paths waiting for the file watcher (debouncing or being indexed)");
        meter.CreateObservableCounter("vectorizer.watcher.files_indexed", () => watcher.Snapshot().Stats.FilesIndexed, "{file}", "Files the watcher indexed");
        meter.CreateObservableCounter("vectorizer.watcher.files_failed", () => watcher.Snapshot().Stats.FilesFailed, "{file}", "Files the watcher failed to index");

        meter.CreateObservableGauge("vectorizer.disk.free", () => disk.Read().Free, "By", "Free bytes on the file system of data_dir (available to the server)");
        meter.CreateObservableGauge("vectorizer.disk.total", () => disk.Read().Total, "By", "Size of the file system of data_dir");
        meter.CreateObservableGauge(
            "vectorizer.memory.available", () => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes, "By", "Memory the process may use: the machine's, or its container's limit");
        meter.CreateObservableGauge("vectorizer.ready", () => readiness.IsReady ? 1 : 0, null, "1 when /readyz answers 200 (collections loaded, not shutting down)");
        meter.CreateObservableGauge("vectorizer.uptime", () => clock.Uptime.TotalSeconds, "s", "Seconds since the server started");
    }
}
