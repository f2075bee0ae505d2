using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Payload;
using Vectorizer.Engine.Vectors;
using Vectorizer.Engine.Vectors.Quantization;
using Vectorizer.Ingestion.Embeddings;

namespace Vectorizer.Server.Api.Qdrant.Json;

/// <summary>
/// Qdrant's collection JSON in and out: <c>CreateCollection</c>, <c>UpdateCollection</c> and <c>CreateFieldIndex</c>
/// bodies parsed into the engine's typed settings (<see cref="CollectionConfig"/>, <see cref="QuantizationSettings"/>,
/// <see cref="PayloadFieldSchema"/>), and the <c>config</c> object of collection info rendered from them. The engine
/// never sees this JSON; <c>collection.json</c> is the engine's own format (<see cref="CollectionConfigFile"/>).
/// </summary>
internal static class CollectionJson
{
    public static CollectionConfig ParseCreate(JsonInput body, HnswDefaults defaults, int maxVectorSize)
    {
        body.ExpectObject();
        var sparse = body.TryGet("sparse_vectors", out var sparseInput) ? ParseSparseVectors(sparseInput) : new Dictionary<string, SparseVectorParams>();
        var embedding = body.TryGet("embedding", out var embeddingInput) ? EmbeddingConfig.Parse(embeddingInput.Element) : null;
        var vectorsInput = (sparse.Count > 0 || embedding is not null) && !body.Has("vectors")
            ? new JsonInput(JsonDocument.Parse("{}").RootElement, "vectors")
            : body.Required("vectors").ExpectObject();
        var vectors = new Dictionary<string, VectorParams>(StringComparer.Ordinal);
        var named = !vectorsInput.Has("size") && !vectorsInput.Has("distance");
        if (named)
        {
            foreach (var property in vectorsInput.Element.EnumerateObject())
            {
                vectors[property.Name] = ParseVectorParams(new JsonInput(property.Value, $"vectors.{property.Name}"), maxVectorSize);
            }

            if (vectors.Count == 0 && sparse.Count == 0 && embedding is null)
            {
                throw vectorsInput.Invalid("at least one vector must be configured");
            }
        }
        else
        {
            vectors[""] = ParseVectorParams(vectorsInput, maxVectorSize);
        }

        var config = new CollectionConfig
        {
            Vectors = vectors,
            NamedVectors = named,
            ShardNumber = body.TryGet("shard_number", out var shards) ? shards.AsUInt32(min: 1) : 1,
            ReplicationFactor = body.TryGet("replication_factor", out var rf) ? rf.AsUInt32(min: 1) : 1,
            WriteConsistencyFactor = body.TryGet("write_consistency_factor", out var wcf) ? wcf.AsUInt32(min: 1) : 1,
            OnDiskPayload = body.TryGet("on_disk_payload", out var odp) && odp.AsBool(),
            Hnsw = defaults.ToConfig().Apply(body.TryGet("hnsw_config", out var h) ? ParseHnswDiff(h) : null),
            Optimizers = ApplyOptimizers(new OptimizersConfig(), body.TryGet("optimizers_config", out var o) ? o : null),
            Wal = ApplyWal(new WalConfig(), body.TryGet("wal_config", out var w) ? w : null),
            Quantization = body.TryGet("quantization_config", out var q) ? ParseQuantization(q) : null,
            StrictMode = body.TryGet("strict_mode_config", out var strict) ? StrictModeJson.Parse(strict) : null,
            Metadata = body.TryGet("metadata", out var metadata) ? OpaqueJson.FromElement(metadata.ExpectObject().Element) : null,
            SparseVectors = sparse,
        };

        // Our extension: embedders for /documents and /search/text, which may add the vectors they write.
        return embedding is null ? config : embedding.ApplyTo(config);
    }

