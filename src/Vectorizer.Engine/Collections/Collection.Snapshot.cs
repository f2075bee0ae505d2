using Vectorizer.Engine.Collections.Checkpoints;
using Vectorizer.Engine.Errors;

namespace Vectorizer.Engine.Collections;

/// <summary>The snapshot primitive: a consistent point-in-time copy of the collection, taken while it keeps serving.</summary>
public sealed partial class Collection
{
    /// <summary>
    /// Captures the collection at one LSN: writes a checkpoint of the current state (the state is copied under the read
    /// lock, for as long as copying its per-point arrays takes; writers wait only that long) and returns its files.
    /// Every write acknowledged before this call is in it, and a write is either wholly in it or not at all (a write
    /// applies under the write lock). The snapshot holds the maintenance gate until it is disposed, so no checkpoint,
    /// retention or vacuum removes or replaces the files it names while they are copied; reads and writes go on.
    /// </summary>
    public CollectionSnapshot CaptureSnapshot()
    {
        MaintenanceGate.Wait();
        try
        {
            byte[] config = [];
            long points = 0;
            var lsn = CheckpointCore(
                () =>
                {
                    config = storage.ReadAllBytes(Paths.ConfigFile);
                    points = State.LiveCount;
                },
                force: true);
            if (lsn < 0)
            {
                throw new VectorizerException(ErrorCode.ShuttingDown, $"Collection `{Name}` is closed");
            }

            var directory = Paths.Checkpoint(lsn);
            var files = new List<SnapshotFile> { new(CollectionConfigFile.FileName, null, config) };
            var prefix = "checkpoints/" + Path.GetFileName(directory) + "/";
            foreach (var file in storage.ListFiles(directory))
            {
                files.Add(new SnapshotFile(prefix + Path.GetFileName(file), file, null));
            }

            var manifestPath = Path.Combine(directory, "manifest.json");
            var manifest = CheckpointFormat.DecodeManifest(storage.ReadAllBytes(manifestPath), manifestPath);
            foreach (var slot in manifest.Slots)
            {
                foreach (var chunk in slot.Chunks)
                {
                    if (chunk.File.StartsWith("vectors/", StringComparison.Ordinal))
                    {
                        files.Add(new SnapshotFile(chunk.File, Path.Combine(Paths.Root, chunk.File), null));
                    }
                }
            }

            // What the ingestion layer keeps beside the data (BM25 statistics, the source root): small files, read now.
            var ingest = Path.Combine(Paths.Root, "ingest");
            foreach (var file in storage.ListFiles(ingest))
            {
                if (!file.EndsWith(".tmp", StringComparison.Ordinal))
                {
                    files.Add(new SnapshotFile("ingest/" + Path.GetFileName(file), null, storage.ReadAllBytes(file)));
                }
            }

            return new CollectionSnapshot(Name, lsn, points, files, MaintenanceGate);
        }
        catch
        {
            MaintenanceGate.Release();
            throw;
        }
    }
}
