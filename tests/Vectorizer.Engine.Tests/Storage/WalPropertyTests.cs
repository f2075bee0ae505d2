using System.Text;
using CsCheck;
using Microsoft.Extensions.Logging.Abstractions;
using Vectorizer.Engine.Operations;
using Vectorizer.Engine.Payload;
using Vectorizer.Engine.Points;
using Vectorizer.Engine.Sparse;
using Vectorizer.Engine.Storage;

namespace Vectorizer.Engine.Tests;

/// <summary>
/// Property-based tests (CsCheck) of WAL decoding: random operations round-trip; random and mutated bytes decode to
/// a valid operation or throw <see cref="CorruptDataException"/>, never another exception; a damaged log replays an
/// identical prefix of what was written (a clean cut) or refuses with a typed error and changes nothing.
/// </summary>
public class WalPropertyTests
{
    private static readonly Gen<PointId> GenId = Gen.OneOf(
        Gen.ULong[0, 1_000_000].Select(PointId.FromNumber),
        Gen.Guid.Select(PointId.FromUuid));

    private static readonly Gen<string> GenName = Gen.OneOf(Gen.Const(""), Gen.Const("text"), Gen.Const("bm25"), Gen.String[Gen.Char['a', 'z'], 1, 6], Gen.Const("Grüße"));

    private static readonly Gen<float[]> GenVector = Gen.Float[-100f, 100f].Array[1, 6];

    private static readonly Gen<IReadOnlyDictionary<string, float[]>> GenVectors =
        Gen.Select(GenName, GenVector).Array[0, 3].Select(IReadOnlyDictionary<string, float[]> (pairs) =>
        {
            var map = new Dictionary<string, float[]>(StringComparer.Ordinal);
            foreach (var (name, vector) in pairs)
            {
                map[name] = vector;
            }

            return map.Count == 1 ? VectorMap.Single(map.Keys.First(), map.Values.First()) : map;
        });

    private static readonly Gen<SparseVector> GenSparse =
        Gen.UInt[0, 50_000].Array[0, 6].SelectMany(indices => Gen.Float[0f, 5f].Array[indices.Distinct().Count()].Select(values => SparseVector.Create([.. indices.Distinct()], values)));

    private static readonly Gen<IReadOnlyDictionary<string, SparseVector>?> GenSparseMap = Gen.OneOf(
        Gen.Const((IReadOnlyDictionary<string, SparseVector>?)null),
        Gen.Select(GenName, GenSparse).Array[0, 2].Select(IReadOnlyDictionary<string, SparseVector>? (pairs) =>
        {
            var map = new Dictionary<string, SparseVector>(StringComparer.Ordinal);
            foreach (var (name, vector) in pairs)
            {
                map[name] = vector;
            }

            return map;
        }));

    private static readonly Gen<string> GenJsonValue = Gen.OneOf(
        Gen.Int.Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        Gen.Double[-1e6, 1e6].Select(d => d.ToString("R", System.Globalization.CultureInfo.InvariantCulture)),
        Gen.String[Gen.Char["abcé\"\\ \n世"], 0, 8].Select(s => System.Text.Json.JsonSerializer.Serialize(s)),
        Gen.OneOf(Gen.Const("true"), Gen.Const("false"), Gen.Const("null"), Gen.Const("[]"), Gen.Const("{\"x\":[1,{\"y\":2}]}")));

    private static readonly Gen<PointPayload?> GenPayload = Gen.OneOf(
        Gen.Const((PointPayload?)null),
        Gen.Select(Gen.String[Gen.Char['a', 'e'], 1, 3], GenJsonValue).Array[0, 4].Select(PointPayload? (fields) =>
        {
            var json = "{" + string.Join(",", fields.DistinctBy(f => f.Item1).Select(f => System.Text.Json.JsonSerializer.Serialize(f.Item1) + ":" + f.Item2)) + "}";
            return PointPayload.FromUtf8(Encoding.UTF8.GetBytes(json));
        }));

    private static readonly Gen<JsonPath> GenKey = Gen.OneOf(["a", "a.b", "list[].x", "n", "deep.er[0]", "\"odd key\".x"]).Select(JsonPath.Parse);

