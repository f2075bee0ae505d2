using System.Text.Json;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Payload;
using Vectorizer.Engine.Vectors;
using Vectorizer.Engine.Vectors.Quantization;
using Vectorizer.Ingestion.Embeddings;

namespace Vectorizer.Server.Api.Qdrant.Json;

/// <summary>Parses <c>CreateCollection</c> and <c>UpdateCollection</c> bodies.</summary>
internal static class CollectionJson
{
    public static CollectionConfig ParseCreate(JsonInput body, HnswDefaults defaults, int maxVectorSize)
    {
        body.ExpectObject();
        var sparse = body.TryGet("sparse_vectors", out var sparseInput) && sparseInput.Kind != JsonValueKind.Null ? ParseSparseVectors(sparseInput) : null;
        var embedding = body.TryGet("embedding", out var embeddingInput) ? EmbeddingConfig.Parse(embeddingInput.Element) : null;
        var vectorsInput = (sparse is not null || embedding is not null) && !body.Has("vectors")
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

            if (vectors.Count == 0 && sparse is null && embedding is null)
            {
                throw vectorsInput.Invalid("at least one vector must be configured");
            }
        }
        else
        {
            vectors[""] = ParseVectorParams(vectorsInput, maxVectorSize);
        }

        var hnsw = new HnswConfig { M = defaults.M, EfConstruct = defaults.EfConstruction }
            .Apply(body.TryGet("hnsw_config", out var h) ? ParseHnswDiff(h) : null);
        var config = new CollectionConfig
        {
            Vectors = vectors,
            NamedVectors = named,
            ShardNumber = body.TryGet("shard_number", out var shards) ? shards.AsInt(min: 1) : 1,
            ReplicationFactor = body.TryGet("replication_factor", out var rf) ? rf.AsInt(min: 1) : 1,
            WriteConsistencyFactor = body.TryGet("write_consistency_factor", out var wcf) ? wcf.AsInt(min: 1) : 1,
            OnDiskPayload = body.TryGet("on_disk_payload", out var odp) && odp.AsBool(),
            Hnsw = hnsw,
            Optimizers = ApplyOptimizers(new OptimizersConfig(), body.TryGet("optimizers_config", out var o) ? o : null),
            Wal = ApplyWal(new WalConfig(), body.TryGet("wal_config", out var w) ? w : null),
            QuantizationConfig = body.TryGet("quantization_config", out var q) ? ParseQuantization(q) : null,
            StrictModeConfig = body.TryGet("strict_mode_config", out var strict) ? strict.ExpectObject().Element.Clone() : null,
            Metadata = body.TryGet("metadata", out var metadata) ? metadata.ExpectObject().Element.Clone() : null,
            SparseVectors = sparse,
        };

