using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Logging;
using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Index;
using Vectorizer.Engine.Payload;
using Vectorizer.Engine.Points;
using Vectorizer.Engine.Sparse;
using Vectorizer.Engine.Storage;

namespace Vectorizer.Engine.Collections;

/// <summary>
/// Checkpoints: a consistent copy of the state at one LSN, so a restart replays only the WAL after it.
/// <code>
/// checkpoints/&lt;lsn&gt;/manifest.json   files, counts, CRCs (last line: crc32c of the rest)
///                     points.bin      ids, versions, payloads, deleted and searchable bitmaps (+CRC trailer)
///                     &lt;key&gt;.tail      vectors of the last, partial chunk of each slot
///                     &lt;key&gt;.graph     the HNSW graph of each slot (+CRC trailer)
/// vectors/g&lt;generation&gt;/&lt;key&gt;/chunk-N.bin   full vector chunks: written once, shared by checkpoints
/// </code>
/// Two checkpoints are kept; the WAL is kept back to the older one, so a damaged newest checkpoint falls back
/// to the previous one plus a longer replay.
/// </summary>
public sealed partial class Collection
{
    private const int ManifestFormat = OnDiskFormat.CheckpointManifest;
    private const int RetainedCheckpoints = 2;
    private static ReadOnlySpan<byte> PointsMagic => "VZPOINT1"u8;

    private readonly Dictionary<string, uint> chunkCrcs = new(StringComparer.Ordinal);

    /// <summary>Operations applied since the last checkpoint.</summary>
    public long OperationsSinceCheckpoint => Interlocked.Read(ref operationsSinceCheckpoint);

    /// <summary>True when auto-save should checkpoint now.</summary>
    public bool CheckpointDue(AutoSaveOptions autoSave, DateTime nowUtc)
    {
        var pending = OperationsSinceCheckpoint;
        if (pending == 0 || !autoSave.Enabled)
        {
            return false;
        }

        // Never spend more than about a fifth of the time checkpointing a large collection.
        var spacing = TimeSpan.FromTicks(Math.Max(TimeSpan.FromSeconds(1).Ticks, lastCheckpointDuration.Ticks * 4));
        if (nowUtc - lastCheckpointUtc < spacing)
        {
            return false;
        }

        return pending >= autoSave.MinOperations || nowUtc - lastCheckpointUtc >= TimeSpan.FromSeconds(autoSave.IntervalSeconds);
    }

    /// <summary>Writes a checkpoint of the current state (pausing the indexer, not readers or writers for long).</summary>
    public void Checkpoint()
    {
        maintenanceGate.Wait();
        try
        {
            CheckpointCore();
        }
        finally
        {
            maintenanceGate.Release();
        }
    }

    private void CheckpointCore()
    {
        var stopwatch = Stopwatch.StartNew();
        SegmentState current;
        long lsn;
        long operations;
        int count;
        PointId[] ids;
        ulong[] versions;
        PayloadSnapshot payloads;
        ulong[] deleted;
        var slots = new List<(VectorSlot Slot, ulong[] Searchable, int IndexedUpTo)>();
        var sparse = new List<(string Name, List<(int Offset, SparseVector Vector)> Vectors)>();
        rw.EnterReadLock();
        try
        {
            if (disposed)
            {
                return;
            }

            current = State;
            lsn = wal.LastLsn;
            operations = Interlocked.Read(ref operationsSinceCheckpoint);
            count = current.Count;
            (ids, versions, payloads) = current.SnapshotArrays();
            deleted = current.Deleted.Snapshot(count);
            foreach (var slot in current.Slots)
            {
                slots.Add((slot, slot.Searchable.Snapshot(count), Math.Min(slot.Graph is null ? 0 : slot.IndexedUpTo, count)));
            }

            foreach (var slot in current.SparseSlots)
            {
                var vectors = new List<(int, SparseVector)>();
                for (var offset = 0; offset < count; offset++)
                {
                    if (slot.Get(offset) is { } vector)
                    {
                        vectors.Add((offset, vector));
                    }
                }

                sparse.Add((slot.Name, vectors));
            }
        }
        finally
        {
            rw.ExitReadLock();
        }

        if (lsn == CheckpointLsn && operations == 0)
        {
            return;
        }

        // The WAL must be durable up to the checkpoint: a checkpoint ahead of a torn log would break LSN continuity.
        wal.Flush();

        var directory = Paths.Checkpoint(lsn);
        var temporary = directory + ".tmp";
        if (Directory.Exists(temporary))
        {
            Directory.Delete(temporary, recursive: true);
        }

        Directory.CreateDirectory(temporary);
        var manifest = new CheckpointManifest
        {
            Format = ManifestFormat,
            Lsn = lsn,
            Generation = current.Generation,
            Count = count,
        };

        ChecksummedFile.Write(Path.Combine(temporary, "points.bin"), stream => WritePoints(stream, lsn, ids, versions, payloads, deleted, slots));
        foreach (var (slot, _, indexedUpTo) in slots)
        {
            var entry = new SlotManifest { Name = slot.Name, Key = slot.FileKey, Dimension = slot.Dimension, ChunkCapacity = slot.Store.ChunkCapacity, IndexedUpTo = indexedUpTo };
            WriteVectorChunks(slot, current.Generation, count, temporary, lsn, entry);
            if (slot.Graph is { } graph && indexedUpTo > 0)
            {
                var graphFile = slot.FileKey + ".graph";
                ChecksummedFile.Write(Path.Combine(temporary, graphFile), stream => graph.Save(stream, indexedUpTo));
                entry.Graph = RelativeCheckpointFile(lsn, graphFile);
            }

            manifest.Slots.Add(entry);
        }

        if (sparse.Count > 0)
        {
            ChecksummedFile.Write(Path.Combine(temporary, "sparse.bin"), stream => WriteSparse(stream, sparse));
            manifest.Sparse = "sparse.bin";
        }

        WriteManifest(Path.Combine(temporary, "manifest.json"), manifest);
        FileUtil.SyncDirectory(temporary);
        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }

