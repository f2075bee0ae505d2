using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Filters;
using Vectorizer.Engine.Operations;
using Vectorizer.Engine.Payload;
using Vectorizer.Engine.Points;
using Vectorizer.Engine.Sparse;
using Vectorizer.Engine.Vectors;
using Vectorizer.Engine.Vectors.Quantization;

namespace Vectorizer.Engine.Tests.Golden;

/// <summary>
/// Writes the golden on-disk fixtures (<c>Fixtures/v1</c>) with the engine's own code, and renders a collection's
/// points canonically so the golden test can compare what a later commit reads back with what the writer saw.
/// <para>
/// The fixtures were written once, by the code of commit ff4e969 (main before issue 9). Never regenerate a
/// committed version: a format change gets a new folder (v2, ...) beside the old one, and every old folder
/// must still load.
/// </para>
/// </summary>
internal static class GoldenFixture
{
    public const string GoldenCollection = "golden";
    public const string ChunkedCollection = "chunked";

    /// <summary>The dimension of <c>chunked</c>'s vector: 64 vectors fill one 16 MiB chunk (a full chunk file).</summary>
    public const int ChunkedDimension = 65536;

    public static string Folder(string version) =>
        Path.Combine(AppContext.BaseDirectory, "Fixtures", version);

    /// <summary>Copies a fixture's data directory (and unpacks its archive) into <paramref name="target"/>.</summary>
    public static void Install(string version, string target)
    {
        CopyDirectory(Path.Combine(Folder(version), "data"), target);
        using var archive = File.OpenRead(Path.Combine(Folder(version), "chunked.tar.gz"));
        using var gzip = new GZipStream(archive, CompressionMode.Decompress);
        TarFile.ExtractToDirectory(gzip, target, overwriteFiles: false);
    }

    private static void CopyDirectory(string source, string target)
    {
        Directory.CreateDirectory(target);
        foreach (var file in Directory.EnumerateFiles(source))
        {
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        }

        foreach (var directory in Directory.EnumerateDirectories(source))
        {
            CopyDirectory(directory, Path.Combine(target, Path.GetFileName(directory)));
        }
    }

    private static JsonElement Json(string json) => JsonDocument.Parse(json).RootElement.Clone();

    private static PointPayload Payload(string json) => PointPayload.FromUtf8(Encoding.UTF8.GetBytes(json));

    private static PointId Uuid(int i) => PointId.FromUuid(new Guid($"00000000-0000-4000-8000-{i:D12}"));

    private static float[] Vector(Random random, int size)
    {
        var vector = new float[size];
        for (var i = 0; i < size; i++)
        {
            vector[i] = MathF.Round((float)((random.NextDouble() * 2) - 1), 4);
        }

        return vector;
    }

    private static SparseVector Sparse(Random random)
    {
        var indices = new SortedSet<uint>();
        var count = random.Next(1, 6);
        while (indices.Count < count)
        {
            indices.Add((uint)random.Next(0, 5000));
        }

        var values = new float[count];
        for (var i = 0; i < count; i++)
        {
            values[i] = MathF.Round((float)random.NextDouble(), 3) + 0.001f;
        }

        return SparseVector.Create([.. indices], values);
    }

    public static CollectionConfig GoldenConfig() => new()
    {
        Vectors = new Dictionary<string, VectorParams>(StringComparer.Ordinal)
        {
            ["text"] = new() { Size = 8, Distance = Distance.Cosine, HnswConfig = new HnswConfigDiff { M = 6, EfConstruct = 24 } },
            ["image"] = new() { Size = 4, Distance = Distance.Euclid, OnDisk = true },
            ["dot"] = new() { Size = 3, Distance = Distance.Dot, Quantization = new QuantizationSettings(QuantizationKind.Binary, AlwaysRam: true) },
            ["manhattan"] = new() { Size = 2, Distance = Distance.Manhattan },
        },
        NamedVectors = true,
        Hnsw = new HnswConfig { M = 8, EfConstruct = 32, FullScanThreshold = 0, MaxIndexingThreads = 1, Ef = 64 },
        Optimizers = new OptimizersConfig { IndexingThreshold = 1, VacuumMinVectorNumber = 100, DeletedThreshold = 0.2 },
        Wal = new WalConfig { WalCapacityMb = 1 },
        Quantization = new QuantizationSettings(QuantizationKind.Scalar, Quantile: 0.99f, AlwaysRam: true),
        SparseVectors = new Dictionary<string, SparseVectorParams>(StringComparer.Ordinal)
        {
            ["bm25"] = new() { Modifier = SparseVectorModifier.Idf },
            ["keywords"] = new() { Index = new SparseIndexParams { FullScanThreshold = 100 } },
        },
        StrictMode = new StrictModeSettings { Enabled = false },
        Metadata = OpaqueJson.FromElement(Json("""{"owner": "golden-fixture", "tags": ["a", "b"]}""")),
        Embedding = OpaqueJson.FromElement(Json("""{"dense": {"provider": "hash", "dimension": 8}, "sparse": {"provider": "bm25"}}""")),
    };

