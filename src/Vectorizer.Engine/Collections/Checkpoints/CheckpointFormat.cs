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
    public const int ManifestFormat = 1;

    /// <summary>The format number after <see cref="PointsMagic"/> in <c>points.bin</c>.</summary>
    public const int PointsFormat = 1;

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

    /// <summary>Reads points.bin into <paramref name="target"/>; searchable bitmaps of vectors outside <paramref name="usable"/> are skipped.</summary>
    public static void ReadPoints(ReadOnlySpan<byte> data, CollectionState target, int expectedCount, IReadOnlySet<string> usable)
    {
        var reader = new SpanReader(data);
        if (!reader.Take(8).SequenceEqual(PointsMagic) || reader.Int32() != PointsFormat)
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
            if (usable.Contains(name) && target.Slot(name) is { } slot)
            {
                slot.Searchable = Bitmap.FromWords(words);
            }
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

    public static void ReadSparse(ReadOnlySpan<byte> data, CollectionState target, int count)
    {
        var reader = new SpanReader(data);
        var slots = reader.Int32();
        for (var s = 0; s < slots; s++)
        {
            var name = reader.String();
            // A sparse vector removed since the checkpoint is read and dropped.
            var slot = target.SparseSlot(name);
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
                slot?.Set(offset, SparseVector.FromSorted(indices, values));
            }
        }
    }

    /// <summary>The manifest's JSON with its checksum line.</summary>
    public static byte[] EncodeManifest(CheckpointManifest manifest)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(manifest, ManifestJson.Default.CheckpointManifest);
        var trailer = Encoding.ASCII.GetBytes($"\n#crc32c={Crc32C.Compute(body):x8}\n");
        return [.. body, .. trailer];
    }

    /// <summary>Verifies the checksum line and parses the manifest; <paramref name="path"/> only names it in errors.</summary>
    public static CheckpointManifest DecodeManifest(byte[] bytes, string path)
    {
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
