using System.Text.Json;
using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Payload;
using Vectorizer.Engine.Vectors;

namespace Vectorizer.Engine.Collections;

/// <summary>
/// The JSON form of <see cref="CollectionConfig"/>: Qdrant's <c>CollectionConfig</c> shape
/// (<c>params</c>, <c>hnsw_config</c>, <c>optimizer_config</c>, <c>wal_config</c>, …). Used for
/// <c>collection.json</c> and for the <c>config</c> section of collection info.
/// </summary>
public static class CollectionConfigJson
{
    public static void Write(Utf8JsonWriter writer, CollectionConfig config) => Write(writer, config, persisted: false);

    /// <summary>The API's <c>config</c> object; the persisted form adds the payload schema (the API reports it beside the config).</summary>
    private static void Write(Utf8JsonWriter writer, CollectionConfig config, bool persisted)
    {
        writer.WriteStartObject();
        writer.WritePropertyName("params");
        writer.WriteStartObject();
        writer.WritePropertyName("vectors");
        if (config.NamedVectors)
        {
            writer.WriteStartObject();
            foreach (var (name, vector) in config.Vectors)
            {
                writer.WritePropertyName(name);
                JsonSerializer.Serialize(writer, vector);
            }

            writer.WriteEndObject();
        }
        else if (config.Vectors.TryGetValue("", out var single))
        {
            JsonSerializer.Serialize(writer, single);
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
        if (config.SparseVectors is { } sparse)
        {
            writer.WritePropertyName("sparse_vectors");
            sparse.WriteTo(writer);
        }

        writer.WriteEndObject();
        writer.WritePropertyName("hnsw_config");
        JsonSerializer.Serialize(writer, config.Hnsw);
        writer.WritePropertyName("optimizer_config");
        JsonSerializer.Serialize(writer, config.Optimizers);
        writer.WritePropertyName("wal_config");
        JsonSerializer.Serialize(writer, config.Wal);
        writer.WritePropertyName("quantization_config");
        if (config.QuantizationConfig is { } quantization)
        {
            quantization.WriteTo(writer);
        }
        else
        {
            writer.WriteNullValue();
        }

        if (config.StrictModeConfig is { } strict)
        {
            writer.WritePropertyName("strict_mode_config");
            strict.WriteTo(writer);
        }

        if (config.Metadata is { } metadata)
        {
            writer.WritePropertyName("metadata");
            metadata.WriteTo(writer);
        }

        if (persisted && config.Embedding is { } embedding)
        {
            writer.WritePropertyName("embedding");
            embedding.WriteTo(writer);
        }

        if (persisted && config.PayloadSchema.Count > 0)
        {
            writer.WriteStartObject("payload_schema");
            foreach (var (field, schema) in config.PayloadSchema)
            {
                writer.WriteStartObject(field);
                writer.WriteString("type", schema.TypeName);
                if (schema.Params is { } parameters)
                {
                    writer.WritePropertyName("params");
                    parameters.WriteTo(writer);
                }

                writer.WriteEndObject();
            }

            writer.WriteEndObject();
        }

        writer.WriteEndObject();
    }

    private static Dictionary<string, PayloadFieldSchema> ReadPayloadSchema(JsonElement root)
    {
        var schema = new Dictionary<string, PayloadFieldSchema>(StringComparer.Ordinal);
        if (root.TryGetProperty("payload_schema", out var fields) && fields.ValueKind == JsonValueKind.Object)
        {
            foreach (var field in fields.EnumerateObject())
            {
                if (!PayloadFieldSchema.TryParseType(field.Value.GetProperty("type").GetString(), out var type))
                {
                    throw new JsonException($"unknown payload index type for `{field.Name}`");
                }

                schema[field.Name] = new PayloadFieldSchema(type, Optional(field.Value, "params"));
            }
        }

        return schema;
    }

    public static byte[] ToUtf8(CollectionConfig config)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            Write(writer, config, persisted: true);
        }

