using System.Globalization;
using Microsoft.Extensions.Logging;
using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Index;
using Vectorizer.Engine.Storage;

namespace Vectorizer.Engine.Collections.Checkpoints;

/// <summary>
/// A collection's checkpoints on disk: a consistent copy of the state at one LSN, so a restart replays only the WAL
/// after it. Writes a <see cref="CheckpointSnapshot"/>, loads the newest checkpoint that verifies, and keeps
/// <see cref="RetainedCheckpoints"/> of them (the WAL reaches back to the oldest, so a damaged newest one falls back
/// to the previous one plus a longer replay). All of a checkpoint's file I/O is here; the byte layouts are in
/// <see cref="CheckpointFormat"/>.
/// <code>
/// checkpoints/&lt;lsn&gt;/manifest.json   files, counts, CRCs (last line: crc32c of the rest)
///                     points.bin      ids, versions, payloads, deleted and searchable bitmaps (+CRC trailer)
///                     sparse.bin      sparse vectors (+CRC trailer), when the collection has any
///                     &lt;key&gt;.tail      vectors of the last, partial chunk of each slot
///                     &lt;key&gt;.graph     the HNSW graph of each slot (+CRC trailer)
/// vectors/g&lt;generation&gt;/&lt;key&gt;/chunk-N.bin   full vector chunks: written once, shared by checkpoints
/// </code>
/// Not thread-safe: the collection calls it under its maintenance gate (or before it starts).
/// <para>
/// Only damage falls back to an older checkpoint: <see cref="CorruptDataException"/> from the decoders (a checksum,
/// framing or consistency check failed) or a file the manifest names that is missing. That is safe because the WAL
/// always reaches back to the oldest retained checkpoint (and the WAL refuses to open when it does not). A format
/// written by a newer version, or any other exception (a bug in this code), stops the open instead. Nothing is ever
/// deleted on load: a damaged checkpoint is renamed <c>*.corrupt</c>.
/// </para>
/// </summary>
internal sealed class CheckpointStore
{
    /// <summary>Checkpoints kept on disk; the WAL is kept back to the oldest of them.</summary>
    public const int RetainedCheckpoints = 2;

    private readonly string name;
    private readonly CollectionPaths paths;
    private readonly ILogger logger;
    private readonly IStorage storage;

    /// <summary>CRCs of the full vector chunks already on disk (by path relative to the root), so each is written once.</summary>
    private readonly Dictionary<string, uint> chunkCrcs = new(StringComparer.Ordinal);

    public CheckpointStore(string name, CollectionPaths paths, ILogger logger, IStorage storage)
    {
        this.name = name;
        this.paths = paths;
        this.logger = logger;
        this.storage = storage;
    }

    // ------------------------------------------------------------------ write

    /// <summary>Writes <paramref name="snapshot"/> as checkpoint <c>snapshot.Lsn</c>: into a temporary folder, fsynced, then renamed into place.</summary>
    public void Write(CheckpointSnapshot snapshot)
    {
        var lsn = snapshot.Lsn;
        var count = snapshot.Count;
        var directory = paths.Checkpoint(lsn);
        var temporary = directory + ".tmp";
        storage.DeleteDirectory(temporary);
        storage.CreateDirectory(temporary);
        var manifest = new CheckpointManifest
        {
            Format = CheckpointFormat.ManifestFormat,
            Lsn = lsn,
            Generation = snapshot.Generation,
            Count = count,
        };

        ChecksummedFile.Write(storage, Path.Combine(temporary, "points.bin"), stream => CheckpointFormat.WritePoints(stream, snapshot));
        foreach (var (slot, _, indexedUpTo) in snapshot.Slots)
        {
            var entry = new SlotManifest { Name = slot.Name, Key = slot.FileKey, Dimension = slot.Dimension, ChunkCapacity = slot.Store.ChunkCapacity, IndexedUpTo = indexedUpTo };
            WriteVectorChunks(slot, snapshot.Generation, count, temporary, lsn, entry);
            if (slot.Graph is { } graph && indexedUpTo > 0)
            {
                var graphFile = slot.FileKey + ".graph";
                ChecksummedFile.Write(storage, Path.Combine(temporary, graphFile), stream => graph.Save(stream, indexedUpTo));
                entry.Graph = RelativeCheckpointFile(lsn, graphFile);
            }

            manifest.Slots.Add(entry);
        }

        if (snapshot.Sparse.Count > 0)
        {
            ChecksummedFile.Write(storage, Path.Combine(temporary, "sparse.bin"), stream => CheckpointFormat.WriteSparse(stream, snapshot.Sparse));
            manifest.Sparse = "sparse.bin";
        }

        FileUtil.WriteDurable(storage, Path.Combine(temporary, "manifest.json"), CheckpointFormat.EncodeManifest(manifest));
        storage.SyncDirectory(temporary);

        // A checkpoint at the same LSN (one after a vacuum) is replaced; should the two steps be cut apart, the
        // older checkpoint and the WAL still hold everything.
        storage.DeleteDirectory(directory);
        storage.MoveDirectory(temporary, directory);
        storage.SyncDirectory(paths.CheckpointsDirectory);
    }

