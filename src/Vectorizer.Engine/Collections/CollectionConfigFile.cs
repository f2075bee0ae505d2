using System.Globalization;
using System.Text.Json;
using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Payload;
using Vectorizer.Engine.Storage;
using Vectorizer.Engine.Vectors;
using Vectorizer.Engine.Vectors.Quantization;

namespace Vectorizer.Engine.Collections;

/// <summary>
/// <c>collection.json</c>: a collection's <see cref="CollectionConfig"/> on disk, in its own versioned format. The
/// API's <c>config</c> object is rendered elsewhere (the server), so changing the API never changes this file.
/// <code>
/// {
///   "format_version": 2,                                   absent in version 1 (written before the field existed)
///   "params": {
///     "vectors": {"size", "distance", "hnsw_config"?, "quantization_config"?, "on_disk"?, "datatype"?}
///                | {"&lt;name&gt;": {...same...}, ...},             one unnamed vector, or named vectors
///     "shard_number", "replication_factor", "write_consistency_factor", "on_disk_payload",
///     "sparse_vectors"?: {"&lt;name&gt;": {"modifier"?: "idf"|"none", "index"?: {"full_scan_threshold"?, "on_disk"?, "datatype"?}}}
///   },
///   "hnsw_config": {"m", "ef_construct", "full_scan_threshold", "max_indexing_threads", "on_disk", "payload_m"?, "inline_storage"?, "ef"?},
///   "optimizer_config": {"deleted_threshold", "vacuum_min_vector_number", "default_segment_number", "max_segment_size",
///                        "memmap_threshold", "indexing_threshold", "flush_interval_sec", "max_optimization_threads", "prevent_unoptimized"?},
///   "wal_config": {"wal_capacity_mb", "wal_segments_ahead", "wal_retain_closed"},
///   "quantization_config": null | {"scalar": {"type": "int8", "quantile"?, "always_ram"?}}
///                               | {"binary": {"always_ram"?}} | {"product": {"compression": "x4".."x64", "always_ram"?}},
///   "strict_mode_config"?: {enabled?, max_query_limit?, ...},  the typed limits of StrictModeSettings, snake_case
///   "metadata"?: {...}, "embedding"?: {...},     opaque objects, stored as given
///   "payload_schema"?: {"&lt;field&gt;": {"type": "keyword"|..., "params"?: {"type", ...index parameters}}}
/// }
/// </code>
/// Version 2 has version 1's layout (which, when it was written, was also the API's <c>config</c> object plus
/// <c>embedding</c> and <c>payload_schema</c>) and adds <c>format_version</c>; the reader reads both. A file with a
/// newer version is refused rather than half-understood. Golden files of each version are read by a test
/// (<c>tests/Vectorizer.Engine.Tests/Fixtures/collection-json-v1</c>).
/// </summary>
public static class CollectionConfigFile
{
    /// <summary>The version this code writes; bump it (and keep reading the old one) for any change of layout or meaning.</summary>
    public const int FormatVersion = 2;

    /// <summary>The version of files without a <c>format_version</c> field.</summary>
    public const int UnversionedFormat = 1;

    public const string FileName = "collection.json";

    /// <summary>Writes <paramref name="config"/> atomically (temporary file, fsync, rename).</summary>
    public static void Write(string path, CollectionConfig config) => Write(PhysicalStorage.Instance, path, config);

    /// <summary>Writes <paramref name="config"/> atomically through <paramref name="storage"/> (temporary file, fsync, rename, directory sync).</summary>
    public static void Write(IStorage storage, string path, CollectionConfig config) => FileUtil.WriteAtomic(storage, path, ToUtf8(config));

    /// <summary>Reads the file at <paramref name="path"/>; a damaged or unknown file is a <see cref="ErrorCode.StorageFailure"/>.</summary>
    public static CollectionConfig Read(string path) => FromUtf8(File.ReadAllBytes(path));