        return buffer.ToArray();
    }

    /// <summary>Reads a config written by <see cref="Write"/>.</summary>
    public static CollectionConfig Read(JsonElement root)
    {
        try
        {
            var parameters = root.GetProperty("params");
            var vectorsElement = parameters.GetProperty("vectors");
            var vectors = new Dictionary<string, VectorParams>(StringComparer.Ordinal);
            var named = !vectorsElement.TryGetProperty("size", out _);
            if (named)
            {
                foreach (var property in vectorsElement.EnumerateObject())
                {
                    vectors[property.Name] = property.Value.Deserialize<VectorParams>()!;
                }
            }
            else
            {
                vectors[""] = vectorsElement.Deserialize<VectorParams>()!;
            }

            return new CollectionConfig
            {
                Vectors = vectors,
                NamedVectors = named,
                ShardNumber = parameters.TryGetProperty("shard_number", out var shards) ? shards.GetInt32() : 1,
                ReplicationFactor = parameters.TryGetProperty("replication_factor", out var rf) ? rf.GetInt32() : 1,
                WriteConsistencyFactor = parameters.TryGetProperty("write_consistency_factor", out var wcf) ? wcf.GetInt32() : 1,
                OnDiskPayload = parameters.TryGetProperty("on_disk_payload", out var odp) && odp.GetBoolean(),
                SparseVectors = Optional(parameters, "sparse_vectors"),
                Hnsw = root.GetProperty("hnsw_config").Deserialize<HnswConfig>()!,
                Optimizers = root.GetProperty("optimizer_config").Deserialize<OptimizersConfig>()!,
                Wal = root.GetProperty("wal_config").Deserialize<WalConfig>()!,
                QuantizationConfig = Optional(root, "quantization_config"),
                StrictModeConfig = Optional(root, "strict_mode_config"),
                Metadata = Optional(root, "metadata"),
                PayloadSchema = ReadPayloadSchema(root),
                Embedding = Optional(root, "embedding"),
            };
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new VectorizerException(ErrorCode.StorageFailure, $"Invalid collection config: {e.Message}", e);
        }
    }

    private static JsonElement? Optional(JsonElement parent, string name) =>
        parent.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value.Clone() : null;

    /// <summary>Checks the limits Qdrant enforces on a new or changed config.</summary>
    public static void Validate(CollectionConfig config, int maxVectorSize)
    {
        foreach (var (name, _) in config.SparseVectorSpecs())
        {
            if (config.Vectors.ContainsKey(name))
            {
                throw VectorizerException.Validation($"sparse_vectors.{name}: the name is already used by a dense vector");
            }
        }

        foreach (var (name, vector) in config.Vectors)
        {
            var label = name.Length == 0 ? "vectors" : $"vectors.{name}";
            if (vector.Size < 1 || vector.Size > maxVectorSize)
            {
                throw VectorizerException.Validation($"{label}.size: value {vector.Size} invalid, must be from 1 to {maxVectorSize}");
            }

            if (!Enum.IsDefined(vector.Distance))
            {
                throw VectorizerException.Validation($"{label}.distance: invalid distance");
            }

            ValidateHnsw(config.HnswFor(name), $"{label}.hnsw_config");
        }

        ValidateHnsw(config.Hnsw, "hnsw_config");
        var optimizers = config.Optimizers;
        if (optimizers.DeletedThreshold is < 0 or > 1)
        {
            throw VectorizerException.Validation($"optimizers_config.deleted_threshold: value {optimizers.DeletedThreshold} invalid, must be from 0 to 1");
        }

        if (optimizers.VacuumMinVectorNumber < 100)
        {
            throw VectorizerException.Validation($"optimizers_config.vacuum_min_vector_number: value {optimizers.VacuumMinVectorNumber} invalid, must be 100 or larger");
        }

        if (config.Wal.WalCapacityMb < 1)
        {
            throw VectorizerException.Validation($"wal_config.wal_capacity_mb: value {config.Wal.WalCapacityMb} invalid, must be 1 or larger");
        }
    }

    private static void ValidateHnsw(HnswConfig hnsw, string label)
    {
        if (hnsw.M is < 0 or > 512)
        {
            throw VectorizerException.Validation($"{label}.m: value {hnsw.M} invalid, must be from 0 to 512");
        }

        if (hnsw.EfConstruct < 4)
        {
            throw VectorizerException.Validation($"{label}.ef_construct: value {hnsw.EfConstruct} invalid, must be 4 or larger");
        }

        if (hnsw.FullScanThreshold < 0)
        {
            throw VectorizerException.Validation($"{label}.full_scan_threshold: value {hnsw.FullScanThreshold} invalid, must be 0 or larger");
        }

        if (hnsw.Ef is < 1)
        {
            throw VectorizerException.Validation($"{label}.ef: value {hnsw.Ef} invalid, must be 1 or larger");
        }
    }
}