        // Our extension: embedders for /documents and /search/text, which may add the vectors they write.
        return embedding is null ? config : embedding.ApplyTo(config);
    }

    /// <summary><c>{"name": {"modifier": "idf"|"none", "index": {...}}}</c>: validated, kept as given.</summary>
    private static JsonElement? ParseSparseVectors(JsonInput input)
    {
        input.ExpectObject();
        if (!input.Element.EnumerateObject().Any())
        {
            return null;
        }

        foreach (var property in input.Element.EnumerateObject())
        {
            var parameters = new JsonInput(property.Value, $"sparse_vectors.{property.Name}");
            parameters.ExpectObject();
            if (parameters.TryGet("modifier", out var modifier) && modifier.Kind != JsonValueKind.Null && modifier.AsString() is not ("idf" or "none"))
            {
                throw modifier.Error($"unknown variant `{modifier.AsString()}`, expected `none` or `idf`");
            }

            if (parameters.TryGet("index", out var index) && index.Kind != JsonValueKind.Null)
            {
                index.ExpectObject();
                if (index.TryGet("full_scan_threshold", out var threshold) && threshold.Kind != JsonValueKind.Null)
                {
                    threshold.AsInt(min: 0);
                }
            }
        }

        return input.Element.Clone();
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
            QuantizationConfig = input.TryGet("quantization_config", out var q) ? ParseQuantization(q) : null,
            OnDisk = input.TryGet("on_disk", out var onDisk) ? onDisk.AsBool() : null,
            Datatype = input.TryGet("datatype", out var dt) ? dt.AsString() : null,
        };
    }

    private static JsonElement ParseQuantization(JsonInput input)
    {
        input.ExpectObject();
        if (!input.Has("scalar") && !input.Has("product") && !input.Has("binary"))
        {
            throw input.Error("expected one of `scalar`, `product`, `binary`");
        }

        _ = QuantizationSettings.FromJson(input.Element); // validates
        return input.Element.Clone();
    }

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

    /// <summary>PATCH: returns a function applying the changes to the current config (sizes and distances never change).</summary>
    public static Func<CollectionConfig, CollectionConfig> ParseUpdate(JsonInput body)
    {
        body.ExpectObject();
        if (body.TryGet("sparse_vectors", out var sparse) && sparse.Kind == JsonValueKind.Object && sparse.Element.EnumerateObject().Any())
        {
            throw VectorizerException.BadRequest("sparse_vectors parameters can not be changed after the collection is created");
        }

        if (body.Has("embedding"))
        {
            throw VectorizerException.BadRequest("embedding can not be changed after the collection is created: its vectors were made by these embedders");
        }

        var vectorDiffs = new Dictionary<string, (HnswConfigDiff? Hnsw, JsonElement? Quantization, bool? OnDisk)>(StringComparer.Ordinal);
        if (body.TryGet("vectors", out var vectors))
        {
            vectors.ExpectObject();
            foreach (var property in vectors.Element.EnumerateObject())
            {
                var item = new JsonInput(property.Value, $"vectors.{property.Name}").ExpectObject();
                vectorDiffs[property.Name] = (
                    item.TryGet("hnsw_config", out var h) ? ParseHnswDiff(h) : null,
                    item.TryGet("quantization_config", out var q) ? ParseQuantizationDiff(q) : null,
                    item.TryGet("on_disk", out var d) ? d.AsBool() : null);
            }
        }

        var hnsw = body.TryGet("hnsw_config", out var hnswInput) ? ParseHnswDiff(hnswInput) : null;
        JsonInput? optimizers = body.TryGet("optimizers_config", out var optimizersInput) ? optimizersInput : null;
        JsonInput? parameters = body.TryGet("params", out var paramsInput) ? paramsInput.ExpectObject() : null;
        JsonElement? quantization = body.TryGet("quantization_config", out var quantizationInput) ? ParseQuantizationDiff(quantizationInput) : null;
        JsonElement? strict = body.TryGet("strict_mode_config", out var strictInput) ? strictInput.ExpectObject().Element.Clone() : null;
        JsonInput? metadata = body.TryGet("metadata", out var metadataInput) ? metadataInput.ExpectObject() : null;
        var metadataPatch = metadata?.Element.Clone();

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
                    HnswConfig = diff.Hnsw is null ? current.HnswConfig : Merge(current.HnswConfig, diff.Hnsw),
                    QuantizationConfig = diff.Quantization is { } vq ? (IsDisabled(vq) ? null : vq) : current.QuantizationConfig,
                    OnDisk = diff.OnDisk ?? current.OnDisk,
                };
            }

            var updated = config with
            {
                Vectors = updatedVectors,
                Hnsw = config.Hnsw.Apply(hnsw),
                Optimizers = ApplyOptimizers(config.Optimizers, optimizers),
                QuantizationConfig = quantization is { } q ? (IsDisabled(q) ? null : q) : config.QuantizationConfig,
                StrictModeConfig = strict ?? config.StrictModeConfig,
                Metadata = metadataPatch is { } patch ? MergeMetadata(config.Metadata, patch) : config.Metadata,
            };
            if (parameters is { } p)
            {
                updated = updated with
                {
                    ReplicationFactor = p.TryGet("replication_factor", out var rf) ? rf.AsInt(min: 1) : updated.ReplicationFactor,
                    WriteConsistencyFactor = p.TryGet("write_consistency_factor", out var wcf) ? wcf.AsInt(min: 1) : updated.WriteConsistencyFactor,
                    OnDiskPayload = p.TryGet("on_disk_payload", out var odp) ? odp.AsBool() : updated.OnDiskPayload,
                };
            }

            return updated;
        };
    }

    private static JsonElement ParseQuantizationDiff(JsonInput input) =>
        input.Kind == JsonValueKind.String && input.AsString() == "Disabled" ? input.Element.Clone() : ParseQuantization(input);

    private static bool IsDisabled(JsonElement quantization) => quantization.ValueKind == JsonValueKind.String;

    private static HnswConfigDiff Merge(HnswConfigDiff? current, HnswConfigDiff diff) => current is null ? diff : new HnswConfigDiff
    {
        M = diff.M ?? current.M,
        EfConstruct = diff.EfConstruct ?? current.EfConstruct,
        FullScanThreshold = diff.FullScanThreshold ?? current.FullScanThreshold,
        MaxIndexingThreads = diff.MaxIndexingThreads ?? current.MaxIndexingThreads,
        OnDisk = diff.OnDisk ?? current.OnDisk,
        PayloadM = diff.PayloadM ?? current.PayloadM,
        InlineStorage = diff.InlineStorage ?? current.InlineStorage,
        Ef = diff.Ef ?? current.Ef,
    };

    /// <summary>Metadata keys are merged; a null value removes the key.</summary>
    private static JsonElement MergeMetadata(JsonElement? current, JsonElement patch)
    {
        var merged = current is { } c ? System.Text.Json.Nodes.JsonNode.Parse(c.GetRawText())!.AsObject() : [];
        foreach (var property in patch.EnumerateObject())
        {
            if (property.Value.ValueKind == JsonValueKind.Null)
            {
                merged.Remove(property.Name);
            }
            else
            {
                merged[property.Name] = System.Text.Json.Nodes.JsonNode.Parse(property.Value.GetRawText());
            }
        }

        return JsonSerializer.SerializeToElement(merged);
    }

    /// <summary><c>{"field_name": "...", "field_schema": "keyword" | {"type": "keyword", ...}}</c>.</summary>
    public static (string Field, PayloadFieldSchema Schema) ParsePayloadIndex(JsonInput body)
    {
        body.ExpectObject();
        var field = body.Required("field_name").AsString();
        if (field.Length == 0)
        {
            throw body.Required("field_name").Error("field name must not be empty");
        }

        if (!body.TryGet("field_schema", out var schema) || schema.Kind == JsonValueKind.Null)
        {
            throw new VectorizerException(ErrorCode.BadRequest, $"Bad request: field_schema is required to index `{field}`");
        }

        if (schema.Kind == JsonValueKind.String)
        {
            return (field, new PayloadFieldSchema(ParseSchemaType(schema), null));
        }

        schema.ExpectObject();
        return (field, new PayloadFieldSchema(ParseSchemaType(schema.Required("type")), schema.Element.Clone()));
    }

    private static PayloadSchemaType ParseSchemaType(JsonInput input)
    {
        var name = input.AsString();
        return PayloadFieldSchema.TryParseType(name, out var type)
            ? type
            : throw input.Error($"unknown variant `{name}`, expected one of `keyword`, `integer`, `float`, `geo`, `text`, `bool`, `datetime`, `uuid`");
    }
}
