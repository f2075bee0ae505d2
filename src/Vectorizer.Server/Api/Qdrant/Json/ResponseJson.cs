using System.Text.Json;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Operations;
using Vectorizer.Engine.Points;
using Vectorizer.Engine.Sparse;
using Vectorizer.Server.Application;

namespace Vectorizer.Server.Api.Qdrant.Json;

/// <summary>Writes engine results in Qdrant's response shapes.</summary>
internal static class ResponseJson
{
    public static void Id(Utf8JsonWriter writer, PointId id)
    {
        if (id.IsUuid)
        {
            writer.WriteStringValue(id.ToGuid());
        }
        else
        {
            writer.WriteNumberValue(id.Number);
        }
    }

    public static void UpdateResult(Utf8JsonWriter writer, UpdateResult result)
    {
        writer.WriteStartObject();
        writer.WriteNumber("operation_id", result.OperationId);
        writer.WriteString("status", result.Status == UpdateStatus.Completed ? "completed" : "acknowledged");
        writer.WriteEndObject();
    }

    /// <summary>A single-vector collection returns its vector as a plain array; named vectors as an object.</summary>
    /// <summary>With sparse vectors the output is always an object (the unnamed dense vector under <c>""</c>), as in Qdrant.</summary>
    public static void Vectors(Utf8JsonWriter writer, IReadOnlyDictionary<string, float[]> vectors, bool named, IReadOnlyDictionary<string, SparseVector>? sparse = null)
    {
        writer.WritePropertyName("vector");
        if (!named && sparse is null && vectors.TryGetValue("", out var single))
        {
            FloatArray(writer, single);
            return;
        }

        writer.WriteStartObject();
        foreach (var (name, vector) in vectors)
        {
            writer.WritePropertyName(name);
            FloatArray(writer, vector);
        }

        foreach (var (name, vector) in sparse ?? new Dictionary<string, SparseVector>())
        {
            writer.WriteStartObject(name);
            writer.WriteStartArray("indices");
            foreach (var index in vector.Indices)
            {
                writer.WriteNumberValue(index);
            }

            writer.WriteEndArray();
            writer.WritePropertyName("values");
            FloatArray(writer, vector.Values);
            writer.WriteEndObject();
        }

        writer.WriteEndObject();
    }

    public static void FloatArray(Utf8JsonWriter writer, float[] values)
    {
        writer.WriteStartArray();
        foreach (var value in values)
        {
            writer.WriteNumberValue(value);
        }

        writer.WriteEndArray();
    }

    public static void Record(Utf8JsonWriter writer, PointRecord record, bool named)
    {
        writer.WriteStartObject();
        writer.WritePropertyName("id");
        Id(writer, record.Id);
        if (record.Payload is { } payload)
        {
            writer.WritePropertyName("payload");
            payload.Root.WriteTo(writer);
        }

        if (record.Vectors is { } vectors)
        {
            Vectors(writer, vectors, named, record.Sparse);
        }

        OrderValue(writer, record.OrderValue);
        writer.WriteEndObject();
    }

    /// <summary><c>order_value</c>: an integer when the value is whole (integer and datetime indexes), else a float.</summary>
    private static void OrderValue(Utf8JsonWriter writer, double? value)
    {
        if (value is not { } orderValue)
        {
            return;
        }

        writer.WritePropertyName("order_value");
        if (orderValue == Math.Floor(orderValue) && Math.Abs(orderValue) < 9e15)
        {
            writer.WriteNumberValue((long)orderValue);
        }
        else
        {
            writer.WriteNumberValue(orderValue);
        }
    }

    public static void ScoredPoint(Utf8JsonWriter writer, ScoredPoint point, bool named)
    {
        writer.WriteStartObject();
        writer.WritePropertyName("id");
        Id(writer, point.Id);
        writer.WriteNumber("version", point.Version);
        writer.WriteNumber("score", point.Score);
        if (point.Payload is { } payload)
        {
            writer.WritePropertyName("payload");
            payload.Root.WriteTo(writer);
        }

        if (point.Vectors is { } vectors)
        {
            Vectors(writer, vectors, named, point.Sparse);
        }

        OrderValue(writer, point.OrderValue);
        writer.WriteEndObject();
    }

