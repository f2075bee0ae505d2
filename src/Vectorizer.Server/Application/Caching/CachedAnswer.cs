using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Extensions.Caching.Hybrid;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Payload;
using Vectorizer.Engine.Points;
using Vectorizer.Engine.Sparse;
using Vectorizer.Ingestion.Expansion;

namespace Vectorizer.Server.Application.Caching;

/// <summary>
/// A cached read answer: scored points, and for a text search its query expansion. Not marked immutable on purpose:
/// HybridCache then keeps it serialized (<see cref="CachedAnswerSerializer"/>), so the memory level knows each entry's
/// size in bytes (its size bound is in bytes) and every hit gets its own copy of the vectors.
/// </summary>
public sealed class CachedAnswer
{
    public required IReadOnlyList<ScoredPoint> Points { get; init; }

    public QueryExpansion? Expansion { get; init; }
}

/// <summary>
/// A compact binary form for the cache: <c>[u8 format][u32 count]</c> then per point id, version, score, order value,
/// payload (UTF-8 JSON), dense and sparse vectors; then the expansion. Never persisted by us (a Redis second level holds
/// it for the TTL), and the format byte lets a reader drop entries of another format.
/// </summary>
public sealed class CachedAnswerSerializer : IHybridCacheSerializer<CachedAnswer>
{
    private const byte Format = 1;

    public CachedAnswer Deserialize(ReadOnlySequence<byte> source)
    {
        var reader = new Reader(source.IsSingleSegment ? source.First : source.ToArray());
        if (reader.Byte() != Format)
        {
            throw new InvalidDataException("a cached answer of another format");
        }

        var count = reader.Int();
        var points = new List<ScoredPoint>(count);
        for (var i = 0; i < count; i++)
        {
            var id = reader.Byte() == 1 ? PointId.FromUuidParts(reader.ULong(), reader.ULong()) : PointId.FromNumber(reader.ULong());
            var version = reader.ULong();
            var score = reader.Float();
            double? orderValue = reader.Byte() == 1 ? reader.Double() : null;
            var payload = reader.Byte() == 1 ? PointPayload.FromUtf8(reader.Bytes()) : null;
            Dictionary<string, float[]>? vectors = null;
            if (reader.Byte() == 1)
            {
                var n = reader.Int();
                vectors = new Dictionary<string, float[]>(n, StringComparer.Ordinal);
                for (var v = 0; v < n; v++)
                {
                    vectors[reader.String()] = MemoryMarshal.Cast<byte, float>(reader.Bytes()).ToArray();
                }
            }

            Dictionary<string, SparseVector>? sparse = null;
            if (reader.Byte() == 1)
            {
                var n = reader.Int();
                sparse = new Dictionary<string, SparseVector>(n, StringComparer.Ordinal);
                for (var v = 0; v < n; v++)
                {
                    var name = reader.String();
                    var indices = MemoryMarshal.Cast<byte, uint>(reader.Bytes()).ToArray();
                    sparse[name] = SparseVector.Create(indices, MemoryMarshal.Cast<byte, float>(reader.Bytes()).ToArray(), name);
                }
            }

            points.Add(new ScoredPoint(id, version, score, payload, vectors, sparse, orderValue));
        }

        QueryExpansion? expansion = null;
        if (reader.Byte() == 1)
        {
            expansion = new QueryExpansion((QueryExpansionStatus)reader.Byte(), reader.Byte() == 1 ? reader.String() : null, reader.Byte() == 1 ? reader.String() : null);
        }

        return new CachedAnswer { Points = points, Expansion = expansion };
    }

    public void Serialize(CachedAnswer value, IBufferWriter<byte> target)
    {
        var writer = new Writer(target);
        writer.Byte(Format);
        writer.Int(value.Points.Count);
        foreach (var point in value.Points)
        {
            writer.Byte(point.Id.IsUuid ? (byte)1 : (byte)0);
            if (point.Id.IsUuid)
            {
                writer.ULong(point.Id.UuidHigh);
                writer.ULong(point.Id.UuidLow);
            }
            else
            {
                writer.ULong(point.Id.Number);
            }

            writer.ULong(point.Version);
            writer.Float(point.Score);
            writer.Byte(point.OrderValue is null ? (byte)0 : (byte)1);
            if (point.OrderValue is { } order)
            {
                writer.Double(order);
            }

            writer.Byte(point.Payload is null ? (byte)0 : (byte)1);
            if (point.Payload is { } payload)
            {
                writer.Bytes(payload.ToUtf8());
            }

            writer.Byte(point.Vectors is null ? (byte)0 : (byte)1);
            if (point.Vectors is { } vectors)
            {
                writer.Int(vectors.Count);
                foreach (var (name, vector) in vectors)
                {
                    writer.String(name);
                    writer.Bytes(MemoryMarshal.AsBytes(vector.AsSpan()));
                }
            }

            writer.Byte(point.Sparse is null ? (byte)0 : (byte)1);
            if (point.Sparse is { } sparse)
            {
                writer.Int(sparse.Count);
                foreach (var (name, vector) in sparse)
                {
                    writer.String(name);
                    writer.Bytes(MemoryMarshal.AsBytes(vector.Indices.AsSpan()));
                    writer.Bytes(MemoryMarshal.AsBytes(vector.Values.AsSpan()));
                }
            }
        }

        writer.Byte(value.Expansion is null ? (byte)0 : (byte)1);
        if (value.Expansion is { } expansion)
        {
            writer.Byte((byte)expansion.Status);
            writer.Byte(expansion.Text is null ? (byte)0 : (byte)1);
            if (expansion.Text is { } text)
            {
                writer.String(text);
            }

            writer.Byte(expansion.Message is null ? (byte)0 : (byte)1);
            if (expansion.Message is { } message)
            {
                writer.String(message);
            }
        }
    }

    private readonly struct Writer(IBufferWriter<byte> target)
    {
        public void Byte(byte value)
        {
            target.GetSpan(1)[0] = value;
            target.Advance(1);
        }

        public void Int(int value)
        {
            BinaryPrimitives.WriteInt32LittleEndian(target.GetSpan(4), value);
            target.Advance(4);
        }

        public void ULong(ulong value)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(target.GetSpan(8), value);
            target.Advance(8);
        }

        public void Float(float value)
        {
            BinaryPrimitives.WriteSingleLittleEndian(target.GetSpan(4), value);
            target.Advance(4);
        }

        public void Double(double value)
        {
            BinaryPrimitives.WriteDoubleLittleEndian(target.GetSpan(8), value);
            target.Advance(8);
        }

        public void Bytes(ReadOnlySpan<byte> bytes)
        {
            Int(bytes.Length);
            bytes.CopyTo(target.GetSpan(bytes.Length));
            target.Advance(bytes.Length);
        }

        public void String(string value) => Bytes(Encoding.UTF8.GetBytes(value));
    }

    private ref struct Reader(ReadOnlyMemory<byte> memory)
    {
        private readonly ReadOnlySpan<byte> data = memory.Span;
        private int position;

        public byte Byte() => data[position++];

        public int Int() => BinaryPrimitives.ReadInt32LittleEndian(Take(4));

        public ulong ULong() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8));

        public float Float() => BinaryPrimitives.ReadSingleLittleEndian(Take(4));

        public double Double() => BinaryPrimitives.ReadDoubleLittleEndian(Take(8));

        public ReadOnlySpan<byte> Bytes() => Take(Int());

        public string String() => Encoding.UTF8.GetString(Bytes());

        private ReadOnlySpan<byte> Take(int count)
        {
            var slice = data.Slice(position, count);
            position += count;
            return slice;
        }
    }
}