    private static string RelativeCheckpointFile(long lsn, string file) =>
        "checkpoints/" + lsn.ToString("D20", CultureInfo.InvariantCulture) + "/" + file;

    /// <summary>Full chunks go to the shared generation folder once; the partial last chunk into the checkpoint.</summary>
    private void WriteVectorChunks(VectorSlot slot, long generation, int count, string checkpointDirectory, long lsn, SlotManifest entry)
    {
        var store = slot.Store;
        var capacity = store.ChunkCapacity;
        var fullChunks = count / capacity;
        var chunkDirectory = Path.Combine(paths.VectorGeneration(generation), slot.FileKey);

        // The manifest points into this folder: its name (and its parents') must be durable before the manifest is,
        // also when an earlier, killed process created them.
        FileUtil.CreateDirectoriesDurable(storage, paths.Root, Path.GetRelativePath(paths.Root, chunkDirectory));
        for (var chunk = 0; chunk < fullChunks; chunk++)
        {
            var file = $"chunk-{chunk:D6}.bin";
            var relative = $"vectors/g{generation}/{slot.FileKey}/{file}";
            var path = Path.Combine(chunkDirectory, file);
            if (!chunkCrcs.TryGetValue(relative, out var crc) || !storage.FileExists(path))
            {
                var bytes = store.GetChunkBytes(chunk, capacity);
                crc = Crc32C.Compute(bytes);
                FileUtil.WriteDurable(storage, path + ".tmp", bytes);
                storage.MoveFile(path + ".tmp", path);
                chunkCrcs[relative] = crc;
            }

            entry.Chunks.Add(new ChunkManifest { File = relative, Vectors = capacity, Crc = crc });
        }

        storage.SyncDirectory(chunkDirectory);
        var tailVectors = count - (fullChunks * capacity);
        if (tailVectors > 0)
        {
            var tailFile = slot.FileKey + ".tail";
            var bytes = store.GetChunkBytes(fullChunks, tailVectors);
            FileUtil.WriteDurable(storage, Path.Combine(checkpointDirectory, tailFile), bytes);
            entry.Chunks.Add(new ChunkManifest { File = RelativeCheckpointFile(lsn, tailFile), Vectors = tailVectors, Crc = Crc32C.Compute(bytes) });
        }
    }

    private CheckpointManifest ReadManifest(string path) => CheckpointFormat.DecodeManifest(storage.ReadAllBytes(path), path);

    // ------------------------------------------------------------------ retention

    /// <summary>Checkpoint directories, newest first (temporary and quarantined ones excluded).</summary>
    private List<(long Lsn, string Path)> ListCheckpoints()
    {
        var list = new List<(long, string)>();
        foreach (var directory in storage.ListDirectories(paths.CheckpointsDirectory))
        {
            if (long.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var lsn))
            {
                list.Add((lsn, directory));
            }
        }

