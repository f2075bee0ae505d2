using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Vectorizer.Engine.Payload;
using Vectorizer.Engine.Points;
using Vectorizer.Engine.Sparse;
using Vectorizer.Engine.Storage;

namespace Vectorizer.Engine.Collections.Checkpoints;

/// <summary>
/// The byte layout of a checkpoint's files (no file I/O here: <see cref="CheckpointStore"/> reads and writes them).
/// <code>
/// manifest.json   CheckpointManifest as indented JSON, then "\n#crc32c=xxxxxxxx\n" over the JSON
/// points.bin      "VZPOINT1", i32 format (1), i64 lsn, i32 count, i32 slots,
///                 per slot: string name, words (searchable); words (deleted);
///                 per offset: u8 uuid?, u64 high, u64 low (or number), u64 version, i32 payload length (-1: none), UTF-8 JSON
/// sparse.bin      i32 slots; per slot: string name, i32 vectors; per vector: i32 offset, i32 n, u32[n] indices, f32[n] values
/// </code>
/// Strings are BinaryWriter strings (7-bit length, UTF-8), words an i32 count then u64s, all little-endian;
/// points.bin, sparse.bin and graphs carry a CRC trailer (<see cref="ChecksummedFile"/>).
/// </summary>
internal static class CheckpointFormat
{
    /// <summary>The <c>format</c> of <c>manifest.json</c> this code writes and reads.</summary>
    public const int ManifestFormat = OnDiskFormat.CheckpointManifest;

    /// <summary>The format number after <see cref="PointsMagic"/> in <c>points.bin</c>.</summary>
    public const int PointsFormat = OnDiskFormat.CheckpointPoints;

    public static ReadOnlySpan<byte> PointsMagic => "VZPOINT1"u8;

    public static void WritePoints(Stream stream, CheckpointSnapshot snapshot)
    {
        var (lsn, ids, versions, payloads, deleted, slots) = (snapshot.Lsn, snapshot.Ids, snapshot.Versions, snapshot.Payloads, snapshot.Deleted, snapshot.Slots);
        var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        writer.Write(PointsMagic);
        writer.Write(PointsFormat);
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

    /// <summary>
    /// Reads <c>points.bin</c> into <paramref name="target"/>. Bytes that are not what <see cref="WritePoints"/> writes
    /// throw <see cref="CorruptDataException"/> and nothing else (the caller falls back to an older checkpoint only on
    /// that): wrong magic or counts, bitmaps longer than the points, a live id twice, bad JSON, a short file. Searchable
    /// bitmaps of vectors outside <paramref name="usable"/> (removed or re-created since the checkpoint) are read and skipped;
    /// without <paramref name="usable"/>, every vector must be one of <paramref name="target"/>'s.
    /// </summary>
    public static void ReadPoints(ReadOnlySpan<byte> data, CollectionState target, int expectedCount, IReadOnlySet<string>? usable = null)
    {
        var reader = new SpanReader(data);
        if (!reader.Take(8).SequenceEqual(PointsMagic))
        {
            throw new CorruptDataException("points.bin: not a points file");
        }

        var format = reader.Int32();
        if (format != PointsFormat)
        {
            throw format > PointsFormat
                ? new UnsupportedFormatException($"points.bin has format {format}; this Vectorizer reads format {PointsFormat}")
                : new CorruptDataException($"points.bin: format {format}");
        }

        reader.Int64();
        var count = reader.Int32();
        if (count != expectedCount)
        {
            throw new CorruptDataException("points.bin: count does not match the manifest");
        }

        var slotCount = reader.Int32();
        if (slotCount < 0 || slotCount > reader.Remaining / 4)
        {
            throw new CorruptDataException($"points.bin: {slotCount} vectors");
        }

        for (var i = 0; i < slotCount; i++)
        {
            var name = reader.String();
            var words = reader.Words(count);
            if (usable is null || usable.Contains(name))
            {
                var slot = target.Slot(name) ?? throw new CorruptDataException($"points.bin: unknown vector `{name}`");
                slot.Searchable = Bitmap.FromWords(words);
            }
        }

        var deleted = Bitmap.FromWords(reader.Words(count));
        for (var offset = 0; offset < count; offset++)
        {
            var kind = reader.Take(1)[0];
            var high = reader.UInt64();
            var low = reader.UInt64();
            var version = reader.UInt64();
            var length = reader.Int32();
            var payload = length == -1 ? null : reader.Payload(length);
            var id = kind switch
            {
                0 when high == 0 => PointId.FromNumber(low),
                1 => PointId.FromUuidParts(high, low),
                _ => throw new CorruptDataException($"points.bin: offset {offset} has id kind {kind}"),
            };
            var isDeleted = deleted.Get(offset);
            if (!isDeleted && target.TryGetOffset(id, out _))
            {
                throw new CorruptDataException($"points.bin: point {id} is live twice");
            }

            target.RestoreOffset(id, version, payload, isDeleted);
        }

        if (reader.Remaining != 0)
        {
            throw new CorruptDataException($"points.bin: {reader.Remaining} bytes after the last point");
        }
    }

    public static void WriteSparse(Stream stream, List<SparseSnapshot> slots)
    {
        using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
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

    /// <summary>Reads <c>sparse.bin</c>; bytes that are not what <see cref="WriteSparse"/> writes throw <see cref="CorruptDataException"/>.</summary>
    public static void ReadSparse(ReadOnlySpan<byte> data, CollectionState target, int count)
    {
        var reader = new SpanReader(data);
        var slots = reader.Int32();
        if (slots < 0 || slots > reader.Remaining / 8)
        {
            throw new CorruptDataException($"sparse.bin: {slots} sparse vectors");
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var s = 0; s < slots; s++)
        {
            var name = reader.String();
            // A sparse vector removed since the checkpoint is read and dropped.
            var slot = target.SparseSlot(name);
            if (!seen.Add(name))
            {
                throw new CorruptDataException($"sparse.bin: sparse vector `{name}` twice");
            }

            var vectors = reader.Int32();
            if (vectors < 0 || vectors > count)
            {
                throw new CorruptDataException($"sparse.bin: {vectors} vectors for {count} points");
            }

            var previous = -1;
            for (var v = 0; v < vectors; v++)
            {
                var offset = reader.Int32();
                var length = reader.Int32();
                if (offset <= previous || offset >= count || length < 0 || length > reader.Remaining / 8)
                {
                    throw new CorruptDataException("sparse.bin: bad entry");
                }

                previous = offset;
                var indices = MemoryMarshal.Cast<byte, uint>(reader.Take(length * 4)).ToArray();
                var values = MemoryMarshal.Cast<byte, float>(reader.Take(length * 4)).ToArray();
                for (var i = 0; i < length; i++)
                {
                    if ((i > 0 && indices[i] <= indices[i - 1]) || !float.IsFinite(values[i]))
                    {
                        throw new CorruptDataException("sparse.bin: indices not increasing or a non-finite value");
                    }
                }

                slot?.Set(offset, SparseVector.FromSorted(indices, values));
            }
        }

        if (reader.Remaining != 0)
        {
            throw new CorruptDataException($"sparse.bin: {reader.Remaining} bytes after the last vector");
        }
    }

    /// <summary>The manifest's JSON with its checksum line.</summary>
    public static byte[] EncodeManifest(CheckpointManifest manifest)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(manifest, ManifestJson.Default.CheckpointManifest);
        var trailer = Encoding.ASCII.GetBytes($"\n#crc32c={Crc32C.Compute(body):x8}\n");
        return [.. body, .. trailer];
    }

    /// <summary>
    /// Verifies the checksum line and parses the manifest; <paramref name="path"/> only names it in errors. Anything but
    /// a manifest as <see cref="EncodeManifest"/> writes it throws <see cref="CorruptDataException"/>.
    /// </summary>
    public static CheckpointManifest DecodeManifest(byte[] bytes, string path)
    {
        var marker = "\n#crc32c="u8;
        var at = bytes.AsSpan().LastIndexOf(marker);
        if (at < 0 || bytes.Length - at - marker.Length < 8)
        {
            throw new CorruptDataException($"{path}: no checksum line");
        }

        var hex = Encoding.ASCII.GetString(bytes, at + marker.Length, 8);
        var body = bytes.AsSpan(0, at);
        if (!uint.TryParse(hex, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var expected) || Crc32C.Compute(body) != expected)
        {
            throw new CorruptDataException($"{path}: checksum mismatch");
        }

        CheckpointManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize(body, ManifestJson.Default.CheckpointManifest);
        }
        catch (JsonException e)
        {
            throw new CorruptDataException($"{path}: {e.Message}", e);
        }

        if (manifest?.Slots is not { } slots || slots.Exists(s => s is null || s.Name is null || s.Chunks is null || s.Chunks.Exists(c => c is null || c.File is null)))
        {
            throw new CorruptDataException($"{path}: incomplete manifest");
        }

        return manifest;
    }