    public static void QueryResponse(Utf8JsonWriter writer, IReadOnlyList<ScoredPoint> points, bool named)
    {
        writer.WriteStartObject();
        writer.WriteStartArray("points");
        foreach (var point in points)
        {
            ScoredPoint(writer, point, named);
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    /// <summary>A list of scored points (the legacy search, recommend and discover endpoints answer this).</summary>
    public static void ScoredPoints(Utf8JsonWriter writer, IReadOnlyList<ScoredPoint> points, bool named)
    {
        writer.WriteStartArray();
        foreach (var point in points)
        {
            ScoredPoint(writer, point, named);
        }

        writer.WriteEndArray();
    }

    /// <summary><c>GroupsResult</c>: <c>{"groups": [{"id", "hits", "lookup"}]}</c>.</summary>
    public static void Groups(Utf8JsonWriter writer, GroupsAnswer answer, bool named)
    {
        writer.WriteStartObject();
        writer.WriteStartArray("groups");
        for (var i = 0; i < answer.Groups.Count; i++)
        {
            var group = answer.Groups[i];
            writer.WriteStartObject();
            writer.WritePropertyName("id");
            if (group.Id.IsText)
            {
                writer.WriteStringValue(group.Id.Text);
            }
            else
            {
                writer.WriteNumberValue(group.Id.Integer);
            }

            writer.WritePropertyName("hits");
            ScoredPoints(writer, group.Hits, named);
            if (answer.Lookups is { } lookups)
            {
                writer.WritePropertyName("lookup");
                if (lookups[i] is { } record)
                {
                    Record(writer, record, answer.LookupCollection!.Config.NamedVectors);
                }
                else
                {
                    writer.WriteNullValue();
                }
            }

            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    /// <summary><c>FacetResponse</c>: <c>{"hits": [{"value", "count"}]}</c>.</summary>
    public static void Facet(Utf8JsonWriter writer, IReadOnlyList<FacetHit> hits)
    {
        writer.WriteStartObject();
        writer.WriteStartArray("hits");
        foreach (var hit in hits)
        {
            writer.WriteStartObject();
            writer.WritePropertyName("value");
            switch (hit.Value.Kind)
            {
                case FacetValueKind.Keyword:
                    writer.WriteStringValue(hit.Value.Keyword);
                    break;
                case FacetValueKind.Integer:
                    writer.WriteNumberValue(hit.Value.Integer);
                    break;
                default:
                    writer.WriteBooleanValue(hit.Value.Boolean);
                    break;
            }

            writer.WriteNumber("count", hit.Count);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    /// <summary><c>SearchMatrixPairsResponse</c>: <c>{"pairs": [{"a", "b", "score"}]}</c>.</summary>
    public static void MatrixPairs(Utf8JsonWriter writer, SearchMatrix matrix)
    {
        writer.WriteStartObject();
        writer.WriteStartArray("pairs");
        foreach (var entry in matrix.Entries)
        {
            writer.WriteStartObject();
            writer.WritePropertyName("a");
            Id(writer, matrix.Ids[entry.Row]);
            writer.WritePropertyName("b");
            Id(writer, matrix.Ids[entry.Column]);
            writer.WriteNumber("score", entry.Score);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    /// <summary><c>SearchMatrixOffsetsResponse</c>: the matrix in coordinate form, indexes into <c>ids</c>.</summary>
    public static void MatrixOffsets(Utf8JsonWriter writer, SearchMatrix matrix)
    {
        writer.WriteStartObject();
        writer.WriteStartArray("offsets_row");
        foreach (var entry in matrix.Entries)
        {
            writer.WriteNumberValue(entry.Row);
        }

        writer.WriteEndArray();
        writer.WriteStartArray("offsets_col");
        foreach (var entry in matrix.Entries)
        {
            writer.WriteNumberValue(entry.Column);
        }

        writer.WriteEndArray();
        writer.WriteStartArray("scores");
        foreach (var entry in matrix.Entries)
        {
            writer.WriteNumberValue(entry.Score);
        }

        writer.WriteEndArray();
        writer.WriteStartArray("ids");
        foreach (var id in matrix.Ids)
        {
            Id(writer, id);
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    public static void CollectionInfo(Utf8JsonWriter writer, CollectionInfo info)
    {
        writer.WriteStartObject();
        writer.WriteString("status", info.Status.ToString().ToLowerInvariant());
        if (info.OptimizerError is { } error)
        {
            writer.WriteStartObject("optimizer_status");
            writer.WriteString("error", error);
            writer.WriteEndObject();
        }
        else
        {
            writer.WriteString("optimizer_status", "ok");
        }

        writer.WriteNumber("indexed_vectors_count", info.IndexedVectorsCount);
        writer.WriteNumber("points_count", info.PointsCount);
        writer.WriteNumber("segments_count", info.SegmentsCount);
        writer.WritePropertyName("config");
        CollectionJson.WriteConfig(writer, info.Config);
        writer.WriteStartObject("payload_schema");
        foreach (var index in info.PayloadSchema ?? [])
        {
            writer.WriteStartObject(index.Field);
            writer.WriteString("data_type", index.Schema.TypeName);
            if (index.Schema.Params is not null)
            {
                writer.WritePropertyName("params");
                CollectionJson.WritePayloadIndexParams(writer, index.Schema);
            }

            writer.WriteNumber("points", index.Points);
            writer.WriteEndObject();
        }

        writer.WriteEndObject();
        if (info.Storage is { } storage)
        {
            // Vectorizer's own: bytes by place (not in Qdrant's schema; clients ignore unknown fields).
            writer.WriteStartObject("storage");
            writer.WriteStartObject("vectors");
            foreach (var vector in storage.Vectors)
            {
                writer.WriteStartObject(vector.Name);
                writer.WriteNumber("ram_bytes", vector.VectorsRamBytes + vector.QuantizedRamBytes + vector.IndexRamBytes);
                writer.WriteNumber("disk_bytes", vector.VectorsDiskBytes);
                writer.WriteNumber("original_ram_bytes", vector.VectorsRamBytes);
                writer.WriteNumber("original_disk_bytes", vector.VectorsDiskBytes);
                writer.WriteNumber("quantized_ram_bytes", vector.QuantizedRamBytes);
                writer.WriteNumber("index_ram_bytes", vector.IndexRamBytes);
                writer.WriteString("quantization", vector.Quantization); // null when not quantized

                writer.WriteEndObject();
            }

            writer.WriteEndObject();
            writer.WriteNumber("payload_ram_bytes", storage.PayloadRamBytes);
            writer.WriteNumber("payload_disk_bytes", storage.PayloadDiskBytes);
            writer.WriteNumber("disk_bytes", storage.DiskBytes);
            writer.WriteEndObject();
        }

        writer.WriteStartObject("update_queue");
        writer.WriteNumber("length", 0);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }
}
