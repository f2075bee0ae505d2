using System.Text.Json;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Operations;
using Vectorizer.Engine.Payload;
using Vectorizer.Engine.Points;
using Vectorizer.Engine.Sparse;

namespace Vectorizer.Server.Api.Qdrant.Json;

/// <summary>Parses point ids, vectors, payloads, point lists and selectors.</summary>
internal static class PointJson
{
    /// <summary>An unsigned 64-bit integer or a UUID string (a string of digits is not an id, as in Qdrant).</summary>
    public static PointId ParseId(JsonInput input)
    {
        if (input.Kind == JsonValueKind.Number && input.Element.TryGetUInt64(out var number))
        {
            return PointId.FromNumber(number);
        }

        if (input.Kind == JsonValueKind.String && PointId.TryParseUuid(input.Element.GetString()!, out var uuid))
        {
            return uuid;
        }

        var raw = input.Kind == JsonValueKind.String ? input.Element.GetString() : input.Element.GetRawText();
        throw input.Error($"value {raw} is not a valid point ID, valid values are either an unsigned integer or a UUID");
    }

    public static List<PointId> ParseIds(JsonInput input)
    {
        var ids = new List<PointId>();
        foreach (var item in input.Items())
        {
            ids.Add(ParseId(item));
        }

        return ids;
    }

    /// <summary>
    /// Qdrant's <c>VectorStruct</c>: an array (the unnamed vector) or an object of named vectors, dense (arrays) or
    /// sparse (<c>{indices, values}</c>). Multi-vectors and inference objects are rejected with a clear message.
    /// </summary>
    public static (IReadOnlyDictionary<string, float[]> Dense, IReadOnlyDictionary<string, SparseVector>? Sparse) ParseVectors(JsonInput input)
    {
        if (input.Kind == JsonValueKind.Array)
        {
            return (VectorMap.Single("", ParseDense(input)), null);
        }

        if (input.Kind != JsonValueKind.Object)
        {
            throw input.Error($"invalid type: {JsonInput.Describe(input.Element)}, expected a vector (array of numbers) or an object of named vectors");
        }

        var vectors = new Dictionary<string, float[]>(StringComparer.Ordinal);
        Dictionary<string, SparseVector>? sparse = null;
        foreach (var property in input.Element.EnumerateObject())
        {
            var value = new JsonInput(property.Value, $"{input.Path}.{property.Name}");
            if (value.Kind == JsonValueKind.Object)
            {
                (sparse ??= new Dictionary<string, SparseVector>(StringComparer.Ordinal))[property.Name] = ParseSparse(value, property.Name);
            }
            else
            {
                vectors[property.Name] = ParseDense(value);
            }
        }

        return (vectors, sparse);
    }

    /// <summary><c>{"indices": [...], "values": [...]}</c>: validated and sorted by index.</summary>
    public static SparseVector ParseSparse(JsonInput input, string name)
    {
        input.ExpectObject();
        if (!input.Has("indices") && (input.Has("text") || input.Has("model") || input.Has("image") || input.Has("object")))
        {
            throw new VectorizerException(ErrorCode.BadRequest, $"Vector `{name}`: inference objects are not supported; send the vector itself");
        }

        var indexInput = input.Required("indices");
        var indices = new uint[indexInput.ArrayLength];
        var i = 0;
        foreach (var item in indexInput.Items())
        {
            indices[i++] = item.Kind == JsonValueKind.Number && item.Element.TryGetUInt32(out var index)
                ? index
                : throw item.Error($"invalid value: {JsonInput.Describe(item.Element)}, expected an unsigned 32-bit integer");
        }

        var valuesInput = input.Required("values");
        var values = valuesInput.AsFloatArray();
        if (values.Length != indices.Length)
        {
            throw valuesInput.Invalid("must be the same length as indices");
        }

        if (indices.Length != new HashSet<uint>(indices).Count)
        {
            throw indexInput.Invalid("must be unique");
        }

        return SparseVector.Create(indices, values, name);
    }

    private static float[] ParseDense(JsonInput input)
    {
        if (input.Kind == JsonValueKind.Array && input.Element.GetArrayLength() > 0 && input.Element[0].ValueKind == JsonValueKind.Array)
        {
            throw new VectorizerException(ErrorCode.BadRequest, "Multi-vectors are not supported by this collection");
        }

        return input.AsFloatArray();
    }

    public static PointPayload ParsePayload(JsonInput input)
    {
        if (input.Kind != JsonValueKind.Object)
        {
            throw input.Error($"invalid type: {JsonInput.Describe(input.Element)}, expected a payload object");
        }

        return PointPayload.FromElement(input.Element);
    }

    /// <summary><c>PointInsertOperations</c>: <c>{"points": [...]}</c> or the columnar <c>{"batch": {...}}</c>.</summary>
    public static List<PointStruct> ParsePointInsert(JsonInput body, int maxBatch)
    {
        body.ExpectObject();
        List<PointStruct> points;
        if (body.TryGet("batch", out var batch))
        {
            points = ParseBatch(batch);
        }
        else if (body.TryGet("points", out var list))
        {
            points = [];
            foreach (var item in list.Items())
            {
                item.ExpectObject();
                var vector = item.TryGet("vector", out var v) ? v : item.TryGet("vectors", out var vs) ? vs : item.Required("vector");
                var (dense, sparse) = ParseVectors(vector);
                points.Add(new PointStruct(
                    ParseId(item.Required("id")),
                    dense,
                    item.TryGet("payload", out var payload) ? ParsePayload(payload) : null,
                    sparse));
            }
        }
        else
        {
            throw body.Error("Invalid PointInsertOperations format: expected `points` or `batch`");
        }

        if (points.Count > maxBatch)
        {
            throw body.Invalid($"too many points in one request: {points.Count}, the limit is {maxBatch}");
        }

        return points;
    }