    public static CollectionConfig ChunkedConfig() => new()
    {
        Vectors = new Dictionary<string, VectorParams>(StringComparer.Ordinal) { [""] = new() { Size = ChunkedDimension, Distance = Distance.Dot } },
        Hnsw = new HnswConfig { M = 4, EfConstruct = 8, FullScanThreshold = 0, MaxIndexingThreads = 1 },
        Optimizers = new OptimizersConfig { IndexingThreshold = 1 },
    };

    /// <summary>A point of the chunked collection: mostly zeros (so the archive stays small), distinct per id.</summary>
    public static float[] ChunkedVector(int i)
    {
        var vector = new float[ChunkedDimension];
        vector[i] = i + 1;
        vector[ChunkedDimension - 1 - i] = 0.5f;
        vector[(i * 7919) % ChunkedDimension] += 0.25f;
        return vector;
    }

    private static PointStruct GoldenPoint(Random random, PointId id, int n)
    {
        var vectors = new Dictionary<string, float[]>(StringComparer.Ordinal)
        {
            ["text"] = Vector(random, 8),
            ["dot"] = Vector(random, 3),
            ["manhattan"] = Vector(random, 2),
        };
        if (n % 5 != 0)
        {
            vectors["image"] = Vector(random, 4);
        }

        Dictionary<string, SparseVector>? sparse = null;
        if (n % 3 == 0)
        {
            sparse = new Dictionary<string, SparseVector>(StringComparer.Ordinal) { ["bm25"] = Sparse(random) };
            if (n % 2 == 0)
            {
                sparse["keywords"] = Sparse(random);
            }
        }

        var payload = (n % 7) switch
        {
            0 => null,
            1 => $$"""{"n": {{n}}, "tag": "t{{n % 4}}", "body": "the quick brown fox {{n}}", "when": "2024-01-{{1 + (n % 28):D2}}T10:00:00Z"}""",
            2 => $$$"""{"n": {{{n}}}, "tag": ["t{{{n % 4}}}", "extra"], "nested": {"a": {"b": [1, 2, {{{n}}}]}, "ok": true, "none": null}}""",
            3 => $$"""{"n": {{n}}, "price": {{n}}.25, "unicode": "Grüße, 世界 ✓ {{n}}", "escaped": "quote \" backslash \\ tab \t"}""",
            4 => $$"""{"n": {{n}}, "geo": {"lat": 52.52, "lon": 13.405}, "big": 9007199254740993, "neg": -1e-7}""",
            5 => $$"""{"n": {{n}}, "list": [], "obj": {}, "flag": false, "tag": "t{{n % 4}}"}""",
            _ => $$"""{"n": {{n}}, "body": "lorem ipsum dolor {{n}}", "tag": "t{{n % 4}}"}""",
        };

        return new PointStruct(id, vectors, payload is null ? null : Payload(payload), sparse);
    }

    private static PointSelector Ids(params ulong[] ids) => PointSelector.ForIds([.. ids.Select(PointId.FromNumber)]);

    private static Filter TagIs(string tag) =>
        new() { Must = [new FieldCondition(JsonPath.Parse("tag")) { Match = new MatchCondition { Kind = MatchKind.Value, Value = MatchValue.Of(tag) } }] };