    private static Gen<WalOperation> GenOperation(WalOperationKind kind) => GenId.Array[0, 5].SelectMany(ids => kind switch
    {
        WalOperationKind.Upsert => Gen.Select(GenVectors.Array[ids.Length], GenPayload.Array[ids.Length], Gen.Bool, GenSparseMap.Array[ids.Length], (v, p, withSparse, s) =>
            new WalOperation(kind, ids, v, p, Sparse: withSparse ? s : null)),
        WalOperationKind.UpdateVectors => Gen.Select(GenVectors.Array[ids.Length], Gen.Bool, GenSparseMap.Array[ids.Length], (v, withSparse, s) =>
            new WalOperation(kind, ids, v, Sparse: withSparse ? s : null)),
        WalOperationKind.SetPayload => Gen.Select(GenPayload, Gen.Bool, GenKey, (p, keyed, key) =>
            new WalOperation(kind, ids, Payload: p ?? PointPayload.Empty, Key: keyed ? key : null)),
        WalOperationKind.OverwritePayload => GenPayload.Select(p => new WalOperation(kind, ids, Payload: p ?? PointPayload.Empty)),
        WalOperationKind.DeletePayload => GenKey.Array[0, 3].Select(keys => new WalOperation(kind, ids, Keys: keys)),
        WalOperationKind.DeleteVectors => GenName.Array[0, 3].Select(names => new WalOperation(kind, ids, VectorNames: names)),
        WalOperationKind.CreateVector => Gen.Select(GenName, Gen.Int[1, 65536], Gen.Int[1, 4], Gen.Bool, Gen.Bool, (name, size, distance, sparse, flag) => sparse
            ? WalOperation.CreateVector(name, null, new Collections.SparseVectorParams { Modifier = flag ? Collections.SparseVectorModifier.Idf : null })
            : WalOperation.CreateVector(name, new Collections.VectorParams { Size = size, Distance = (Vectors.Distance)distance, OnDisk = flag }, null)),
        WalOperationKind.DeleteVector => GenName.Select(WalOperation.DeleteVector),
        _ => Gen.Const(new WalOperation(kind, ids)),
    });

    private static readonly Gen<WalOperation> GenAnyOperation =
        Gen.OneOf([.. Enum.GetValues<WalOperationKind>().Select(GenOperation)]);

    /// <summary>Decodes, and when that succeeds checks the result is a fixed point of encode → decode.</summary>
    private static void DecodeOrCorrupt(byte kind, byte[] body)
    {
        WalOperation decoded;
        try
        {
            decoded = WalOperation.Decode(kind, body);
        }
        catch (CorruptDataException)
        {
            return;
        }

        var encoded = decoded.Encode();
        Assert.Equal(encoded, WalOperation.Decode(kind, encoded).Encode());
    }

    [Fact]
    public void RandomOperationsRoundTripByteForByte()
    {
        GenAnyOperation.Sample(op =>
        {
            var bytes = op.Encode();
            var decoded = WalOperation.Decode((byte)op.Kind, bytes);
            Assert.Equal(op.Kind, decoded.Kind);
            Assert.Equal(op.Ids, decoded.Ids);
            Assert.Equal(bytes, decoded.Encode());
        }, iter: 2000);
    }

    [Fact]
    public void RandomBytesDecodeOrAreReportedCorrupt()
    {
        Gen.Select(Gen.Byte, Gen.Byte.Array[0, 300]).Sample((kind, body) => DecodeOrCorrupt(kind, body), iter: 20_000);
        Gen.Select(Gen.Int[1, 10], Gen.Byte.Array[0, 300]).Sample((kind, body) => DecodeOrCorrupt((byte)kind, body), iter: 20_000);
    }