    private static List<PointStruct> ParseBatch(JsonInput batch)
    {
        batch.ExpectObject();
        var ids = ParseIds(batch.Required("ids"));
        var vectors = new Dictionary<string, float[]>[ids.Count];
        var sparse = new Dictionary<string, SparseVector>?[ids.Count];
        for (var i = 0; i < vectors.Length; i++)
        {
            vectors[i] = new Dictionary<string, float[]>(StringComparer.Ordinal);
        }

        if (batch.TryGet("vectors", out var columns))
        {
            if (columns.Kind == JsonValueKind.Array)
            {
                AddColumn(columns, "", vectors, sparse);
            }
            else
            {
                columns.ExpectObject();
                foreach (var property in columns.Element.EnumerateObject())
                {
                    AddColumn(new JsonInput(property.Value, $"{columns.Path}.{property.Name}"), property.Name, vectors, sparse);
                }
            }
        }

        var payloads = new PointPayload?[ids.Count];
        if (batch.TryGet("payloads", out var payloadColumn))
        {
            if (payloadColumn.ArrayLength != ids.Count)
            {
                throw payloadColumn.Invalid($"has {payloadColumn.ArrayLength} payloads for {ids.Count} ids");
            }

            var i = 0;
            foreach (var item in payloadColumn.Items())
            {
                payloads[i++] = item.IsNull ? null : ParsePayload(item);
            }
        }

        var points = new List<PointStruct>(ids.Count);
        for (var i = 0; i < ids.Count; i++)
        {
            points.Add(new PointStruct(ids[i], vectors[i], payloads[i], sparse[i]));
        }

        return points;
    }

    private static void AddColumn(JsonInput column, string name, Dictionary<string, float[]>[] vectors, Dictionary<string, SparseVector>?[] sparse)
    {
        if (column.ArrayLength != vectors.Length)
        {
            throw column.Invalid($"has {column.ArrayLength} vectors for {vectors.Length} ids");
        }

        var i = 0;
        foreach (var item in column.Items())
        {
            if (item.Kind == JsonValueKind.Object)
            {
                (sparse[i] ??= new Dictionary<string, SparseVector>(StringComparer.Ordinal))[name] = ParseSparse(item, name);
                i++;
                continue;
            }

            vectors[i++][name] = ParseDense(item);
        }
    }

    /// <summary><c>PointsSelector</c> and the <c>points</c>/<c>filter</c> pair of payload operations.</summary>
    public static PointSelector ParseSelector(JsonInput body, bool allowBoth = true)
    {
        body.ExpectObject();
        var ids = body.TryGet("points", out var points) ? ParseIds(points) : null;
        var filter = FilterJson.ParseOptional(body, "filter");
        if (ids is null && filter is null)
        {
            throw body.Error("Either list of point ids or filter must be provided");
        }

        if (!allowBoth && ids is not null && filter is not null)
        {
            throw body.Error("Either list of point ids or filter must be provided, not both");
        }

        return new PointSelector(ids, filter);
    }

    /// <summary><c>with_payload</c>: a boolean, a list of keys, or <c>{include}</c>/<c>{exclude}</c>.</summary>
    public static PayloadSelector ParseWithPayload(JsonInput parent, string name, bool fallback)
    {
        if (!parent.TryGet(name, out var value))
        {
            return fallback ? PayloadSelector.All : PayloadSelector.None;
        }

        switch (value.Kind)
        {
            case JsonValueKind.True:
                return PayloadSelector.All;
            case JsonValueKind.False:
                return PayloadSelector.None;
            case JsonValueKind.Array:
                return new PayloadSelector(true, Include: Keys(value));
            case JsonValueKind.Object when value.Has("include"):
                value.DenyUnknown("include");
                return new PayloadSelector(true, Include: Keys(value.Required("include")));
            case JsonValueKind.Object when value.Has("exclude"):
                value.DenyUnknown("exclude");
                return new PayloadSelector(true, Exclude: Keys(value.Required("exclude")));
            default:
                throw value.Error("Expected a boolean, an array of strings, or an object with an include/exclude field");
        }
    }

    private static List<JsonPath> Keys(JsonInput input)
    {
        var keys = new List<JsonPath>();
        foreach (var item in input.Items())
        {
            var text = item.AsString();
            keys.Add(JsonPath.TryParse(text, out var path, out var error) ? path : throw item.Error($"invalid payload key `{text}`: {error}"));
        }

        return keys;
    }

    /// <summary><c>with_vector</c> (alias <c>with_vectors</c>): a boolean or a list of vector names.</summary>
    public static VectorSelector ParseWithVector(JsonInput parent, bool fallback)
    {
        if (!parent.TryGet("with_vector", out var value) && !parent.TryGet("with_vectors", out value))
        {
            return fallback ? VectorSelector.All : VectorSelector.None;
        }

        return value.Kind switch
        {
            JsonValueKind.True => VectorSelector.All,
            JsonValueKind.False => VectorSelector.None,
            JsonValueKind.Array => new VectorSelector(true, value.AsStringList()),
            _ => throw value.Error("Expected a boolean or an array of vector names"),
        };
    }
}
