using Vectorizer.Engine.Collections;
using Vectorizer.Server.Hosting;

namespace Vectorizer.Server.Observability;

/// <summary>What one collection reports for monitoring, read at one moment.</summary>
public sealed record CollectionReading(
    string Name,
    string Status,
    long Points,
    long IndexedVectors,
    long UnindexedVectors,
    long IndexerQueue,
    long RamBytes,
    long DiskBytes,
    long WalBytes,
    long OperationsSinceCheckpoint,
    double CheckpointAgeSeconds);

/// <summary>
/// Reads every open collection for the metrics and <c>/health/detailed</c>: collection info (points, indexed vectors,
/// <c>storage</c>), WAL size, operations and time since the last checkpoint, the indexer's queue. A reading walks the
/// collection's files (disk bytes), so it is kept for a second: one scrape's instruments share it.
/// </summary>
public sealed class CollectionReadings(EngineLifetime engine, TimeProvider time)
{
    private static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(1);
    private readonly Lock sync = new();
    private (DateTimeOffset At, IReadOnlyList<CollectionReading> Readings) cached = (DateTimeOffset.MinValue, []);

    /// <summary>Collections whose folder exists but that could not be opened (not served; see <see cref="FailedCollection"/>).</summary>
    public IReadOnlyList<FailedCollection> Failed() => engine.IsLoaded ? engine.Manager.Failed : [];

    /// <summary>The readings, at most a second old; empty while the engine loads.</summary>
    public IReadOnlyList<CollectionReading> Current()
    {
        if (!engine.IsLoaded)
        {
            return [];
        }

        lock (sync)
        {
            var now = time.GetUtcNow();
            if (now - cached.At > MaxAge)
            {
                cached = (now, Read(engine.Manager, now));
            }

            return cached.Readings;
        }
    }

    private static List<CollectionReading> Read(CollectionManager manager, DateTimeOffset now)
    {
        var readings = new List<CollectionReading>();
        foreach (var name in manager.List())
        {
            if (manager.TryGet(name) is not { } collection)
            {
                continue;
            }

            try
            {
                var info = collection.GetInfo();
                var storage = info.Storage;
                long ram = storage?.PayloadRamBytes ?? 0;
                foreach (var vector in storage?.Vectors ?? [])
                {
                    ram += vector.VectorsRamBytes + vector.QuantizedRamBytes + vector.IndexRamBytes;
                }

                var (unindexed, queued) = collection.UnindexedVectors();
                readings.Add(new CollectionReading(
                    name,
                    info.Status.ToString().ToLowerInvariant(),
                    info.PointsCount,
                    info.IndexedVectorsCount,
                    unindexed,
                    queued,
                    ram,
                    storage?.DiskBytes ?? 0,
                    collection.WalBytes,
                    collection.OperationsSinceCheckpoint,
                    Math.Max(0, (now.UtcDateTime - collection.LastCheckpointUtc).TotalSeconds)));
            }
            catch (Exception e) when (e is ObjectDisposedException or IOException or Engine.Errors.VectorizerException)
            {
                // Deleted or closed while being read: it is simply not in this reading.
            }
        }

        return readings;
    }
}