    /// <summary>One change to a byte array: flip a bit, truncate, insert, delete, or overwrite four bytes with an int.</summary>
    private static readonly Gen<Func<byte[], byte[]>> GenMutation = Gen.OneOf(
        Gen.Select(Gen.Int[0, int.MaxValue], Gen.Int[0, 7]).Select(Func<byte[], byte[]> (p) => b =>
        {
            if (b.Length == 0)
            {
                return b;
            }

            var copy = (byte[])b.Clone();
            copy[p.Item1 % b.Length] ^= (byte)(1 << p.Item2);
            return copy;
        }),
        Gen.Int[0, int.MaxValue].Select(Func<byte[], byte[]> (at) => b => b[..(b.Length == 0 ? 0 : at % b.Length)]),
        Gen.Select(Gen.Int[0, int.MaxValue], Gen.Byte).Select(Func<byte[], byte[]> (p) => b =>
        {
            var at = p.Item1 % (b.Length + 1);
            return [.. b[..at], p.Item2, .. b[at..]];
        }),
        Gen.Select(Gen.Int[0, int.MaxValue], Gen.Int[1, 16]).Select(Func<byte[], byte[]> (p) => b =>
        {
            var at = b.Length == 0 ? 0 : p.Item1 % b.Length;
            return [.. b[..at], .. b[Math.Min(b.Length, at + p.Item2)..]];
        }),
        Gen.Select(Gen.Int[0, int.MaxValue], Gen.OneOf(Gen.Int, Gen.Const(-1), Gen.Const(int.MaxValue), Gen.Const(0x40000000))).Select(Func<byte[], byte[]> (p) => b =>
        {
            if (b.Length < 4)
            {
                return b;
            }

            var copy = (byte[])b.Clone();
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(copy.AsSpan(p.Item1 % (b.Length - 3)), p.Item2);
            return copy;
        }));

    [Fact]
    public void MutatedOperationsDecodeOrAreReportedCorrupt()
    {
        Gen.Select(GenAnyOperation, GenMutation.Array[1, 3]).Sample((op, mutations) =>
        {
            var bytes = op.Encode();
            foreach (var mutate in mutations)
            {
                bytes = mutate(bytes);
            }

            DecodeOrCorrupt((byte)op.Kind, bytes);
        }, iter: 20_000);
    }

    private static Dictionary<string, byte[]> Snapshot(string dir) =>
        Directory.GetFiles(dir).ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes);

    /// <summary>60 damaged logs by default (about 4 s); <c>VECTORIZER_PROPERTY_ITERATIONS</c> raises it (to 400 at most).</summary>
    [Fact]
    public void ADamagedLogReplaysAnIdenticalPrefixOrRefusesUnchanged()
    {
        var genRecords = Gen.Select(Gen.Byte[1, 8], Gen.Byte.Array[0, 3000]).Array[1, 60];
        Gen.Select(genRecords, Gen.Int[0, int.MaxValue], GenMutation).Sample((records, pick, mutate) =>
        {
            using var dir = new TempDirectory();
            using (var wal = WriteAheadLog.Open(dir.Path, 1 << 16, NullLogger.Instance, 0, _ => { }))
            {
                foreach (var (kind, body) in records)
                {
                    wal.Append(kind, body);
                }
            }

            var segments = Directory.GetFiles(dir.Path, "*.wal").Order(StringComparer.Ordinal).ToList();
            var target = segments[pick % segments.Count];
            var original = File.ReadAllBytes(target);
            var damaged = mutate(original);
            File.WriteAllBytes(target, damaged);
            var before = Snapshot(dir.Path);

            var replayed = new List<(long Lsn, byte Kind, byte[] Body)>();
            try
            {
                using var wal = WriteAheadLog.Open(dir.Path, 1 << 16, NullLogger.Instance, 0, r => replayed.Add((r.Lsn, r.Kind, r.Body.ToArray())));
                var isLast = target == segments[^1];
                Assert.True(isLast || damaged.AsSpan().SequenceEqual(original), "damage in a segment that is not the last must be refused");
                Assert.True(replayed.Count <= records.Length);
                for (var i = 0; i < replayed.Count; i++)
                {
                    Assert.Equal(i + 1, replayed[i].Lsn);
                    Assert.Equal(records[i].Item1, replayed[i].Kind);
                    Assert.Equal(records[i].Item2, replayed[i].Body);
                }

                // Appends continue after what was kept, and a second open sees the same records.
                Assert.Equal(replayed.Count + 1, wal.Append(1, [42]));
            }
            catch (Exception e) when (e is CorruptDataException or UnsupportedFormatException)
            {
                Assert.Equal(before, Snapshot(dir.Path));
                return;
            }

            var again = new List<long>();
            using (WriteAheadLog.Open(dir.Path, 1 << 16, NullLogger.Instance, 0, r => again.Add(r.Lsn)))
            {
            }

            Assert.Equal(Enumerable.Range(1, replayed.Count + 1).Select(i => (long)i), again);
        }, iter: Math.Min(FilterPropertyTests.Iterations(60), 400), threads: 1);
    }
}