        Directory.Move(temporary, directory);
        FileUtil.SyncDirectory(Paths.CheckpointsDirectory);

        Interlocked.Exchange(ref checkpointLsn, lsn);
        Interlocked.Add(ref operationsSinceCheckpoint, -operations);
        lastCheckpointUtc = DateTime.UtcNow;
        lastCheckpointDuration = stopwatch.Elapsed;
        ApplyRetention();
        logger.LogInformation("Collection {Name}: checkpoint at LSN {Lsn} ({Points} offsets) in {Elapsed:F2}s", Name, lsn, count, stopwatch.Elapsed.TotalSeconds);
    }

    private static string RelativeCheckpointFile(long lsn, string file) =>
        "checkpoints/" + lsn.ToString("D20", CultureInfo.InvariantCulture) + "/" + file;

    private static void WritePoints(
        Stream stream, long lsn, PointId[] ids, ulong[] versions, PayloadSnapshot payloads, ulong[] deleted,
        List<(VectorSlot Slot, ulong[] Searchable, int IndexedUpTo)> slots)
    {
        var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        writer.Write(PointsMagic);
        writer.Write(OnDiskFormat.CheckpointPoints);
        writer.Write(lsn);
        writer.Write(ids.Length);
        writer.Write(slots.Count);
        foreach (var (slot, searchable, _) in slots)
        {
            writer.Write(slot.Name);
            WriteWords(writer, searchable);
        }

        WriteWords(writer, deleted);
        for (var offset = 0; offset < ids.Length; offset++)
        {
            var id = ids[offset];
            writer.Write(id.IsUuid ? (byte)1 : (byte)0);
            writer.Write(id.IsUuid ? id.UuidHigh : 0UL);
            writer.Write(id.IsUuid ? id.UuidLow : id.Number);
            writer.Write(versions[offset]);
            if (payloads.Get(offset) is { } payload)
            {
                var bytes = payload.ToUtf8();
                writer.Write(bytes.Length);
                writer.Write(bytes);
            }
            else
            {
                writer.Write(-1);
            }
        }

        writer.Flush();
    }

    private static void WriteWords(BinaryWriter writer, ulong[] words)
    {
        writer.Write(words.Length);
        foreach (var word in words)
        {
            writer.Write(word);
        }
    }

    /// <summary>Full chunks go to the shared generation folder once; the partial last chunk into the checkpoint.</summary>
    private void WriteVectorChunks(VectorSlot slot, long generation, int count, string checkpointDirectory, long lsn, SlotManifest entry)
    {
        var store = slot.Store;
        var capacity = store.ChunkCapacity;
        var fullChunks = count / capacity;
        var chunkDirectory = Path.Combine(Paths.VectorGeneration(generation), slot.FileKey);
        Directory.CreateDirectory(chunkDirectory);
        for (var chunk = 0; chunk < fullChunks; chunk++)
        {
            var name = $"chunk-{chunk:D6}.bin";
            var relative = $"vectors/g{generation}/{slot.FileKey}/{name}";
            var path = Path.Combine(chunkDirectory, name);
            if (!chunkCrcs.TryGetValue(relative, out var crc) || !File.Exists(path))
            {
                var bytes = store.GetChunkBytes(chunk, capacity);
                crc = Crc32C.Compute(bytes);
                FileUtil.WriteDurable(path + ".tmp", bytes);
                File.Move(path + ".tmp", path, overwrite: true);
                chunkCrcs[relative] = crc;
            }

            entry.Chunks.Add(new ChunkManifest { File = relative, Vectors = capacity, Crc = crc });
        }

        FileUtil.SyncDirectory(chunkDirectory);
        var tailVectors = count - (fullChunks * capacity);
        if (tailVectors > 0)
        {
            var tailFile = slot.FileKey + ".tail";
            var bytes = store.GetChunkBytes(fullChunks, tailVectors);
            FileUtil.WriteDurable(Path.Combine(checkpointDirectory, tailFile), bytes);
            entry.Chunks.Add(new ChunkManifest { File = RelativeCheckpointFile(lsn, tailFile), Vectors = tailVectors, Crc = Crc32C.Compute(bytes) });
        }
    }

    private static void WriteManifest(string path, CheckpointManifest manifest)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(manifest, ManifestJson.Default.CheckpointManifest);
        var trailer = Encoding.ASCII.GetBytes($"\n#crc32c={Crc32C.Compute(body):x8}\n");
        FileUtil.WriteDurable(path, [.. body, .. trailer]);
    }

    private static CheckpointManifest ReadManifest(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var marker = Encoding.ASCII.GetBytes("\n#crc32c=");
        var at = bytes.AsSpan().LastIndexOf(marker);
        if (at < 0)
        {
            throw new InvalidDataException($"{path}: no checksum line");
        }

        var hex = Encoding.ASCII.GetString(bytes, at + marker.Length, 8);
        var body = bytes.AsSpan(0, at);
        if (!uint.TryParse(hex, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var expected) || Crc32C.Compute(body) != expected)
        {
            throw new InvalidDataException($"{path}: checksum mismatch");
        }

        return JsonSerializer.Deserialize(body, ManifestJson.Default.CheckpointManifest)
            ?? throw new InvalidDataException($"{path}: empty manifest");
    }

    /// <summary>Checkpoint directories, newest first (temporary and quarantined ones excluded).</summary>
    private List<(long Lsn, string Path)> ListCheckpoints()
    {
        var list = new List<(long, string)>();
        if (!Directory.Exists(Paths.CheckpointsDirectory))
        {
            return list;
        }

        foreach (var directory in Directory.EnumerateDirectories(Paths.CheckpointsDirectory))
        {
            if (long.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var lsn))
            {
                list.Add((lsn, directory));
            }
        }

        list.Sort((a, b) => b.Item1.CompareTo(a.Item1));
        return list;
    }

    private void ApplyRetention()
    {
        var checkpoints = ListCheckpoints();
        var referenced = new HashSet<string>(StringComparer.Ordinal);
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
            catch (Exception e) when (e is IOException or InvalidDataException or JsonException)
            {
                logger.LogWarning(e, "Collection {Name}: unreadable checkpoint manifest in {Path}", Name, checkpoints[i].Path);
            }
        }

        foreach (var leftover in Directory.EnumerateDirectories(Paths.CheckpointsDirectory, "*.tmp"))
        {
            TryDeleteDirectory(leftover);
        }

        // The WAL must reach back to the oldest retained checkpoint.
        var oldest = checkpoints[Math.Min(checkpoints.Count, RetainedCheckpoints) - 1].Lsn;
        wal.TruncatePrefix(oldest);

        if (Directory.Exists(Paths.VectorsDirectory))
        {
            foreach (var generation in Directory.EnumerateDirectories(Paths.VectorsDirectory))
            {
                var name = Path.GetFileName(generation);
                if (!referenced.Contains(name) && name != "g" + State.Generation.ToString(CultureInfo.InvariantCulture))
                {
                    TryDeleteDirectory(generation);
                }
            }
        }
    }

    private void TryDeleteDirectory(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (IOException e)
        {
            logger.LogWarning(e, "Collection {Name}: could not delete {Path}", Name, path);
        }
    }

    /// <summary>Loads the newest checkpoint that verifies; damaged ones are renamed <c>*.corrupt</c>.</summary>
    private (SegmentState? State, long Lsn) LoadNewestCheckpoint()
    {
        foreach (var (lsn, directory) in ListCheckpoints())
        {
            try
            {
                return (LoadCheckpoint(directory, lsn), lsn);
            }
            catch (Exception e) when (e is IOException or InvalidDataException or JsonException or VectorizerException or ArgumentException or IndexOutOfRangeException or EndOfStreamException)
            {
                logger.LogWarning("Collection {Name}: checkpoint {Lsn} is damaged ({Error}); falling back to an older one", Name, lsn, e.Message);
                var quarantine = directory + ".corrupt";
                if (Directory.Exists(quarantine))
                {
                    Directory.Delete(quarantine, recursive: true);
                }

                Directory.Move(directory, quarantine);
            }
        }

        return (null, 0);
    }

    private SegmentState LoadCheckpoint(string directory, long lsn)
    {
        var manifest = ReadManifest(Path.Combine(directory, "manifest.json"));
        if (manifest.Format != ManifestFormat || manifest.Lsn != lsn)
        {
            throw new InvalidDataException($"manifest format {manifest.Format} / LSN {manifest.Lsn} not readable");
        }

        var loaded = new SegmentState(Config, manifest.Generation, Paths.SpillDirectory);
        var points = ChecksummedFile.Read(Path.Combine(directory, "points.bin"));
        ReadPoints(points.Span, loaded, manifest.Count);
        if (manifest.Sparse is { } sparseFile)
        {
            ReadSparse(ChecksummedFile.Read(Path.Combine(directory, sparseFile)).Span, loaded, manifest.Count);
        }
        foreach (var entry in manifest.Slots)
        {
            var slot = loaded.Slot(entry.Name) ?? throw new InvalidDataException($"checkpoint has unknown vector `{entry.Name}`");
            if (entry.Dimension != slot.Dimension || entry.ChunkCapacity != slot.Store.ChunkCapacity)
            {
                throw new InvalidDataException($"vector `{entry.Name}` layout does not match the collection");
            }

            foreach (var chunk in entry.Chunks)
            {
                var bytes = File.ReadAllBytes(Path.Combine(Paths.Root, chunk.File));
                if (bytes.Length != chunk.Vectors * slot.Dimension * sizeof(float) || Crc32C.Compute(bytes) != chunk.Crc)
                {
                    throw new InvalidDataException($"vector chunk {chunk.File} is damaged");
                }

                slot.Store.AppendRaw(bytes);
                if (chunk.File.StartsWith("vectors/", StringComparison.Ordinal))
                {
                    chunkCrcs[chunk.File] = chunk.Crc;
                }
            }

            if (slot.Store.Count != manifest.Count)
            {
                throw new InvalidDataException($"vector `{entry.Name}` has {slot.Store.Count} vectors, expected {manifest.Count}");
            }

            if (entry.Graph is { } graphFile)
            {
                try
                {
                    var (graph, nodes) = HnswGraph.Load(ChecksummedFile.Read(Path.Combine(Paths.Root, graphFile)).Span);
                    slot.Graph = graph;
                    slot.IndexedUpTo = Math.Min(nodes, manifest.Count);
                }
                catch (Exception e) when (e is IOException or InvalidDataException or VectorizerException or ArgumentException or IndexOutOfRangeException)
                {
                    // The graph is derived data: rebuild it rather than lose the checkpoint.
                    logger.LogWarning("Collection {Name}: HNSW graph for `{Vector}` is damaged ({Error}); it will be rebuilt", Name, entry.Name, e.Message);
                }
            }
        }

        return loaded;
    }

    private static void WriteSparse(Stream stream, List<(string Name, List<(int Offset, SparseVector Vector)> Vectors)> slots)
    {
        using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        writer.Write(slots.Count);
        foreach (var (name, vectors) in slots)
        {
            writer.Write(name);
            writer.Write(vectors.Count);
            foreach (var (offset, vector) in vectors)
            {
                writer.Write(offset);
                writer.Write(vector.Count);
                writer.Write(MemoryMarshal.AsBytes(vector.Indices.AsSpan()));
                writer.Write(MemoryMarshal.AsBytes(vector.Values.AsSpan()));
            }
        }
    }

    private static void ReadSparse(ReadOnlySpan<byte> data, SegmentState target, int count)
    {
        var reader = new SpanReader(data);
        var slots = reader.Int32();
        for (var s = 0; s < slots; s++)
        {
            var name = reader.String();
            var slot = target.SparseSlot(name) ?? throw new InvalidDataException($"sparse.bin: unknown sparse vector `{name}`");
            var vectors = reader.Int32();
            for (var v = 0; v < vectors; v++)
            {
                var offset = reader.Int32();
                var length = reader.Int32();
                if ((uint)offset >= (uint)count || length < 0)
                {
                    throw new InvalidDataException("sparse.bin: bad entry");
                }

                var indices = MemoryMarshal.Cast<byte, uint>(reader.Take(checked(length * 4))).ToArray();
                var values = MemoryMarshal.Cast<byte, float>(reader.Take(checked(length * 4))).ToArray();
                slot.Set(offset, SparseVector.FromSorted(indices, values));
            }
        }
    }

    private static void ReadPoints(ReadOnlySpan<byte> data, SegmentState target, int expectedCount)
    {
        var reader = new SpanReader(data);
        if (!reader.Take(8).SequenceEqual(PointsMagic) || reader.Int32() != OnDiskFormat.CheckpointPoints)
        {
            throw new InvalidDataException("points.bin: unknown format");
        }

        reader.Int64();
        var count = reader.Int32();
        if (count != expectedCount)
        {
            throw new InvalidDataException("points.bin: count does not match the manifest");
        }

        var slotCount = reader.Int32();
        for (var i = 0; i < slotCount; i++)
        {
            var name = reader.String();
            var words = reader.Words();
            var slot = target.Slot(name) ?? throw new InvalidDataException($"points.bin: unknown vector `{name}`");
            slot.Searchable = Bitmap.FromWords(words);
        }

        var deleted = Bitmap.FromWords(reader.Words());
        for (var offset = 0; offset < count; offset++)
        {
            var kind = reader.Take(1)[0];
            var high = reader.UInt64();
            var low = reader.UInt64();
            var version = reader.UInt64();
            var length = reader.Int32();
            var payload = length < 0 ? null : PointPayload.FromUtf8(reader.Take(length));
            target.RestoreOffset(kind == 1 ? PointId.FromUuidParts(high, low) : PointId.FromNumber(low), version, payload, deleted.Get(offset));
        }
    }

    private ref struct SpanReader(ReadOnlySpan<byte> data)
    {
        private ReadOnlySpan<byte> data = data;

        public ReadOnlySpan<byte> Take(int length)
        {
            if (length < 0 || length > data.Length)
            {
                throw new InvalidDataException("unexpected end of file");
            }

            var slice = data[..length];
            data = data[length..];
            return slice;
        }

        public int Int32() => BinaryPrimitives.ReadInt32LittleEndian(Take(4));

        public long Int64() => BinaryPrimitives.ReadInt64LittleEndian(Take(8));

        public ulong UInt64() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8));

        /// <summary>A BinaryWriter string: 7-bit encoded length, then UTF-8.</summary>
        public string String()
        {
            int length = 0, shift = 0;
            byte b;
            do
            {
                b = Take(1)[0];
                length |= (b & 0x7F) << shift;
                shift += 7;
            }
            while ((b & 0x80) != 0);
            return Encoding.UTF8.GetString(Take(length));
        }

        public ulong[] Words()
        {
            var count = Int32();
            var words = new ulong[count];
            for (var i = 0; i < count; i++)
            {
                words[i] = UInt64();
            }

            return words;
        }
    }
}