        list.Sort((a, b) => b.Item1.CompareTo(a.Item1));
        return list;
    }

    /// <summary>
    /// Deletes all but the newest <see cref="RetainedCheckpoints"/> checkpoints and leftover temporary folders, cuts the
    /// WAL back to the oldest retained checkpoint, and deletes vector generations no retained checkpoint (nor the
    /// current state, <paramref name="currentGeneration"/>) uses. When a retained checkpoint's manifest does not verify,
    /// neither the WAL nor any generation is touched: what that checkpoint needs, or what replaces it, is unknown.
    /// </summary>
    public void ApplyRetention(WriteAheadLog wal, long currentGeneration)
    {
        var checkpoints = ListCheckpoints();
        var referenced = new HashSet<string>(StringComparer.Ordinal);
        var unreadable = false;
        for (var i = 0; i < checkpoints.Count; i++)
        {
            if (i >= RetainedCheckpoints)
            {
                TryDeleteDirectory(checkpoints[i].Path);
                continue;
            }

            try
            {
                referenced.Add("g" + ReadManifest(Path.Combine(checkpoints[i].Path, "manifest.json")).Generation.ToString(CultureInfo.InvariantCulture));
            }
            catch (Exception e) when (e is CorruptDataException or UnsupportedFormatException or FileNotFoundException)
            {
                unreadable = true;
                logger.LogWarning(e, "Collection {Name}: unreadable checkpoint manifest in {Path}; the WAL and vector files are kept", name, checkpoints[i].Path);
            }
        }

        foreach (var leftover in storage.ListDirectories(paths.CheckpointsDirectory))
        {
            if (leftover.EndsWith(".tmp", StringComparison.Ordinal))
            {
                TryDeleteDirectory(leftover);
            }
        }

        if (unreadable || checkpoints.Count == 0)
        {
            return;
        }

        // The WAL must reach back to the oldest retained checkpoint; with only one, to the start (should that one
        // checkpoint be damaged, a full replay is the fallback).
        if (checkpoints.Count >= RetainedCheckpoints)
        {
            wal.TruncatePrefix(checkpoints[RetainedCheckpoints - 1].Lsn);
        }

        foreach (var generation in storage.ListDirectories(paths.VectorsDirectory))
        {
            var folder = Path.GetFileName(generation);
            if (!referenced.Contains(folder) && folder != "g" + currentGeneration.ToString(CultureInfo.InvariantCulture))
            {
                TryDeleteDirectory(generation);
            }
        }
    }

    private void TryDeleteDirectory(string path)
    {
        try
        {
            storage.DeleteDirectory(path);
        }
        catch (IOException e)
        {
            logger.LogWarning(e, "Collection {Name}: could not delete {Path}", name, path);
        }
    }

    // ------------------------------------------------------------------ load

    /// <summary>
    /// Loads the newest checkpoint that verifies (0 and null when none). A damaged one is renamed <c>*.corrupt</c>
    /// (unless <paramref name="readOnly"/>) and the next older one tried; <paramref name="damaged"/> hears about each.
    /// </summary>
    public (CollectionState? State, long Lsn) LoadNewest(CollectionConfig config, bool readOnly = false, Action<long, string>? damaged = null)
    {
        foreach (var (lsn, directory) in ListCheckpoints())
        {
            try
            {
                return (Load(directory, lsn, config), lsn);
            }
            catch (Exception e) when (e is CorruptDataException or FileNotFoundException or DirectoryNotFoundException)
            {
                damaged?.Invoke(lsn, e.Message);
                logger.LogWarning("Collection {Name}: checkpoint {Lsn} is damaged ({Error}); falling back to an older one", name, lsn, e.Message);
                if (!readOnly)
                {
                    var quarantine = directory + ".corrupt";
                    for (var n = 2; storage.DirectoryExists(quarantine); n++)
                    {
                        quarantine = directory + ".corrupt-" + n.ToString(CultureInfo.InvariantCulture);
                    }

                    storage.MoveDirectory(directory, quarantine);
                }
            }
        }

        return (null, 0);
    }

    private CollectionState Load(string directory, long lsn, CollectionConfig config)
    {
        var manifest = ReadManifest(Path.Combine(directory, "manifest.json"));
        if (manifest.Format > CheckpointFormat.ManifestFormat)
        {
            throw new UnsupportedFormatException($"checkpoint {lsn} has manifest format {manifest.Format}; this Vectorizer reads format {CheckpointFormat.ManifestFormat} (written by a newer version?)");
        }

        if (manifest.Format != CheckpointFormat.ManifestFormat || manifest.Lsn != lsn || manifest.Count < 0 || manifest.Generation < 0)
        {
            throw new CorruptDataException($"checkpoint {lsn}: manifest says format {manifest.Format}, LSN {manifest.Lsn}, {manifest.Count} points");
        }

        var loaded = new CollectionState(config, manifest.Generation, paths.SpillDirectory);

        // Vectors added or removed after this checkpoint (PUT/DELETE /collections/{c}/vectors/{name}, with a crash before
        // the checkpoint that follows the change): a vector the config no longer has, or has with another layout, is
        // skipped; one the checkpoint lacks starts empty. New chunk files then go to a new generation, never over files
        // this checkpoint (or the one before) still names.
        var usable = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in manifest.Slots)
        {
            if (loaded.Slot(entry.Name) is { } known && entry.Dimension == known.Dimension && entry.ChunkCapacity == known.Store.ChunkCapacity)
            {
                usable.Add(entry.Name);
            }
        }

        var schemaChanged = usable.Count != manifest.Slots.Count || usable.Count != loaded.Slots.Count;
        var points = ChecksummedFile.Read(storage, Path.Combine(directory, "points.bin"));
        CheckpointFormat.ReadPoints(points.Span, loaded, manifest.Count, usable);
        if (manifest.Sparse is { } sparseFile)
        {
            CheckpointFormat.ReadSparse(ChecksummedFile.Read(storage, Path.Combine(directory, CheckedRelative(sparseFile))).Span, loaded, manifest.Count);
        }

        foreach (var entry in manifest.Slots)
        {
            if (!usable.Contains(entry.Name))
            {
                logger.LogWarning("Collection {Name}: checkpoint {Lsn} holds vector `{Vector}`, which the collection no longer has in that form; skipped", name, lsn, entry.Name);
                continue;
            }

            var slot = loaded.Slot(entry.Name)!;
            foreach (var chunk in entry.Chunks)
            {
                var bytes = storage.ReadAllBytes(Path.Combine(paths.Root, CheckedRelative(chunk.File)));
                if (chunk.Vectors < 0 || bytes.LongLength != (long)chunk.Vectors * slot.Dimension * sizeof(float) || Crc32C.Compute(bytes) != chunk.Crc ||
                    (long)slot.Store.Count + chunk.Vectors > manifest.Count)
                {
                    throw new CorruptDataException($"vector chunk {chunk.File} is damaged");
                }

                slot.Store.AppendRaw(bytes);
                if (chunk.File.StartsWith("vectors/", StringComparison.Ordinal))
                {
                    chunkCrcs[chunk.File] = chunk.Crc;
                }
            }

            if (slot.Store.Count != manifest.Count)
            {
                throw new CorruptDataException($"vector `{entry.Name}` has {slot.Store.Count} vectors, expected {manifest.Count}");
            }

            if (entry.Graph is { } graphFile)
            {
                try
                {
                    var (graph, nodes) = slot.LoadGraph(ChecksummedFile.Read(storage, Path.Combine(paths.Root, CheckedRelative(graphFile))).Span);
                    slot.Graph = graph;
                    slot.IndexedUpTo = Math.Min(nodes, manifest.Count);
                }
                catch (Exception e) when (e is CorruptDataException or UnsupportedFormatException or FileNotFoundException)
                {
                    // The graph is derived data: rebuild it rather than lose the checkpoint.
                    logger.LogWarning("Collection {Name}: HNSW graph for `{Vector}` is damaged ({Error}); it will be rebuilt", name, entry.Name, e.Message);
                }
            }
        }

        foreach (var slot in loaded.Slots)
        {
            if (!usable.Contains(slot.Name))
            {
                slot.Store.EnsureCapacity(manifest.Count);
                for (var i = 0; i < manifest.Count; i++)
                {
                    slot.Store.AppendEmpty();
                }

                slot.Searchable.EnsureCapacity(manifest.Count);
            }
        }

        if (schemaChanged)
        {
            loaded.Generation = manifest.Generation + 1;
        }

        return loaded;
    }

    /// <summary>A path from a manifest: relative, and inside the collection (a damaged manifest must not point elsewhere).</summary>
    private static string CheckedRelative(string path) =>
        path.Length == 0 || Path.IsPathRooted(path) || path.Split('/', '\\').Contains("..")
            ? throw new CorruptDataException($"checkpoint manifest names the file `{path}`")
            : path;
}