    /// <summary><c>{"name": {"modifier": "idf"|"none", "index": {"full_scan_threshold", "on_disk", "datatype"}}}</c>.</summary>
    private static Dictionary<string, SparseVectorParams> ParseSparseVectors(JsonInput input)
    {
        input.ExpectObject();
        var result = new Dictionary<string, SparseVectorParams>(StringComparer.Ordinal);
        foreach (var property in input.Element.EnumerateObject())
        {
            var parameters = new JsonInput(property.Value, $"sparse_vectors.{property.Name}");
            parameters.ExpectObject();
            result[property.Name] = new SparseVectorParams
            {
                Modifier = parameters.TryGet("modifier", out var modifier) ? ParseModifier(modifier) : null,
                Index = parameters.TryGet("index", out var index) ? ApplySparseIndex(new SparseIndexParams(), index.ExpectObject()) : null,
            };
        }

        return result;
    }

    /// <summary>A sparse vector's <c>modifier</c>: <c>none</c> or <c>idf</c> (Qdrant's examples also write <c>Idf</c>).</summary>
    private static SparseVectorModifier ParseModifier(JsonInput input) => input.AsString() switch
    {
        "idf" or "Idf" => SparseVectorModifier.Idf,
        "none" or "None" => SparseVectorModifier.None,
        var other => throw input.Error($"unknown variant `{other}`, expected `none` or `idf`"),
    };

    /// <summary><c>index: {"full_scan_threshold", "on_disk", "datatype"}</c> over <paramref name="current"/>.</summary>
    private static SparseIndexParams ApplySparseIndex(SparseIndexParams current, JsonInput input) => current with
    {
        FullScanThreshold = input.TryGet("full_scan_threshold", out var threshold) ? threshold.AsInt(min: 0) : current.FullScanThreshold,
        OnDisk = input.TryGet("on_disk", out var onDisk) ? onDisk.AsBool() : current.OnDisk,
        Datatype = input.TryGet("datatype", out var datatype) ? datatype.AsString() : current.Datatype,
    };

    /// <summary>
    /// <c>PUT /collections/{c}/vectors/{name}</c>: <c>{"dense": {"size", "distance", "datatype"}}</c> or
    /// <c>{"sparse": {"modifier", "datatype"}}</c>.
    /// </summary>
    public static (VectorParams? Dense, SparseVectorParams? Sparse) ParseVectorName(JsonInput body, int maxVectorSize)
    {
        body.ExpectObject();
        if (body.TryGet("dense", out var dense))
        {
            body.DenyUnknown("dense");
            dense.ExpectObject();
            dense.DenyUnknown("size", "distance", "multivector_config", "datatype");
            return (ParseVectorParams(dense, maxVectorSize), null);
        }

        if (body.TryGet("sparse", out var sparse))
        {
            body.DenyUnknown("sparse");
            sparse.ExpectObject();
            sparse.DenyUnknown("modifier", "datatype");
            if (sparse.TryGet("datatype", out var datatype) && datatype.AsString() is not ("float32" or "Float32"))
            {
                throw VectorizerException.BadRequest($"datatype `{datatype.AsString()}` is not supported yet; use float32");
            }

            return (null, new SparseVectorParams { Modifier = sparse.TryGet("modifier", out var modifier) ? ParseModifier(modifier) : null });
        }

        throw body.Error("expected `dense` or `sparse`");
    }

    private static VectorParams ParseVectorParams(JsonInput input, int maxVectorSize)
    {
        input.ExpectObject();
        var distanceInput = input.Required("distance");
        var distanceText = distanceInput.AsString();
        if (!DistanceExtensions.TryParse(distanceText, out var distance))
        {
            throw distanceInput.Error($"unknown variant `{distanceText}`, expected one of `Cosine`, `Euclid`, `Dot`, `Manhattan`");
        }

        if (input.TryGet("multivector_config", out _))
        {
            throw VectorizerException.BadRequest("multivector_config is not supported yet");
        }

        if (input.TryGet("datatype", out var datatype) && datatype.AsString() != "float32")
        {
            throw VectorizerException.BadRequest($"datatype `{datatype.AsString()}` is not supported yet; use float32");
        }

        return new VectorParams
        {
            Size = input.Required("size").AsInt(min: 1, max: maxVectorSize),
            Distance = distance,
            HnswConfig = input.TryGet("hnsw_config", out var hnsw) ? ParseHnswDiff(hnsw) : null,
            Quantization = input.TryGet("quantization_config", out var q) ? ParseQuantization(q) : null,
            OnDisk = input.TryGet("on_disk", out var onDisk) ? onDisk.AsBool() : null,
            Datatype = input.TryGet("datatype", out var dt) ? dt.AsString() : null,
        };
    }