    /// <summary>One of every WAL operation kind (and a filter-resolved delete), against points that exist.</summary>
    private static async Task EveryKindAsync(Collection collection, Random random, int round)
    {
        var b = (ulong)(150 + (round * 20));
        await collection.UpdateAsync(new UpsertOperation([GoldenPoint(random, PointId.FromNumber(1000 + (ulong)round), 21), GoldenPoint(random, Uuid(100 + round), 3)]), wait: true);
        await collection.UpdateAsync(new SetPayloadOperation(Payload($$"""{"round": {{round}}, "set": "top"}"""), Ids(b + 1, b + 2), null), wait: true);
        await collection.UpdateAsync(new SetPayloadOperation(Payload("""{"deep": 1}"""), Ids(b + 3), JsonPath.Parse("nested.a")), wait: true);
        await collection.UpdateAsync(new OverwritePayloadOperation(Payload($$"""{"overwritten": {{round}}}"""), Ids(b + 4)), wait: true);
        await collection.UpdateAsync(new DeletePayloadOperation([JsonPath.Parse("n"), JsonPath.Parse("nested.ok")], Ids(b + 5, b + 6, b + 7)), wait: true);
        await collection.UpdateAsync(new ClearPayloadOperation(Ids(b + 8)), wait: true);
        await collection.UpdateAsync(
            new UpdateVectorsOperation([
                new PointVectors(PointId.FromNumber(b + 9), new Dictionary<string, float[]> { ["text"] = Vector(random, 8) }, new Dictionary<string, SparseVector> { ["bm25"] = Sparse(random) }),
                new PointVectors(PointId.FromNumber(b + 10), new Dictionary<string, float[]> { ["image"] = Vector(random, 4), ["manhattan"] = Vector(random, 2) }),
            ]),
            wait: true);
        await collection.UpdateAsync(new DeleteVectorsOperation(Ids(b + 11, b + 12), ["image", "bm25"]), wait: true);
        await collection.UpdateAsync(new DeletePointsOperation(Ids(b + 13)), wait: true);
        await collection.UpdateAsync(new DeletePointsOperation(new PointSelector([PointId.FromNumber(b + 14), PointId.FromNumber(b + 15), PointId.FromNumber(b + 16)], TagIs($"t{round % 4}"))), wait: false);
    }