    /// <summary>
    /// Reads a collection's config for an open: a missing or damaged file throws <see cref="CorruptDataException"/>
    /// naming it, a newer <c>format_version</c> <see cref="UnsupportedFormatException"/> (the collection is then reported
    /// as failed, its files kept).
    /// </summary>
    public static CollectionConfig Read(IStorage storage, string path)
    {
        byte[] bytes;
        try
        {
            bytes = storage.ReadAllBytes(path);
        }
        catch (FileNotFoundException e)
        {
            throw new CorruptDataException($"{FileName} is missing ({path})", e);
        }

        try
        {
            return FromUtf8(bytes);
        }
        catch (VectorizerException e)
        {
            throw new CorruptDataException($"{FileName} is damaged ({path}): {e.Message}", e);
        }
    }

    public static byte[] ToUtf8(CollectionConfig config)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            WriteConfig(writer, config);
        }

        return buffer.ToArray();
    }

    public static CollectionConfig FromUtf8(ReadOnlySpan<byte> utf8)
    {
        try
        {
            var reader = new Utf8JsonReader(utf8);
            using var document = JsonDocument.ParseValue(ref reader);
            return ReadConfig(document.RootElement);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or InvalidDataException)
        {
            throw new VectorizerException(ErrorCode.StorageFailure, $"Invalid collection config: {e.Message}", e);
        }
    }

    // ------------------------------------------------------------------ write

    private static void WriteConfig(Utf8JsonWriter writer, CollectionConfig config)
    {
        writer.WriteStartObject();
        writer.WriteNumber("format_version", FormatVersion);
        writer.WriteStartObject("params");
        writer.WritePropertyName("vectors");
        if (config.NamedVectors)
        {
            writer.WriteStartObject();
            foreach (var (name, vector) in config.Vectors)
            {
                writer.WritePropertyName(name);
                WriteVectorParams(writer, vector);
            }

            writer.WriteEndObject();
        }
        else if (config.Vectors.TryGetValue("", out var single))
        {
            WriteVectorParams(writer, single);
        }
        else
        {
            writer.WriteStartObject();
            writer.WriteEndObject();
        }

        writer.WriteNumber("shard_number", config.ShardNumber);
        writer.WriteNumber("replication_factor", config.ReplicationFactor);
        writer.WriteNumber("write_consistency_factor", config.WriteConsistencyFactor);
        writer.WriteBoolean("on_disk_payload", config.OnDiskPayload);
        if (config.SparseVectors.Count > 0)
        {
            writer.WriteStartObject("sparse_vectors");
            foreach (var (name, sparse) in config.SparseVectors)
            {
                writer.WriteStartObject(name);
                if (sparse.Modifier is { } modifier)
                {
                    writer.WriteString("modifier", modifier == SparseVectorModifier.Idf ? "idf" : "none");
                }

                if (sparse.Index is { } index)
                {
                    writer.WriteStartObject("index");
                    WriteOptional(writer, "full_scan_threshold", index.FullScanThreshold);
                    WriteOptional(writer, "on_disk", index.OnDisk);
                    WriteOptional(writer, "datatype", index.Datatype);
                    writer.WriteEndObject();
                }

                writer.WriteEndObject();
            }

            writer.WriteEndObject();
        }

        writer.WriteEndObject();

        var hnsw = config.Hnsw;
        writer.WriteStartObject("hnsw_config");
        writer.WriteNumber("m", hnsw.M);
        writer.WriteNumber("ef_construct", hnsw.EfConstruct);
        writer.WriteNumber("full_scan_threshold", hnsw.FullScanThreshold);
        writer.WriteNumber("max_indexing_threads", hnsw.MaxIndexingThreads);
        writer.WriteBoolean("on_disk", hnsw.OnDisk);
        WriteOptional(writer, "payload_m", hnsw.PayloadM);
        WriteOptional(writer, "inline_storage", hnsw.InlineStorage);
        WriteOptional(writer, "ef", hnsw.Ef);
        writer.WriteEndObject();

        var optimizers = config.Optimizers;
        writer.WriteStartObject("optimizer_config");
        writer.WriteNumber("deleted_threshold", optimizers.DeletedThreshold);
        writer.WriteNumber("vacuum_min_vector_number", optimizers.VacuumMinVectorNumber);
        writer.WriteNumber("default_segment_number", optimizers.DefaultSegmentNumber);
        WriteNullable(writer, "max_segment_size", optimizers.MaxSegmentSize);
        WriteNullable(writer, "memmap_threshold", optimizers.MemmapThreshold);
        WriteNullable(writer, "indexing_threshold", optimizers.IndexingThreshold);
        writer.WriteNumber("flush_interval_sec", optimizers.FlushIntervalSec);
        WriteNullable(writer, "max_optimization_threads", optimizers.MaxOptimizationThreads);
        WriteOptional(writer, "prevent_unoptimized", optimizers.PreventUnoptimized);
        writer.WriteEndObject();

        writer.WriteStartObject("wal_config");
        writer.WriteNumber("wal_capacity_mb", config.Wal.WalCapacityMb);
        writer.WriteNumber("wal_segments_ahead", config.Wal.WalSegmentsAhead);
        writer.WriteNumber("wal_retain_closed", config.Wal.WalRetainClosed);
        writer.WriteEndObject();

        writer.WritePropertyName("quantization_config");
        WriteQuantization(writer, config.Quantization);
        WriteStrictMode(writer, config.StrictMode);
        WriteOpaque(writer, "metadata", config.Metadata);
        WriteOpaque(writer, "embedding", config.Embedding);
        if (config.PayloadSchema.Count > 0)
        {
            writer.WriteStartObject("payload_schema");
            foreach (var (field, schema) in config.PayloadSchema)
            {
                writer.WriteStartObject(field);
                writer.WriteString("type", schema.TypeName);
                if (schema.Params is { } parameters)
                {
                    writer.WritePropertyName("params");
                    WritePayloadIndexParams(writer, schema.TypeName, parameters);
                }

                writer.WriteEndObject();
            }

            writer.WriteEndObject();
        }

        writer.WriteEndObject();
    }

    private static void WriteVectorParams(Utf8JsonWriter writer, VectorParams vector)
    {
        writer.WriteStartObject();
        writer.WriteNumber("size", vector.Size);
        writer.WriteString("distance", vector.Distance.ToApiName());
        if (vector.HnswConfig is { } diff)
        {
            writer.WriteStartObject("hnsw_config");
            WriteOptional(writer, "m", diff.M);
            WriteOptional(writer, "ef_construct", diff.EfConstruct);
            WriteOptional(writer, "full_scan_threshold", diff.FullScanThreshold);
            WriteOptional(writer, "max_indexing_threads", diff.MaxIndexingThreads);
            WriteOptional(writer, "on_disk", diff.OnDisk);
            WriteOptional(writer, "payload_m", diff.PayloadM);
            WriteOptional(writer, "inline_storage", diff.InlineStorage);
            WriteOptional(writer, "ef", diff.Ef);
            writer.WriteEndObject();
        }

        if (vector.Quantization is { } quantization)
        {
            writer.WritePropertyName("quantization_config");
            WriteQuantization(writer, quantization);
        }

        WriteOptional(writer, "on_disk", vector.OnDisk);
        WriteOptional(writer, "datatype", vector.Datatype);
        writer.WriteEndObject();
    }

    private static void WriteQuantization(Utf8JsonWriter writer, QuantizationSettings? quantization)
    {
        if (quantization is null)
        {
            writer.WriteNullValue();
            return;
        }

        writer.WriteStartObject();
        switch (quantization.Kind)
        {
            case QuantizationKind.Scalar:
                writer.WriteStartObject("scalar");
                writer.WriteString("type", "int8");
                WriteOptional(writer, "quantile", quantization.Quantile);
                break;
            case QuantizationKind.Binary:
                writer.WriteStartObject("binary");
                break;
            case QuantizationKind.Product:
                writer.WriteStartObject("product");
                writer.WriteString("compression", "x" + quantization.Compression.ToString(CultureInfo.InvariantCulture));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(quantization), quantization.Kind, "unknown quantization");
        }

        WriteOptional(writer, "always_ram", quantization.AlwaysRam);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    private static void WritePayloadIndexParams(Utf8JsonWriter writer, string type, PayloadIndexParams parameters)
    {
        writer.WriteStartObject();
        writer.WriteString("type", type);
        if (parameters.Text is { } text)
        {
            if (text.Tokenizer is { } tokenizer)
            {
                writer.WriteString("tokenizer", tokenizer.ToString().ToLowerInvariant());
            }

            WriteOptional(writer, "min_token_len", text.MinTokenLength);
            WriteOptional(writer, "max_token_len", text.MaxTokenLength);
            WriteOptional(writer, "lowercase", text.Lowercase);
            WriteOptional(writer, "ascii_folding", text.AsciiFolding);
            if (text.Stopwords is { } stopwords)
            {
                writer.WriteStartObject("stopwords");
                writer.WriteStartArray("custom");
                foreach (var word in stopwords)
                {
                    writer.WriteStringValue(word);
                }

                writer.WriteEndArray();
                writer.WriteEndObject();
            }

            WriteOptional(writer, "phrase_matching", text.PhraseMatching);
        }

        WriteOptional(writer, "is_tenant", parameters.IsTenant);
        WriteOptional(writer, "lookup", parameters.Lookup);
        WriteOptional(writer, "range", parameters.Range);
        WriteOptional(writer, "is_principal", parameters.IsPrincipal);
        WriteOptional(writer, "on_disk", parameters.OnDisk);
        WriteOptional(writer, "enable_hnsw", parameters.EnableHnsw);
        writer.WriteEndObject();
    }

    private static void WriteStrictMode(Utf8JsonWriter writer, StrictModeSettings? strict)
    {
        if (strict is null)
        {
            return;
        }

        writer.WriteStartObject("strict_mode_config");
        WriteOptional(writer, "enabled", strict.Enabled);
        WriteOptional(writer, "max_query_limit", strict.MaxQueryLimit);
        WriteOptional(writer, "unindexed_filtering_retrieve", strict.UnindexedFilteringRetrieve);
        WriteOptional(writer, "unindexed_filtering_update", strict.UnindexedFilteringUpdate);
        WriteOptional(writer, "search_max_hnsw_ef", strict.SearchMaxHnswEf);
        WriteOptional(writer, "search_allow_exact", strict.SearchAllowExact);
        if (strict.SearchMaxOversampling is { } oversampling)
        {
            writer.WriteNumber("search_max_oversampling", oversampling);
        }

        WriteOptional(writer, "upsert_max_batchsize", strict.UpsertMaxBatchsize);
        WriteOptional(writer, "search_max_batchsize", strict.SearchMaxBatchsize);
        WriteOptional(writer, "max_points_count", strict.MaxPointsCount);
        WriteOptional(writer, "filter_max_conditions", strict.FilterMaxConditions);
        WriteOptional(writer, "condition_max_size", strict.ConditionMaxSize);
        WriteOptional(writer, "max_payload_index_count", strict.MaxPayloadIndexCount);
        writer.WriteEndObject();
    }

    private static void WriteOptional(Utf8JsonWriter writer, string name, long? value)
    {
        if (value is { } v)
        {
            writer.WriteNumber(name, v);
        }
    }

    private static void WriteOpaque(Utf8JsonWriter writer, string name, OpaqueJson? value)
    {
        if (value is not null)
        {
            writer.WritePropertyName(name);
            value.WriteTo(writer);
        }
    }

    private static void WriteOptional(Utf8JsonWriter writer, string name, int? value)
    {
        if (value is { } v)
        {
            writer.WriteNumber(name, v);
        }
    }

    private static void WriteOptional(Utf8JsonWriter writer, string name, float? value)
    {
        if (value is { } v)
        {
            writer.WriteNumber(name, v);
        }
    }

    private static void WriteOptional(Utf8JsonWriter writer, string name, bool? value)
    {
        if (value is { } v)
        {
            writer.WriteBoolean(name, v);
        }
    }

    private static void WriteOptional(Utf8JsonWriter writer, string name, string? value)
    {
        if (value is not null)
        {
            writer.WriteString(name, value);
        }
    }

    private static void WriteNullable(Utf8JsonWriter writer, string name, int? value)
    {
        if (value is { } v)
        {
            writer.WriteNumber(name, v);
        }
        else
        {
            writer.WriteNull(name);
        }
    }

    // ------------------------------------------------------------------ read (versions 1 and 2)

    private static CollectionConfig ReadConfig(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidDataException("not a JSON object");
        }

        var version = root.TryGetProperty("format_version", out var v) ? v.GetInt32() : UnversionedFormat;
        if (version > FormatVersion)
        {
            throw new UnsupportedFormatException($"{FileName} has format_version {version}, written by a newer Vectorizer (this one reads up to {FormatVersion})");
        }

        if (version < UnversionedFormat)
        {
            throw new InvalidDataException($"unknown format_version {version}");
        }

        var parameters = root.GetProperty("params");
        var vectorsElement = parameters.GetProperty("vectors");
        var vectors = new Dictionary<string, VectorParams>(StringComparer.Ordinal);
        var named = !vectorsElement.TryGetProperty("size", out _);
        if (named)
        {
            foreach (var property in vectorsElement.EnumerateObject())
            {
                vectors[property.Name] = ReadVectorParams(property.Value);
            }
        }
        else
        {
            vectors[""] = ReadVectorParams(vectorsElement);
        }

        return new CollectionConfig
        {
            Vectors = vectors,
            NamedVectors = named,
            ShardNumber = Optional(parameters, "shard_number")?.GetInt32() ?? 1,
            ReplicationFactor = Optional(parameters, "replication_factor")?.GetInt32() ?? 1,
            WriteConsistencyFactor = Optional(parameters, "write_consistency_factor")?.GetInt32() ?? 1,
            OnDiskPayload = Optional(parameters, "on_disk_payload")?.GetBoolean() ?? false,
            SparseVectors = ReadSparseVectors(Optional(parameters, "sparse_vectors")),
            Hnsw = ReadHnsw(root.GetProperty("hnsw_config")),
            Optimizers = ReadOptimizers(root.GetProperty("optimizer_config")),
            Wal = ReadWal(root.GetProperty("wal_config")),
            Quantization = ReadQuantization(Optional(root, "quantization_config")),
            StrictMode = ReadStrictMode(Optional(root, "strict_mode_config")),
            Metadata = Opaque(root, "metadata"),
            Embedding = Opaque(root, "embedding"),
            PayloadSchema = ReadPayloadSchema(Optional(root, "payload_schema")),
        };
    }

    private static VectorParams ReadVectorParams(JsonElement element)
    {
        var distanceText = element.GetProperty("distance").GetString();
        if (!DistanceExtensions.TryParse(distanceText, out var distance))
        {
            throw new InvalidDataException($"unknown distance `{distanceText}`");
        }

        return new VectorParams
        {
            Size = element.GetProperty("size").GetInt32(),
            Distance = distance,
            HnswConfig = Optional(element, "hnsw_config") is { } diff ? ReadHnswDiff(diff) : null,
            Quantization = ReadQuantization(Optional(element, "quantization_config")),
            OnDisk = Optional(element, "on_disk")?.GetBoolean(),
            Datatype = Optional(element, "datatype")?.GetString(),
        };
    }

    private static HnswConfig ReadHnsw(JsonElement element)
    {
        var defaults = new HnswConfig();
        return new HnswConfig
        {
            M = Optional(element, "m")?.GetInt32() ?? defaults.M,
            EfConstruct = Optional(element, "ef_construct")?.GetInt32() ?? defaults.EfConstruct,
            FullScanThreshold = Optional(element, "full_scan_threshold")?.GetInt32() ?? defaults.FullScanThreshold,
            MaxIndexingThreads = Optional(element, "max_indexing_threads")?.GetInt32() ?? 0,
            OnDisk = Optional(element, "on_disk")?.GetBoolean() ?? false,
            PayloadM = Optional(element, "payload_m")?.GetInt32(),
            InlineStorage = Optional(element, "inline_storage")?.GetBoolean(),
            Ef = Optional(element, "ef")?.GetInt32(),
        };
    }

    private static HnswConfigDiff ReadHnswDiff(JsonElement element) => new()
    {
        M = Optional(element, "m")?.GetInt32(),
        EfConstruct = Optional(element, "ef_construct")?.GetInt32(),
        FullScanThreshold = Optional(element, "full_scan_threshold")?.GetInt32(),
        MaxIndexingThreads = Optional(element, "max_indexing_threads")?.GetInt32(),
        OnDisk = Optional(element, "on_disk")?.GetBoolean(),
        PayloadM = Optional(element, "payload_m")?.GetInt32(),
        InlineStorage = Optional(element, "inline_storage")?.GetBoolean(),
        Ef = Optional(element, "ef")?.GetInt32(),
    };

    private static OptimizersConfig ReadOptimizers(JsonElement element)
    {
        var defaults = new OptimizersConfig();
        return new OptimizersConfig
        {
            DeletedThreshold = Optional(element, "deleted_threshold")?.GetDouble() ?? defaults.DeletedThreshold,
            VacuumMinVectorNumber = Optional(element, "vacuum_min_vector_number")?.GetInt32() ?? defaults.VacuumMinVectorNumber,
            DefaultSegmentNumber = Optional(element, "default_segment_number")?.GetInt32() ?? 0,
            MaxSegmentSize = Optional(element, "max_segment_size")?.GetInt32(),
            MemmapThreshold = Optional(element, "memmap_threshold")?.GetInt32(),
            // Written as null when disabled by a null: absent means the default, null means null.
            IndexingThreshold = element.TryGetProperty("indexing_threshold", out var threshold)
                ? (threshold.ValueKind == JsonValueKind.Null ? null : threshold.GetInt32())
                : defaults.IndexingThreshold,
            FlushIntervalSec = Optional(element, "flush_interval_sec")?.GetInt32() ?? defaults.FlushIntervalSec,
            MaxOptimizationThreads = Optional(element, "max_optimization_threads")?.GetInt32(),
            PreventUnoptimized = Optional(element, "prevent_unoptimized")?.GetBoolean(),
        };
    }

    private static WalConfig ReadWal(JsonElement element)
    {
        var defaults = new WalConfig();
        return new WalConfig
        {
            WalCapacityMb = Optional(element, "wal_capacity_mb")?.GetInt32() ?? defaults.WalCapacityMb,
            WalSegmentsAhead = Optional(element, "wal_segments_ahead")?.GetInt32() ?? defaults.WalSegmentsAhead,
            WalRetainClosed = Optional(element, "wal_retain_closed")?.GetInt32() ?? defaults.WalRetainClosed,
        };
    }

    /// <summary>The three forms above. Version 1 stored what the client sent: other keys (a binary <c>encoding</c>) are ignored.</summary>
    private static QuantizationSettings? ReadQuantization(JsonElement? element)
    {
        if (element is not { ValueKind: JsonValueKind.Object } root)
        {
            // Null, or (never persisted, but harmless) the PATCH form "Disabled".
            return null;
        }

        if (Optional(root, "scalar") is { } scalar)
        {
            var type = Optional(scalar, "type")?.GetString();
            if (type != "int8")
            {
                throw new InvalidDataException($"quantization_config.scalar.type `{type}`");
            }

            return new QuantizationSettings(QuantizationKind.Scalar, (float?)Optional(scalar, "quantile")?.GetDouble(), Optional(scalar, "always_ram")?.GetBoolean());
        }

        if (Optional(root, "binary") is { } binary)
        {
            return new QuantizationSettings(QuantizationKind.Binary, AlwaysRam: Optional(binary, "always_ram")?.GetBoolean());
        }

        if (Optional(root, "product") is { } product)
        {
            var text = Optional(product, "compression")?.GetString();
            var ratio = text is ['x', .. var digits] && int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var r) ? r : 0;
            if (!QuantizationSettings.IsSupportedCompression(ratio))
            {
                throw new InvalidDataException($"quantization_config.product.compression `{text}`");
            }

            return new QuantizationSettings(QuantizationKind.Product, AlwaysRam: Optional(product, "always_ram")?.GetBoolean(), Compression: ratio);
        }

        throw new InvalidDataException("quantization_config: expected one of `scalar`, `product`, `binary`");
    }

    /// <summary>Version 1 stored sparse parameters as the client sent them: fields of an unexpected type are ignored.</summary>
    private static Dictionary<string, SparseVectorParams> ReadSparseVectors(JsonElement? element)
    {
        var result = new Dictionary<string, SparseVectorParams>(StringComparer.Ordinal);
        if (element is not { ValueKind: JsonValueKind.Object } sparse)
        {
            return result;
        }

        foreach (var property in sparse.EnumerateObject())
        {
            var value = property.Value;
            SparseVectorModifier? modifier = Lenient(value, "modifier", JsonValueKind.String)?.GetString() switch
            {
                "idf" => SparseVectorModifier.Idf,
                "none" => SparseVectorModifier.None,
                null => null,
                var other => throw new InvalidDataException($"sparse_vectors.{property.Name}.modifier `{other}`"),
            };
            SparseIndexParams? index = null;
            if (Lenient(value, "index", JsonValueKind.Object) is { } indexElement)
            {
                index = new SparseIndexParams
                {
                    FullScanThreshold = Lenient(indexElement, "full_scan_threshold", JsonValueKind.Number)?.GetInt32(),
                    OnDisk = LenientBool(indexElement, "on_disk"),
                    Datatype = Lenient(indexElement, "datatype", JsonValueKind.String)?.GetString(),
                };
            }

            result[property.Name] = new SparseVectorParams { Modifier = modifier, Index = index };
        }

        return result;
    }

    private static Dictionary<string, PayloadFieldSchema> ReadPayloadSchema(JsonElement? element)
    {
        var schema = new Dictionary<string, PayloadFieldSchema>(StringComparer.Ordinal);
        if (element is not { ValueKind: JsonValueKind.Object } fields)
        {
            return schema;
        }

        foreach (var field in fields.EnumerateObject())
        {
            if (!PayloadFieldSchema.TryParseType(field.Value.GetProperty("type").GetString(), out var type))
            {
                throw new InvalidDataException($"unknown payload index type for `{field.Name}`");
            }

            schema[field.Name] = new PayloadFieldSchema(type, Optional(field.Value, "params") is { ValueKind: JsonValueKind.Object } p ? ReadPayloadIndexParams(type, p) : null);
        }

        return schema;
    }

    /// <summary>
    /// Version 1 stored the parameters as the client sent them; text parameters were validated, the others were not,
    /// so their fields of an unexpected type are ignored (as they were then).
    /// </summary>
    private static PayloadIndexParams ReadPayloadIndexParams(PayloadSchemaType type, JsonElement element)
    {
        TextIndexParams? text = null;
        if (type == PayloadSchemaType.Text)
        {
            var tokenizer = Optional(element, "tokenizer")?.GetString() is { } name
                ? Enum.TryParse<TokenizerKind>(name, ignoreCase: true, out var kind) && name == name.ToLowerInvariant() ? kind : throw new InvalidDataException($"unknown tokenizer `{name}`")
                : (TokenizerKind?)null;
            List<string>? stopwords = null;
            if (Optional(element, "stopwords") is { } stopwordsElement && Optional(stopwordsElement, "custom") is { } custom)
            {
                stopwords = [];
                foreach (var word in custom.EnumerateArray())
                {
                    stopwords.Add(word.GetString()!);
                }
            }

            text = new TextIndexParams
            {
                Tokenizer = tokenizer,
                Lowercase = Optional(element, "lowercase")?.GetBoolean(),
                AsciiFolding = Optional(element, "ascii_folding")?.GetBoolean(),
                MinTokenLength = Optional(element, "min_token_len")?.GetInt32(),
                MaxTokenLength = Optional(element, "max_token_len")?.GetInt32(),
                Stopwords = stopwords,
                PhraseMatching = LenientBool(element, "phrase_matching"),
            };
        }

        return new PayloadIndexParams
        {
            IsTenant = LenientBool(element, "is_tenant"),
            Lookup = LenientBool(element, "lookup"),
            Range = LenientBool(element, "range"),
            IsPrincipal = LenientBool(element, "is_principal"),
            OnDisk = LenientBool(element, "on_disk"),
            EnableHnsw = LenientBool(element, "enable_hnsw"),
            Text = text,
        };
    }

    private static JsonElement? Optional(JsonElement parent, string name) =>
        parent.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    private static JsonElement? Lenient(JsonElement parent, string name, JsonValueKind kind) =>
        parent.TryGetProperty(name, out var value) && value.ValueKind == kind ? value : null;

    private static bool? LenientBool(JsonElement parent, string name) =>
        parent.TryGetProperty(name, out var value) && value.ValueKind is JsonValueKind.True or JsonValueKind.False ? value.GetBoolean() : null;

    /// <summary>
    /// Strict mode. Before it was enforced (files written before this code) the object was stored as given: limits
    /// this server does not know are dropped, and a value of the wrong type reads as unset, as it never applied.
    /// </summary>
    private static StrictModeSettings? ReadStrictMode(JsonElement? element)
    {
        if (element is not { ValueKind: JsonValueKind.Object } strict)
        {
            return null;
        }

        return new StrictModeSettings
        {
            Enabled = LenientBool(strict, "enabled"),
            MaxQueryLimit = LenientLong(strict, "max_query_limit"),
            UnindexedFilteringRetrieve = LenientBool(strict, "unindexed_filtering_retrieve"),
            UnindexedFilteringUpdate = LenientBool(strict, "unindexed_filtering_update"),
            SearchMaxHnswEf = LenientLong(strict, "search_max_hnsw_ef"),
            SearchAllowExact = LenientBool(strict, "search_allow_exact"),
            SearchMaxOversampling = Lenient(strict, "search_max_oversampling", JsonValueKind.Number) is { } oversampling && oversampling.TryGetDouble(out var x) ? x : null,
            UpsertMaxBatchsize = LenientLong(strict, "upsert_max_batchsize"),
            SearchMaxBatchsize = LenientLong(strict, "search_max_batchsize"),
            MaxPointsCount = LenientLong(strict, "max_points_count"),
            FilterMaxConditions = LenientLong(strict, "filter_max_conditions"),
            ConditionMaxSize = LenientLong(strict, "condition_max_size"),
            MaxPayloadIndexCount = LenientLong(strict, "max_payload_index_count"),
        };
    }

    private static long? LenientLong(JsonElement parent, string name) =>
        Lenient(parent, name, JsonValueKind.Number) is { } value && value.TryGetInt64(out var v) ? v : null;

    private static OpaqueJson? Opaque(JsonElement parent, string name) =>
        Optional(parent, name) is { ValueKind: JsonValueKind.Object } value ? OpaqueJson.FromElement(value) : null;
}