    /// <summary>
    /// Qdrant's forms: <c>{"scalar": {"type": "int8", "quantile", "always_ram"}}</c>,
    /// <c>{"binary": {"always_ram", "encoding": "one_bit"}}</c>, <c>{"product": {"compression": "x16", "always_ram"}}</c>.
    /// </summary>
    public static QuantizationSettings ParseQuantization(JsonInput input)
    {
        input.ExpectObject();
        if (input.TryGet("scalar", out var scalar))
        {
            Expect(scalar, "scalar");
            var type = scalar.TryGet("type", out var t) && t.Kind == JsonValueKind.String ? t.AsString() : null;
            if (type != "int8")
            {
                throw VectorizerException.BadRequest($"quantization_config.scalar.type: unknown variant `{type}`, expected `int8`");
            }

            float? quantile = null;
            if (scalar.TryGet("quantile", out var q))
            {
                if (q.Kind != JsonValueKind.Number || q.Element.GetDouble() is < 0.5 or > 1.0)
                {
                    throw VectorizerException.Validation("quantization_config.scalar.quantile: value must be between 0.5 and 1.0");
                }

                quantile = (float)q.Element.GetDouble();
            }

            return new QuantizationSettings(QuantizationKind.Scalar, quantile, AlwaysRam(scalar));
        }

        if (input.TryGet("binary", out var binary))
        {
            Expect(binary, "binary");
            if (binary.TryGet("encoding", out var encoding) && encoding.Kind == JsonValueKind.String && encoding.AsString() != "one_bit")
            {
                throw VectorizerException.BadRequest($"quantization_config.binary.encoding `{encoding.AsString()}` is not supported; use `one_bit`");
            }

            return new QuantizationSettings(QuantizationKind.Binary, AlwaysRam: AlwaysRam(binary));
        }

        if (input.TryGet("product", out var product))
        {
            Expect(product, "product");
            var text = product.TryGet("compression", out var c) && c.Kind == JsonValueKind.String ? c.AsString() : null;
            var ratio = text is ['x', .. var digits] && int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var r) ? r : 0;
            if (!QuantizationSettings.IsSupportedCompression(ratio))
            {
                throw VectorizerException.BadRequest($"quantization_config.product.compression: unknown variant `{text}`, expected one of `x4`, `x8`, `x16`, `x32`, `x64`");
            }

            return new QuantizationSettings(QuantizationKind.Product, AlwaysRam: AlwaysRam(product), Compression: ratio);
        }

