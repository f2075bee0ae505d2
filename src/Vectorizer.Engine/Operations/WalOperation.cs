using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Payload;
using Vectorizer.Engine.Points;
using Vectorizer.Engine.Sparse;
using Vectorizer.Engine.Storage;

namespace Vectorizer.Engine.Operations;

/// <summary>
/// Operation kinds as stored in the WAL. Values are persisted: never renumber, only add.
/// </summary>
public enum WalOperationKind : byte
{
    Upsert = 1,
    Delete = 2,
    SetPayload = 3,
    OverwritePayload = 4,
    DeletePayload = 5,
    ClearPayload = 6,
    UpdateVectors = 7,
    DeleteVectors = 8,

    /// <summary>A named vector was added to the collection (WAL format 2): <c>VectorNames[0]</c> with <c>DenseParams</c> or <c>SparseParams</c>.</summary>
    CreateVector = 9,

    /// <summary>A named vector was removed from the collection, with every point's value of it (WAL format 2): <c>VectorNames[0]</c>.</summary>
    DeleteVector = 10,
}

/// <summary>
/// An operation after its filters were resolved to ids under the collection's write lock: replaying it gives
/// the same result however the state was reached. This is what the WAL stores.
/// </summary>
public sealed record WalOperation(
    WalOperationKind Kind,
    IReadOnlyList<PointId> Ids,
    IReadOnlyList<IReadOnlyDictionary<string, float[]>>? Vectors = null,
    IReadOnlyList<PointPayload?>? Payloads = null,
    PointPayload? Payload = null,
    JsonPath? Key = null,
    IReadOnlyList<JsonPath>? Keys = null,
    IReadOnlyList<string>? VectorNames = null,
    IReadOnlyList<IReadOnlyDictionary<string, SparseVector>?>? Sparse = null,
    Collections.VectorParams? DenseParams = null,
    Collections.SparseVectorParams? SparseParams = null)
{
    /// <summary>A <see cref="WalOperationKind.CreateVector"/> record: <paramref name="name"/>, dense or sparse.</summary>
    public static WalOperation CreateVector(string name, Collections.VectorParams? dense, Collections.SparseVectorParams? sparse) =>
        (dense is null) == (sparse is null)
            ? throw new ArgumentException("A new vector is either dense or sparse")
            : new WalOperation(WalOperationKind.CreateVector, [], VectorNames: [name], DenseParams: dense, SparseParams: sparse);

    /// <summary>A <see cref="WalOperationKind.DeleteVector"/> record.</summary>
    public static WalOperation DeleteVector(string name) =>
        new(WalOperationKind.DeleteVector, [], VectorNames: [name]);

    /// <summary>The vector a <see cref="WalOperationKind.CreateVector"/> or <see cref="WalOperationKind.DeleteVector"/> record names.</summary>
    public string? ChangedVector => Kind is WalOperationKind.CreateVector or WalOperationKind.DeleteVector && VectorNames is [var name, ..] ? name : null;

    /// <summary>Marks the optional trailing section of upserts and vector updates that carries sparse vectors.</summary>
    private const byte SparseSection = 1;

    /// <summary>The name a <see cref="WalOperationKind.CreateVector"/> record's settings are stored under.</summary>
    private const string HolderName = "vector";

    public byte[] Encode()
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        Encode(buffer);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Appends the binary form to <paramref name="buffer"/> (reused by the collection: no garbage per write).</summary>
    public void Encode(ArrayBufferWriter<byte> buffer)
    {
        var w = new Writer(buffer);
        w.Int(Ids.Count);
        foreach (var id in Ids)
        {
            w.Id(id);
        }

        switch (Kind)
        {
            case WalOperationKind.Upsert:
            case WalOperationKind.UpdateVectors:
                for (var i = 0; i < Ids.Count; i++)
                {
                    w.VectorMap(Vectors![i]);
                    if (Kind == WalOperationKind.Upsert)
                    {
                        w.Payload(Payloads![i]);
                    }
                }

                if (Sparse is not null)
                {
                    w.Byte(SparseSection);
                    for (var i = 0; i < Ids.Count; i++)
                    {
                        w.SparseMap(Sparse[i]);
                    }
                }

                break;
            case WalOperationKind.SetPayload:
                w.Payload(Payload);
                w.String(Key?.Text);
                break;
            case WalOperationKind.OverwritePayload:
                w.Payload(Payload);
                break;
            case WalOperationKind.DeletePayload:
                w.Int(Keys!.Count);
                foreach (var key in Keys)
                {
                    w.String(key.Text);
                }

                break;
            case WalOperationKind.DeleteVectors:
                w.Int(VectorNames!.Count);
                foreach (var name in VectorNames)
                {
                    w.String(name);
                }

                break;
            case WalOperationKind.CreateVector:
                // The vector's settings as collection.json writes them (a config holding only this vector, under a
                // fixed name: the real one is beside it): one versioned layout for vector settings, one reader.
                w.String(VectorNames![0]);
                var holder = new Collections.CollectionConfig
                {
                    Vectors = DenseParams is null
                        ? new Dictionary<string, Collections.VectorParams>(StringComparer.Ordinal)
                        : new Dictionary<string, Collections.VectorParams>(StringComparer.Ordinal) { [HolderName] = DenseParams },
                    NamedVectors = true,
                    SparseVectors = SparseParams is null
                        ? new Dictionary<string, Collections.SparseVectorParams>(StringComparer.Ordinal)
                        : new Dictionary<string, Collections.SparseVectorParams>(StringComparer.Ordinal) { [HolderName] = SparseParams },
                };
                w.Bytes(Collections.CollectionConfigFile.ToUtf8(holder));
                break;
            case WalOperationKind.DeleteVector:
                w.String(VectorNames![0]);
                break;
        }
    }

    /// <summary>
    /// Decodes a record body. Bytes that do not form a valid operation of <paramref name="kind"/> (unknown kind,
    /// truncated or trailing bytes, impossible counts, bad UTF-8 or JSON, unsorted sparse indices, non-finite values)
    /// throw <see cref="CorruptDataException"/>, and nothing else: any other exception from here is a bug.
    /// </summary>
    public static WalOperation Decode(byte kind, ReadOnlySpan<byte> body)
    {
        if (!Enum.IsDefined((WalOperationKind)kind))
        {
            throw new CorruptDataException($"Unknown WAL operation kind {kind}");
        }

        try
        {
            var r = new Reader(body);
            var operation = DecodeBody((WalOperationKind)kind, ref r);
            if (r.Remaining != 0)
            {
                throw new CorruptDataException($"WAL {(WalOperationKind)kind} operation has {r.Remaining} bytes after its end");
            }

            return operation;
        }
        catch (Exception e) when (e is JsonException or DecoderFallbackException or VectorizerException)
        {
            // Bad JSON, bad UTF-8, an invalid payload key: what the encoder wrote always parses.
            throw new CorruptDataException($"WAL {(WalOperationKind)kind} operation does not decode: {e.Message}", e);
        }
    }

    private static WalOperation DecodeBody(WalOperationKind kind, ref Reader r)
    {
        var count = r.Count(17);
        var ids = new PointId[count];
        for (var i = 0; i < count; i++)
        {
            ids[i] = r.Id();
        }

        var op = new WalOperation(kind, ids);
        switch (op.Kind)
        {
            case WalOperationKind.Upsert:
            case WalOperationKind.UpdateVectors:
                var vectors = new IReadOnlyDictionary<string, float[]>[count];
                var payloads = op.Kind == WalOperationKind.Upsert ? new PointPayload?[count] : null;
                for (var i = 0; i < count; i++)
                {
                    vectors[i] = r.VectorMap();
                    if (payloads is not null)
                    {
                        payloads[i] = r.Payload();
                    }
                }

                IReadOnlyDictionary<string, SparseVector>?[]? sparse = null;
                if (r.Remaining > 0)
                {
                    if (r.Byte() != SparseSection)
                    {
                        throw new CorruptDataException("WAL operation has an unknown trailing section");
                    }

                    sparse = new IReadOnlyDictionary<string, SparseVector>?[count];
                    for (var i = 0; i < count; i++)
                    {
                        sparse[i] = r.SparseMap();
                    }
                }

                return op with { Vectors = vectors, Payloads = payloads, Sparse = sparse };
            case WalOperationKind.SetPayload:
                var payload = r.Payload();
                var key = r.String();
                return op with { Payload = payload ?? throw new CorruptDataException("WAL set_payload without a payload"), Key = key is null ? null : JsonPath.Parse(key) };
            case WalOperationKind.OverwritePayload:
                return op with { Payload = r.Payload() ?? throw new CorruptDataException("WAL overwrite_payload without a payload") };
            case WalOperationKind.DeletePayload:
                var keys = new JsonPath[r.Count(4)];
                for (var i = 0; i < keys.Length; i++)
                {
                    keys[i] = JsonPath.Parse(r.RequiredString());
                }

                return op with { Keys = keys };
            case WalOperationKind.DeleteVectors:
                var names = new string[r.Count(4)];
                for (var i = 0; i < names.Length; i++)
                {
                    names[i] = r.RequiredString();
                }

                return op with { VectorNames = names };
            case WalOperationKind.CreateVector:
            case WalOperationKind.DeleteVector:
                if (count != 0)
                {
                    throw new CorruptDataException($"WAL {kind} operation names {count} points");
                }

                var vector = r.RequiredString();
                if (kind == WalOperationKind.DeleteVector)
                {
                    return op with { VectorNames = [vector] };
                }

                var (dense, sparseParams) = VectorSettings(vector, r.Bytes());
                return op with { VectorNames = [vector], DenseParams = dense, SparseParams = sparseParams };
            default:
                return op;
        }
    }

    /// <summary>Reads the settings of <paramref name="name"/> from a config holding only that vector.</summary>
    private static (Collections.VectorParams? Dense, Collections.SparseVectorParams? Sparse) VectorSettings(string name, ReadOnlySpan<byte> json)
    {
        Collections.CollectionConfig holder;
        try
        {
            holder = Collections.CollectionConfigFile.FromUtf8(json);
        }
        catch (Exception e) when (e is not OutOfMemoryException and not CorruptDataException)
        {
            throw new CorruptDataException($"WAL create_vector settings do not decode: {e.Message}", e);
        }

        var dense = holder.Vectors.GetValueOrDefault(HolderName);
        var sparse = holder.SparseVectors.GetValueOrDefault(HolderName);
        return holder.Vectors.Count + holder.SparseVectors.Count == 1 && (dense is null) != (sparse is null)
            ? (dense, sparse)
            : throw new CorruptDataException($"WAL create_vector settings of `{name}` do not hold exactly one vector");
    }

    private readonly ref struct Writer(ArrayBufferWriter<byte> buffer)
    {
        public void Bytes(ReadOnlySpan<byte> bytes)
        {
            Int(bytes.Length);
            buffer.Write(bytes);
        }

        public void Int(int value)
        {
            BinaryPrimitives.WriteInt32LittleEndian(buffer.GetSpan(4), value);
            buffer.Advance(4);
        }

        public void Id(PointId id)
        {
            var span = buffer.GetSpan(17);
            span[0] = id.IsUuid ? (byte)1 : (byte)0;
            BinaryPrimitives.WriteUInt64LittleEndian(span[1..], id.IsUuid ? id.UuidHigh : 0);
            BinaryPrimitives.WriteUInt64LittleEndian(span[9..], id.IsUuid ? id.UuidLow : id.Number);
            buffer.Advance(17);
        }

        public void String(string? value)
        {
            if (value is null)
            {
                Int(-1);
                return;
            }

            var bytes = Encoding.UTF8.GetBytes(value);
            Int(bytes.Length);
            buffer.Write(bytes);
        }

        public void Payload(PointPayload? payload)
        {
            if (payload is null)
            {
                Int(-1);
                return;
            }

            // Length prefix patched after the JSON is written straight into the buffer.
            var start = buffer.WrittenCount;
            Int(0);
            payload.WriteTo(buffer);
            var length = buffer.WrittenCount - start - 4;
            BinaryPrimitives.WriteInt32LittleEndian(System.Runtime.InteropServices.MemoryMarshal.AsMemory(buffer.WrittenMemory).Span.Slice(start, 4), length);
        }

        public void Byte(byte value)
        {
            buffer.GetSpan(1)[0] = value;
            buffer.Advance(1);
        }

        public void SparseMap(IReadOnlyDictionary<string, SparseVector>? vectors)
        {
            if (vectors is null)
            {
                Int(-1);
                return;
            }

            Int(vectors.Count);
            foreach (var (name, vector) in vectors)
            {
                String(name);
                Int(vector.Count);
                buffer.Write(MemoryMarshal.AsBytes(vector.Indices.AsSpan()));
                buffer.Write(MemoryMarshal.AsBytes(vector.Values.AsSpan()));
            }
        }

        public void VectorMap(IReadOnlyDictionary<string, float[]> vectors)
        {
            Int(vectors.Count);
            foreach (var (name, vector) in vectors)
            {
                String(name);
                Int(vector.Length);
                buffer.Write(MemoryMarshal.AsBytes(vector.AsSpan()));
            }
        }
    }

    private ref struct Reader(ReadOnlySpan<byte> data)
    {
        private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

        private ReadOnlySpan<byte> data = data;

        private ReadOnlySpan<byte> Take(int length)
        {
            if (length < 0 || length > data.Length)
            {
                throw new CorruptDataException("Truncated WAL operation");
            }

            var slice = data[..length];
            data = data[length..];
            return slice;
        }

        public readonly int Remaining => data.Length;

        public int Int() => BinaryPrimitives.ReadInt32LittleEndian(Take(4));

        public byte Byte() => Take(1)[0];

        public ReadOnlySpan<byte> Bytes() => Take(Length(1));

        /// <summary>A count of items of at least <paramref name="minItemBytes"/> bytes each: never more than the bytes left allow.</summary>
        public int Count(int minItemBytes)
        {
            var count = Int();
            if (count < 0 || count > Remaining / minItemBytes)
            {
                throw new CorruptDataException($"WAL operation claims {count} items in {Remaining} bytes");
            }

            return count;
        }

        private int Length(int elementBytes)
        {
            var length = Int();
            if (length < 0 || length > Remaining / elementBytes)
            {
                throw new CorruptDataException($"WAL operation claims {length} elements in {Remaining} bytes");
            }

            return length;
        }

        private float[] Floats(int length)
        {
            var values = MemoryMarshal.Cast<byte, float>(Take(length * 4)).ToArray();
            foreach (var value in values)
            {
                if (!float.IsFinite(value))
                {
                    throw new CorruptDataException("WAL operation holds a NaN or infinite value");
                }
            }

            return values;
        }

        public IReadOnlyDictionary<string, SparseVector>? SparseMap()
        {
            var count = Int();
            if (count == -1)
            {
                return null;
            }

            if (count < 0 || count > Remaining / 8)
            {
                throw new CorruptDataException($"WAL operation claims {count} sparse vectors in {Remaining} bytes");
            }

            var map = new Dictionary<string, SparseVector>(count, StringComparer.Ordinal);
            for (var i = 0; i < count; i++)
            {
                var name = RequiredString();
                var length = Length(8);
                var indices = MemoryMarshal.Cast<byte, uint>(Take(length * 4)).ToArray();
                for (var j = 1; j < indices.Length; j++)
                {
                    if (indices[j] <= indices[j - 1])
                    {
                        throw new CorruptDataException("WAL sparse vector indices are not strictly increasing");
                    }
                }

                if (!map.TryAdd(name, SparseVector.FromSorted(indices, Floats(length))))
                {
                    throw new CorruptDataException($"WAL operation names sparse vector `{name}` twice");
                }
            }

            return map;
        }

        public PointId Id()
        {
            var span = Take(17);
            var high = BinaryPrimitives.ReadUInt64LittleEndian(span[1..]);
            var low = BinaryPrimitives.ReadUInt64LittleEndian(span[9..]);
            return span[0] switch
            {
                0 when high == 0 => PointId.FromNumber(low),
                1 => PointId.FromUuidParts(high, low),
                _ => throw new CorruptDataException($"WAL point id has kind {span[0]}"),
            };
        }

        public string? String()
        {
            var length = Int();
            return length == -1 ? null : StrictUtf8.GetString(Take(length));
        }

        public string RequiredString() => String() ?? throw new CorruptDataException("WAL operation has a null name");

        public PointPayload? Payload()
        {
            var length = Int();
            if (length == -1)
            {
                return null;
            }

            var bytes = Take(length);
            var reader = new Utf8JsonReader(bytes);
            using var document = JsonDocument.ParseValue(ref reader);
            if (reader.BytesConsumed != bytes.Length)
            {
                throw new CorruptDataException("WAL payload has bytes after its JSON");
            }

            return PointPayload.FromElement(document.RootElement);
        }

        public IReadOnlyDictionary<string, float[]> VectorMap()
        {
            var count = Count(8);
            if (count == 1)
            {
                var name = RequiredString();
                return Operations.VectorMap.Single(name, Floats(Length(4)));
            }

            var map = new Dictionary<string, float[]>(count, StringComparer.Ordinal);
            for (var i = 0; i < count; i++)
            {
                var name = RequiredString();
                if (!map.TryAdd(name, Floats(Length(4))))
                {
                    throw new CorruptDataException($"WAL operation names vector `{name}` twice");
                }
            }

            return map;
        }
    }
}