internal sealed class CheckpointManifest
{
    [JsonPropertyName("format")]
    public int Format { get; set; }

    [JsonPropertyName("lsn")]
    public long Lsn { get; set; }

    [JsonPropertyName("generation")]
    public long Generation { get; set; }

    [JsonPropertyName("count")]
    public int Count { get; set; }

    [JsonPropertyName("slots")]
    public List<SlotManifest> Slots { get; set; } = [];

    /// <summary>The sparse vectors file (absent when the collection has no sparse vectors).</summary>
    [JsonPropertyName("sparse")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Sparse { get; set; }
}

internal sealed class SlotManifest
{
    [JsonPropertyName("name")]
    public string Name { get; set; } = "";

    [JsonPropertyName("key")]
    public string Key { get; set; } = "";

    [JsonPropertyName("dim")]
    public int Dimension { get; set; }

    [JsonPropertyName("chunk_capacity")]
    public int ChunkCapacity { get; set; }

    [JsonPropertyName("indexed_up_to")]
    public int IndexedUpTo { get; set; }

    [JsonPropertyName("graph")]
    public string? Graph { get; set; }

    [JsonPropertyName("chunks")]
    public List<ChunkManifest> Chunks { get; set; } = [];
}

internal sealed class ChunkManifest
{
    [JsonPropertyName("file")]
    public string File { get; set; } = "";

    [JsonPropertyName("vectors")]
    public int Vectors { get; set; }

    [JsonPropertyName("crc")]
    public uint Crc { get; set; }
}

[JsonSerializable(typeof(CheckpointManifest))]
[JsonSourceGenerationOptions(WriteIndented = true)]
internal sealed partial class ManifestJson : JsonSerializerContext;