        throw input.Error("expected one of `scalar`, `product`, `binary`");
    }

    private static void Expect(JsonInput input, string name)
    {
        if (input.Kind != JsonValueKind.Object)
        {
            throw VectorizerException.BadRequest($"quantization_config.{name}: expected an object");
        }
    }

    private static bool? AlwaysRam(JsonInput input) =>
        input.TryGet("always_ram", out var value) ? value.Kind == JsonValueKind.True : null;

    public static HnswConfigDiff ParseHnswDiff(JsonInput input)
    {
        input.ExpectObject();
        int? Int(string name, int min) => input.TryGet(name, out var v) ? v.AsInt(min: min) : null;
        return new HnswConfigDiff
        {
            M = Int("m", 0),
            EfConstruct = Int("ef_construct", 4),
            FullScanThreshold = Int("full_scan_threshold", 0),
            MaxIndexingThreads = Int("max_indexing_threads", 0),
            OnDisk = input.TryGet("on_disk", out var onDisk) ? onDisk.AsBool() : null,
            PayloadM = Int("payload_m", 0),
            InlineStorage = input.TryGet("inline_storage", out var inline) ? inline.AsBool() : null,
            Ef = Int("ef", 1),
        };
    }

    private static OptimizersConfig ApplyOptimizers(OptimizersConfig config, JsonInput? diff)
    {
        if (diff is not { } input)
        {
            return config;
        }

        input.ExpectObject();
        int? Int(string name, int min) => input.TryGet(name, out var v) ? v.AsInt(min: min) : null;
        var deleted = input.TryGet("deleted_threshold", out var d) ? d.AsDouble() : (double?)null;
        if (deleted is < 0 or > 1)
        {
            throw input.Invalid($"deleted_threshold: value {deleted} invalid, must be from 0 to 1");
        }

        return config with
        {
            DeletedThreshold = deleted ?? config.DeletedThreshold,
            VacuumMinVectorNumber = Int("vacuum_min_vector_number", 100) ?? config.VacuumMinVectorNumber,
            DefaultSegmentNumber = Int("default_segment_number", 0) ?? config.DefaultSegmentNumber,
            MaxSegmentSize = Int("max_segment_size", 1) ?? config.MaxSegmentSize,
            MemmapThreshold = Int("memmap_threshold", 0) ?? config.MemmapThreshold,
            IndexingThreshold = Int("indexing_threshold", 0) ?? config.IndexingThreshold,
            FlushIntervalSec = Int("flush_interval_sec", 0) ?? config.FlushIntervalSec,
            MaxOptimizationThreads = Int("max_optimization_threads", 0) ?? config.MaxOptimizationThreads,
            PreventUnoptimized = input.TryGet("prevent_unoptimized", out var p) ? p.AsBool() : config.PreventUnoptimized,
        };
    }

    private static WalConfig ApplyWal(WalConfig config, JsonInput? diff)
    {
        if (diff is not { } input)
        {
            return config;
        }

        input.ExpectObject();
        return config with
        {
            WalCapacityMb = input.TryGet("wal_capacity_mb", out var c) ? c.AsInt(min: 1) : config.WalCapacityMb,
            WalSegmentsAhead = input.TryGet("wal_segments_ahead", out var a) ? a.AsInt(min: 0) : config.WalSegmentsAhead,
            WalRetainClosed = input.TryGet("wal_retain_closed", out var r) ? r.AsInt(min: 0) : config.WalRetainClosed,
        };
    }

    /// <summary>A quantization change: new settings, or (the string <c>"Disabled"</c>) none.</summary>
    private readonly record struct QuantizationChange(QuantizationSettings? Settings);

    private static QuantizationChange ParseQuantizationChange(JsonInput input) =>
        input.Kind == JsonValueKind.String && input.AsString() == "Disabled" ? new QuantizationChange(null) : new QuantizationChange(ParseQuantization(input));

    /// <summary>PATCH: returns a function applying the changes to the current config (sizes and distances never change).</summary>
    public static Func<CollectionConfig, CollectionConfig> ParseUpdate(JsonInput body)
    {
        body.ExpectObject();
        var sparseDiffs = new Dictionary<string, (SparseVectorModifier? Modifier, JsonInput? Index)>(StringComparer.Ordinal);
        if (body.TryGet("sparse_vectors", out var sparse))
        {
            sparse.ExpectObject();
            foreach (var property in sparse.Element.EnumerateObject())
            {
                var item = new JsonInput(property.Value, $"sparse_vectors.{property.Name}").ExpectObject();
                sparseDiffs[property.Name] = (
                    item.TryGet("modifier", out var modifier) ? ParseModifier(modifier) : null,
                    item.TryGet("index", out var index) ? index.ExpectObject() : null);
            }
        }

        if (body.Has("embedding"))
        {
            throw VectorizerException.BadRequest("embedding can not be changed after the collection is created: its vectors were made by these embedders");
        }

        var vectorDiffs = new Dictionary<string, (HnswConfigDiff? Hnsw, QuantizationChange? Quantization, bool? OnDisk)>(StringComparer.Ordinal);
        if (body.TryGet("vectors", out var vectors))
        {
            vectors.ExpectObject();
            foreach (var property in vectors.Element.EnumerateObject())
            {
                var item = new JsonInput(property.Value, $"vectors.{property.Name}").ExpectObject();
                vectorDiffs[property.Name] = (
                    item.TryGet("hnsw_config", out var h) ? ParseHnswDiff(h) : null,
                    item.TryGet("quantization_config", out var q) ? ParseQuantizationChange(q) : null,
                    item.TryGet("on_disk", out var d) ? d.AsBool() : null);
            }
        }

        var hnsw = body.TryGet("hnsw_config", out var hnswInput) ? ParseHnswDiff(hnswInput) : null;
        JsonInput? optimizers = body.TryGet("optimizers_config", out var optimizersInput) ? optimizersInput : null;
        JsonInput? parameters = body.TryGet("params", out var paramsInput) ? paramsInput.ExpectObject() : null;
        QuantizationChange? quantization = body.TryGet("quantization_config", out var quantizationInput) ? ParseQuantizationChange(quantizationInput) : null;
        var strict = body.TryGet("strict_mode_config", out var strictInput) ? StrictModeJson.Parse(strictInput) : null;
        var metadataPatch = body.TryGet("metadata", out var metadataInput) ? metadataInput.ExpectObject().Element.Clone() : (JsonElement?)null;

        return config =>
        {
            var updatedVectors = new Dictionary<string, VectorParams>(config.Vectors, StringComparer.Ordinal);
            foreach (var (name, diff) in vectorDiffs)
            {
                if (!updatedVectors.TryGetValue(name, out var current))
                {
                    throw VectorizerException.VectorNameNotFound(name);
                }

                updatedVectors[name] = current with
                {
                    HnswConfig = diff.Hnsw is null ? current.HnswConfig : current.HnswConfig?.Merge(diff.Hnsw) ?? diff.Hnsw,
                    Quantization = diff.Quantization is { } vq ? vq.Settings : current.Quantization,
                    OnDisk = diff.OnDisk ?? current.OnDisk,
                };
            }

            var updatedSparse = new Dictionary<string, SparseVectorParams>(config.SparseVectors, StringComparer.Ordinal);
            foreach (var (name, diff) in sparseDiffs)
            {
                if (!updatedSparse.TryGetValue(name, out var current))
                {
                    throw VectorizerException.VectorNameNotFound(name);
                }

                updatedSparse[name] = current with
                {
                    Modifier = diff.Modifier ?? current.Modifier,
                    Index = diff.Index is { } index ? ApplySparseIndex(current.Index ?? new SparseIndexParams(), index) : current.Index,
                };
            }

            var updated = config with
            {
                Vectors = updatedVectors,
                SparseVectors = updatedSparse,
                Hnsw = config.Hnsw.Apply(hnsw),
                Optimizers = ApplyOptimizers(config.Optimizers, optimizers),
                Quantization = quantization is { } q ? q.Settings : config.Quantization,
                StrictMode = strict is null ? config.StrictMode : config.StrictMode?.Merge(strict) ?? strict,
                Metadata = metadataPatch is { } patch ? MergeMetadata(config.Metadata, patch) : config.Metadata,
            };
            if (parameters is { } p)
            {
                updated = updated with
                {
                    ReplicationFactor = p.TryGet("replication_factor", out var rf) ? rf.AsUInt32(min: 1) : updated.ReplicationFactor,
                    WriteConsistencyFactor = p.TryGet("write_consistency_factor", out var wcf) ? wcf.AsUInt32(min: 1) : updated.WriteConsistencyFactor,
                    OnDiskPayload = p.TryGet("on_disk_payload", out var odp) ? odp.AsBool() : updated.OnDiskPayload,
                };
            }

            return updated;
        };
    }

    /// <summary>Metadata keys are merged; a null value removes the key.</summary>
    private static OpaqueJson MergeMetadata(OpaqueJson? current, JsonElement patch)
    {
        var merged = current is { } c ? JsonNode.Parse(c.Utf8)!.AsObject() : [];
        foreach (var property in patch.EnumerateObject())
        {
            if (property.Value.ValueKind == JsonValueKind.Null)
            {
                merged.Remove(property.Name);
            }
            else
            {
                merged[property.Name] = JsonNode.Parse(property.Value.GetRawText());
            }
        }

        return OpaqueJson.FromElement(JsonSerializer.SerializeToElement(merged));
    }

    // ------------------------------------------------------------------ payload indexes

    /// <summary><c>{"field_name": "...", "field_schema": "keyword" | {"type": "keyword", ...}}</c>.</summary>
    public static (string Field, PayloadFieldSchema Schema) ParsePayloadIndex(JsonInput body)
    {
        body.ExpectObject();
        var field = body.Required("field_name").AsString();
        if (field.Length == 0)
        {
            throw body.Required("field_name").Error("field name must not be empty");
        }

        if (!body.TryGet("field_schema", out var schema))
        {
            throw new VectorizerException(ErrorCode.BadRequest, $"Bad request: field_schema is required to index `{field}`");
        }

        if (schema.Kind == JsonValueKind.String)
        {
            return (field, new PayloadFieldSchema(ParseSchemaType(schema), null));
        }

        schema.ExpectObject();
        var type = ParseSchemaType(schema.Required("type"));
        return (field, new PayloadFieldSchema(type, ParsePayloadIndexParams(schema, type)));
    }

    private static PayloadSchemaType ParseSchemaType(JsonInput input)
    {
        var name = input.AsString();
        return PayloadFieldSchema.TryParseType(name, out var type)
            ? type
            : throw input.Invalid($"unknown variant `{name}`, expected one of `keyword`, `integer`, `float`, `geo`, `text`, `bool`, `datetime`, `uuid`");
    }

    /// <summary>The parameters each index type takes (Qdrant's <c>*IndexParams</c>); any other is a validation error (422).</summary>
    private static string[] IndexParamsOf(PayloadSchemaType type) => type switch
    {
        PayloadSchemaType.Keyword or PayloadSchemaType.Uuid => ["type", "is_tenant", "on_disk", "enable_hnsw"],
        PayloadSchemaType.Integer => ["type", "lookup", "range", "is_principal", "on_disk", "enable_hnsw"],
        PayloadSchemaType.Float or PayloadSchemaType.Datetime => ["type", "is_principal", "on_disk", "enable_hnsw"],
        PayloadSchemaType.Text => ["type", "tokenizer", "min_token_len", "max_token_len", "lowercase", "ascii_folding", "phrase_matching", "stopwords", "stemmer", "on_disk", "enable_hnsw"],
        _ => ["type", "on_disk", "enable_hnsw"],
    };

    private static PayloadIndexParams ParsePayloadIndexParams(JsonInput input, PayloadSchemaType type)
    {
        var allowed = IndexParamsOf(type);
        foreach (var property in input.Element.EnumerateObject())
        {
            if (Array.IndexOf(allowed, property.Name) < 0)
            {
                throw input.Invalid($"unknown field `{property.Name}` for a {input.Required("type").AsString()} index, expected one of {string.Join(", ", allowed.Select(a => $"`{a}`"))}");
            }
        }

        bool? Bool(string name) => input.TryGet(name, out var value) ? value.AsBool() : null;
        if (Bool("lookup") == false && Bool("range") == false)
        {
            throw input.Invalid("the 'lookup' and 'range' capabilities can't be both disabled");
        }

        return new PayloadIndexParams
        {
            IsTenant = Bool("is_tenant"),
            Lookup = Bool("lookup"),
            Range = Bool("range"),
            IsPrincipal = Bool("is_principal"),
            OnDisk = Bool("on_disk"),
            EnableHnsw = Bool("enable_hnsw"),
            Text = type == PayloadSchemaType.Text ? ParseTextIndexParams(input) : null,
        };
    }

    /// <summary>
    /// Qdrant's <c>TextIndexParams</c>. Refused (400) rather than ignored: what is not supported yet (built-in stopword
    /// languages, stemmers). Storage options (<c>on_disk</c>, <c>enable_hnsw</c>) and <c>phrase_matching</c> are
    /// accepted: phrases always match.
    /// </summary>
    private static TextIndexParams ParseTextIndexParams(JsonInput p)
    {
        TokenizerKind? kind = null;
        if (p.TryGet("tokenizer", out var tokenizer))
        {
            kind = (tokenizer.Kind == JsonValueKind.String ? tokenizer.AsString() : null) switch
            {
                "word" => TokenizerKind.Word,
                "whitespace" => TokenizerKind.Whitespace,
                "prefix" => TokenizerKind.Prefix,
                "multilingual" => TokenizerKind.Multilingual,
                _ => throw VectorizerException.BadRequest($"field_schema.tokenizer: unknown variant `{Describe(tokenizer)}`, expected one of `prefix`, `whitespace`, `word`, `multilingual`"),
            };
        }

        List<string>? custom = null;
        if (p.TryGet("stopwords", out var stopwords))
        {
            if (stopwords.Kind == JsonValueKind.String)
            {
                throw VectorizerException.BadRequest($"field_schema.stopwords: the built-in `{stopwords.AsString()}` stopword list is not supported yet; give the words as {{\"custom\": [...]}}");
            }

            if (stopwords.Kind != JsonValueKind.Object)
            {
                throw VectorizerException.BadRequest("field_schema.stopwords: expected a language or {\"languages\": [...], \"custom\": [...]}");
            }

            if (stopwords.TryGet("languages", out var languages) && languages.Kind == JsonValueKind.Array && languages.ArrayLength > 0)
            {
                throw VectorizerException.BadRequest("field_schema.stopwords.languages: built-in stopword lists are not supported yet; give the words as \"custom\"");
            }

            if (stopwords.TryGet("custom", out var list))
            {
                if (list.Kind != JsonValueKind.Array)
                {
                    throw VectorizerException.BadRequest("field_schema.stopwords.custom: expected an array of strings");
                }

                custom = [];
                foreach (var item in list.Element.EnumerateArray())
                {
                    custom.Add(item.ValueKind == JsonValueKind.String ? item.GetString()! : throw VectorizerException.BadRequest("field_schema.stopwords.custom: expected an array of strings"));
                }
            }
        }

        if (p.TryGet("stemmer", out _))
        {
            throw VectorizerException.BadRequest("field_schema.stemmer: stemming is not supported yet");
        }

        return new TextIndexParams
        {
            Tokenizer = kind,
            Lowercase = TextBool(p, "lowercase"),
            AsciiFolding = TextBool(p, "ascii_folding"),
            MinTokenLength = Length(p, "min_token_len"),
            MaxTokenLength = Length(p, "max_token_len"),
            Stopwords = custom,
            PhraseMatching = TextBool(p, "phrase_matching"),
        };
    }

    private static bool? TextBool(JsonInput parent, string name) => parent.TryGet(name, out var value)
        ? value.Kind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw VectorizerException.BadRequest($"field_schema.{name}: expected a boolean, got {Describe(value)}"),
        }
        : null;

    private static int? Length(JsonInput parent, string name) => parent.TryGet(name, out var value)
        ? value.Kind == JsonValueKind.Number && value.Element.TryGetInt32(out var length) && length >= 0
            ? length
            : throw VectorizerException.BadRequest($"field_schema.{name}: expected a non-negative integer, got {Describe(value)}")
        : null;

    private static string Describe(JsonInput value) => value.Kind == JsonValueKind.String ? value.Element.GetString()! : value.Element.GetRawText();

    // ------------------------------------------------------------------ output

    /// <summary>The <c>config</c> object of collection info (Qdrant's <c>CollectionConfig</c>).</summary>
    public static void WriteConfig(Utf8JsonWriter writer, CollectionConfig config)
    {
        writer.WriteStartObject();
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
        if (config.StrictMode is { } strict)
        {
            writer.WritePropertyName("strict_mode_config");
            StrictModeJson.Write(writer, strict);
        }

        if (config.Metadata is { } metadata)
        {
            writer.WritePropertyName("metadata");
            metadata.WriteTo(writer);
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
                if (quantization.Quantile is { } quantile)
                {
                    writer.WriteNumber("quantile", quantile);
                }

                break;
            case QuantizationKind.Binary:
                writer.WriteStartObject("binary");
                break;
            default:
                writer.WriteStartObject("product");
                writer.WriteString("compression", "x" + quantization.Compression.ToString(CultureInfo.InvariantCulture));
                break;
        }

        WriteOptional(writer, "always_ram", quantization.AlwaysRam);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    /// <summary>An index's <c>params</c> in collection info: Qdrant's <c>PayloadSchemaParams</c> (with its <c>type</c>).</summary>
    public static void WritePayloadIndexParams(Utf8JsonWriter writer, PayloadFieldSchema schema)
    {
        var parameters = schema.Params!;
        writer.WriteStartObject();
        writer.WriteString("type", schema.TypeName);
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

    private static void WriteOptional(Utf8JsonWriter writer, string name, int? value)
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
}
