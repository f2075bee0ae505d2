using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Google.Protobuf.Collections;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Payload;
using Vectorizer.Engine.Points;
using P = Vectorizer.Server.Grpc.Protos;

namespace Vectorizer.Server.Grpc;

/// <summary>
/// Qdrant's gRPC JSON values (<c>Value</c>, which keeps integers apart from doubles) to and from the engine's JSON
/// payloads, and point ids.
/// </summary>
internal static class ProtoValues
{
    private const int MaxDepth = 64;

    public static PointPayload Payload(MapField<string, P.Value> fields)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            WriteObject(writer, fields, 0);
        }

        return PointPayload.FromUtf8(buffer.WrittenSpan);
    }

    /// <summary>A JSON object of <paramref name="fields"/> (collection metadata), or null when there are none.</summary>
    public static OpaqueJson? Opaque(MapField<string, P.Value> fields)
    {
        if (fields.Count == 0)
        {
            return null;
        }

        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            WriteObject(writer, fields, 0);
        }

        return OpaqueJson.Parse(buffer.WrittenSpan);
    }

    private static void WriteObject(Utf8JsonWriter writer, MapField<string, P.Value> fields, int depth)
    {
        writer.WriteStartObject();
        foreach (var (key, value) in fields)
        {
            writer.WritePropertyName(key);
            Write(writer, value, depth + 1);
        }

        writer.WriteEndObject();
    }

    private static void Write(Utf8JsonWriter writer, P.Value? value, int depth)
    {
        if (depth > MaxDepth)
        {
            throw VectorizerException.BadRequest($"payload nests deeper than {MaxDepth} levels");
        }

        switch (value?.KindCase ?? P.Value.KindOneofCase.None)
        {
            case P.Value.KindOneofCase.None:
            case P.Value.KindOneofCase.NullValue:
                writer.WriteNullValue();
                break;
            case P.Value.KindOneofCase.DoubleValue:
                if (!double.IsFinite(value!.DoubleValue))
                {
                    throw VectorizerException.BadRequest($"payload value {value.DoubleValue} is not a finite number (JSON has no NaN or infinity)");
                }

                WriteDouble(writer, value.DoubleValue);
                break;
            case P.Value.KindOneofCase.IntegerValue:
                writer.WriteNumberValue(value!.IntegerValue);
                break;
            case P.Value.KindOneofCase.StringValue:
                writer.WriteStringValue(value!.StringValue);
                break;
            case P.Value.KindOneofCase.BoolValue:
                writer.WriteBooleanValue(value!.BoolValue);
                break;
            case P.Value.KindOneofCase.StructValue:
                WriteObject(writer, value!.StructValue.Fields, depth);
                break;
            case P.Value.KindOneofCase.ListValue:
                writer.WriteStartArray();
                foreach (var item in value!.ListValue.Values)
                {
                    Write(writer, item, depth + 1);
                }

                writer.WriteEndArray();
                break;
        }
    }

    /// <summary>
    /// A double keeps a fraction or an exponent in JSON (<c>24.0</c>, not <c>24</c>), as serde_json writes an f64, so it
    /// reads back as a double over gRPC and REST alike.
    /// </summary>
    private static void WriteDouble(Utf8JsonWriter writer, double value)
    {
        var text = value.ToString("R", CultureInfo.InvariantCulture);
        writer.WriteRawValue(text.AsSpan().IndexOfAny('.', 'E', 'e') < 0 ? text + ".0" : text, skipInputValidation: true);
    }

    /// <summary>A payload as Qdrant's gRPC map (integers stay integers).</summary>
    public static void Fill(MapField<string, P.Value> target, PointPayload? payload)
    {
        if (payload is null)
        {
            return;
        }

        Fill(target, payload.Root);
    }

    public static void Fill(MapField<string, P.Value> target, JsonElement element)
    {
        foreach (var property in element.EnumerateObject())
        {
            target[property.Name] = Value(property.Value);
        }
    }

    public static P.Value Value(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var fields = new P.Struct();
                Fill(fields.Fields, element);
                return new P.Value { StructValue = fields };
            case JsonValueKind.Array:
                var list = new P.ListValue();
                foreach (var item in element.EnumerateArray())
                {
                    list.Values.Add(Value(item));
                }

                return new P.Value { ListValue = list };
            case JsonValueKind.String:
                return new P.Value { StringValue = element.GetString() };
            case JsonValueKind.Number:
                return IsInteger(element) && element.TryGetInt64(out var integer)
                    ? new P.Value { IntegerValue = integer }
                    : new P.Value { DoubleValue = element.GetDouble() };
            case JsonValueKind.True:
                return new P.Value { BoolValue = true };
            case JsonValueKind.False:
                return new P.Value { BoolValue = false };
            default:
                return new P.Value { NullValue = P.NullValue.NullValue };
        }
    }

    /// <summary>Written without a fraction or exponent (as serde_json tells an integer from a float).</summary>
    private static bool IsInteger(JsonElement number)
    {
        var raw = number.GetRawText();
        return raw.AsSpan().IndexOfAny('.', 'e', 'E') < 0;
    }

    // ------------------------------------------------------------------ point ids

    public static PointId Id(P.PointId? id) => id?.PointIdOptionsCase switch
    {
        P.PointId.PointIdOptionsOneofCase.Num => PointId.FromNumber(id.Num),
        P.PointId.PointIdOptionsOneofCase.Uuid => PointId.TryParseUuid(id.Uuid, out var uuid)
            ? uuid
            : throw VectorizerException.BadRequest($"Unable to parse UUID: {id.Uuid}"),
        _ => throw VectorizerException.BadRequest("PointId must have a num or a uuid"),
    };

    public static List<PointId> Ids(RepeatedField<P.PointId> ids)
    {
        var list = new List<PointId>(ids.Count);
        foreach (var id in ids)
        {
            list.Add(Id(id));
        }

        return list;
    }

    public static P.PointId Id(PointId id) => id.IsUuid
        ? new P.PointId { Uuid = id.ToString() }
        : new P.PointId { Num = id.Number };

    public static JsonPath Key(string text, string what = "key") =>
        JsonPath.TryParse(text, out var path, out var error) ? path : throw VectorizerException.BadRequest($"{what}: invalid payload key `{text}`: {error}");

    public static string Format(double value) => value.ToString(CultureInfo.InvariantCulture);
}