    private ref struct SpanReader(ReadOnlySpan<byte> data)
    {
        private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

        private ReadOnlySpan<byte> data = data;

        public readonly int Remaining => data.Length;

        public ReadOnlySpan<byte> Take(int length)
        {
            if (length < 0 || length > data.Length)
            {
                throw new CorruptDataException("unexpected end of file");
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
                if (shift > 28)
                {
                    throw new CorruptDataException("string length too long");
                }

                b = Take(1)[0];
                length |= (b & 0x7F) << shift;
                shift += 7;
            }
            while ((b & 0x80) != 0);
            try
            {
                return StrictUtf8.GetString(Take(length));
            }
            catch (DecoderFallbackException e)
            {
                throw new CorruptDataException("a name is not UTF-8", e);
            }
        }

        /// <summary>A bitmap's words: at most enough for <paramref name="bits"/> bits, none set at or above it.</summary>
        public ulong[] Words(int bits)
        {
            var count = Int32();
            if (count < 0 || count > ((long)bits + 63) / 64 || count > Remaining / 8)
            {
                throw new CorruptDataException($"a bitmap of {count} words for {bits} points");
            }

            var words = new ulong[count];
            for (var i = 0; i < count; i++)
            {
                words[i] = UInt64();
            }

            if (count > 0 && bits % 64 != 0 && words[^1] >> (bits % 64) != 0)
            {
                throw new CorruptDataException("a bitmap has bits past the last point");
            }

            return words;
        }

        /// <summary>A payload: one JSON object and nothing after it.</summary>
        public PointPayload Payload(int length)
        {
            var bytes = Take(length);
            try
            {
                var reader = new Utf8JsonReader(bytes);
                using var document = JsonDocument.ParseValue(ref reader);
                if (reader.BytesConsumed != bytes.Length)
                {
                    throw new CorruptDataException("a payload has bytes after its JSON");
                }

                return PointPayload.FromElement(document.RootElement);
            }
            catch (Exception e) when (e is JsonException or Errors.VectorizerException)
            {
                throw new CorruptDataException($"a payload does not parse: {e.Message}", e);
            }
        }
    }
}

/// <summary><c>manifest.json</c>: what a checkpoint holds and where (paths relative to the collection's root).</summary>
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