    /// <summary>Writes <c>data/</c>, <c>chunked.tar.gz</c> and <c>expected.json</c> into <paramref name="output"/>.</summary>
    public static async Task WriteAsync(string output)
    {
        var data = Path.Combine(output, "data");
        Directory.CreateDirectory(data);
        var options = new EngineOptions
        {
            DataDir = data,
            AutoSave = new AutoSaveOptions { Enabled = false },
            MaintenanceInterval = TimeSpan.FromHours(1),
            IndexingThreads = 1,
        };
        var expected = new JsonObject();
        using (var manager = CollectionManager.Open(options, NullLoggerFactory.Instance))
        {
            var golden = manager.Create(GoldenCollection, GoldenConfig());
            manager.UpdateAliases([new CreateAlias(GoldenCollection, "golden-alias"), new CreateAlias(GoldenCollection, "another")]);
            var random = new Random(20240901);
            for (var batch = 0; batch < 3; batch++)
            {
                var points = new List<PointStruct>();
                for (var i = 0; i < 100; i++)
                {
                    var n = (batch * 100) + i + 1;
                    points.Add(GoldenPoint(random, n > 290 ? Uuid(n - 290) : PointId.FromNumber((ulong)n), n));
                }

                await golden.UpdateAsync(new UpsertOperation(points), wait: true);
            }

            golden.CreatePayloadIndex("tag", new PayloadFieldSchema(PayloadSchemaType.Keyword));
            golden.CreatePayloadIndex("n", new PayloadFieldSchema(PayloadSchemaType.Integer));
            golden.CreatePayloadIndex("when", new PayloadFieldSchema(PayloadSchemaType.Datetime));
            golden.CreatePayloadIndex("body", new PayloadFieldSchema(PayloadSchemaType.Text, new PayloadIndexParams { Text = new TextIndexParams { Tokenizer = TokenizerKind.Word, Lowercase = true, MinTokenLength = 2 } }));

            // Tombstones past the vacuum threshold: the fixture's state is generation 1 (vectors/g1/...).
            await golden.UpdateAsync(new DeletePointsOperation(PointSelector.ForIds([.. Enumerable.Range(1, 120).Select(i => PointId.FromNumber((ulong)i))])), wait: true);
            golden.Vacuum();
            await EveryKindAsync(golden, random, 0);
            await golden.WaitForIndexingAsync(TimeSpan.FromMinutes(1));
            golden.Checkpoint();
            expected["golden_first_checkpoint_lsn"] = golden.CheckpointLsn;
            expected["golden_first_checkpoint"] = Render(golden);

            await EveryKindAsync(golden, random, 1);
            await golden.WaitForIndexingAsync(TimeSpan.FromMinutes(1));
            golden.Checkpoint();
            expected["golden_checkpoint_lsn"] = golden.CheckpointLsn;

            // The WAL tail after the newest checkpoint: one more of every kind, replayed on open.
            await EveryKindAsync(golden, random, 2);
            expected["golden_last_lsn"] = golden.LastLsn;
            expected["golden"] = Render(golden);
            expected["golden_query"] = RenderQuery(golden);
            golden.Close(checkpoint: false);

            var chunked = manager.Create(ChunkedCollection, ChunkedConfig());
            var chunkedPoints = Enumerable.Range(0, 66).Select(i => new PointStruct(PointId.FromNumber((ulong)i), new Dictionary<string, float[]> { [""] = ChunkedVector(i) }, Payload($$"""{"i": {{i}}}"""))).ToList();
            await chunked.UpdateAsync(new UpsertOperation(chunkedPoints[..40]), wait: true);
            await chunked.UpdateAsync(new UpsertOperation(chunkedPoints[40..]), wait: true);
            await chunked.WaitForIndexingAsync(TimeSpan.FromMinutes(1));
            chunked.Checkpoint();
            expected["chunked_checkpoint_lsn"] = chunked.CheckpointLsn;
            await chunked.UpdateAsync(new DeletePointsOperation(Ids(3)), wait: true);
            await chunked.UpdateAsync(new SetPayloadOperation(Payload("""{"after": true}"""), Ids(4), null), wait: true);
            expected["chunked_last_lsn"] = chunked.LastLsn;
            expected["chunked"] = Render(chunked);
            chunked.Close(checkpoint: false);
        }

        // The chunked collection (a 16 MiB chunk, mostly zeros) goes into a compressed archive.
        var chunkedRoot = Path.Combine(data, "collections", ChunkedCollection);
        using (var archive = File.Create(Path.Combine(output, "chunked.tar.gz")))
        using (var gzip = new GZipStream(archive, CompressionLevel.SmallestSize))
        using (var tar = new TarWriter(gzip, TarEntryFormat.Pax))
        {
            foreach (var file in Directory.EnumerateFiles(chunkedRoot, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                tar.WriteEntry(file, Path.GetRelativePath(data, file).Replace('\\', '/'));
            }
        }

        Directory.Delete(chunkedRoot, recursive: true);
        File.Delete(Path.Combine(data, ".lock"));
        File.WriteAllText(Path.Combine(output, "expected.json"), Format(expected));
    }

    /// <summary>The expected values, one point per line (readable in a diff, a fraction of the indented size).</summary>
    private static string Format(JsonObject expected)
    {
        var text = new StringBuilder("{\n");
        var first = true;
        foreach (var (key, value) in expected)
        {
            text.Append(first ? "" : ",\n").Append("  ").Append(JsonSerializer.Serialize(key)).Append(": ");
            first = false;
            if (value is JsonArray { Count: > 0 } array && array[0] is JsonObject)
            {
                text.Append("[\n");
                for (var i = 0; i < array.Count; i++)
                {
                    text.Append("    ").Append(array[i]!.ToJsonString()).Append(i + 1 < array.Count ? ",\n" : "\n");
                }

                text.Append("  ]");
            }
            else
            {
                text.Append(value!.ToJsonString());
            }
        }

        return text.Append("\n}\n").ToString();
    }

    /// <summary>Every live point (id order) with version, payload, dense and sparse vectors, as canonical JSON.</summary>
    public static JsonArray Render(Collection collection)
    {
        var points = collection.Scroll(new ScrollRequest { Limit = 1_000_000, WithPayload = PayloadSelector.All, WithVector = VectorSelector.All }).Points;
        var array = new JsonArray();
        foreach (var point in points)
        {
            var vectors = new JsonObject();
            foreach (var (name, vector) in (point.Vectors ?? new Dictionary<string, float[]>()).OrderBy(v => v.Key, StringComparer.Ordinal))
            {
                vectors[name] = vector.Length <= 16
                    ? new JsonArray([.. vector.Select(f => JsonValue.Create(f))])
                    : JsonValue.Create("sha256:" + Convert.ToHexStringLower(SHA256.HashData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(vector.AsSpan()))));
            }

            var sparse = new JsonObject();
            foreach (var (name, vector) in (point.Sparse ?? new Dictionary<string, SparseVector>()).OrderBy(v => v.Key, StringComparer.Ordinal))
            {
                sparse[name] = new JsonObject
                {
                    ["indices"] = new JsonArray([.. vector.Indices.Select(i => JsonValue.Create(i))]),
                    ["values"] = new JsonArray([.. vector.Values.Select(v => JsonValue.Create(v))]),
                };
            }

            array.Add(new JsonObject
            {
                ["id"] = point.Id.ToString(),
                ["version"] = point.Version,
                ["payload"] = point.Payload is null ? null : JsonNode.Parse(point.Payload.Root.GetRawText()),
                ["vectors"] = vectors,
                ["sparse"] = sparse,
            });
        }

        return array;
    }

    /// <summary>The top five by the <c>text</c> vector for a fixed query (answered by the loaded graph).</summary>
    public static JsonArray RenderQuery(Collection collection)
    {
        var result = collection.Query(new QueryRequest { Query = new DenseVectorQuery([0.1f, -0.2f, 0.3f, 0.4f, -0.5f, 0.6f, 0.7f, -0.8f]), Using = "text", Limit = 5 });
        return new JsonArray([.. result.Select(p => JsonValue.Create(p.Id.ToString()))]);
    }
}
