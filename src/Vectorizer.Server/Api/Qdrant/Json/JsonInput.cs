using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Vectorizer.Engine.Errors;
using Vectorizer.Server.Http;

namespace Vectorizer.Server.Api.Qdrant.Json;

/// <summary>
/// A JSON value with the path that led to it, so every parse error names the field:
/// <c>Format error in JSON body: points[3].vector: expected an array of numbers</c>.
/// </summary>
internal readonly struct JsonInput(JsonElement element, string path)
{
    public JsonElement Element { get; } = element;

    public string Path { get; } = path;

    public JsonValueKind Kind => Element.ValueKind;

    public bool IsNull => Element.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined;

    public static JsonInput Root(JsonElement element) => new(element, "");

    private string Child(string name) => Path.Length == 0 ? name : $"{Path}.{name}";

    /// <summary>A 400 "Format error in JSON body" naming this value's path.</summary>
    public ApiException Error(string message) =>
        new(ApiErrorCode.MalformedBody, Path.Length == 0 ? message : $"{Path}: {message}");

    /// <summary>A 422 "Validation error in JSON body" naming this value's path.</summary>
    public VectorizerException Invalid(string message) =>
        VectorizerException.Validation(Path.Length == 0 ? message : $"{Path}: {message}");

    public JsonInput ExpectObject()
    {
        if (Element.ValueKind != JsonValueKind.Object)
        {
            throw Error($"invalid type: {Describe(Element)}, expected an object");
        }

        return this;
    }

    /// <summary>The property when present and not null.</summary>
    public bool TryGet(string name, out JsonInput value)
    {
        if (Element.ValueKind == JsonValueKind.Object && Element.TryGetProperty(name, out var child) && child.ValueKind != JsonValueKind.Null)
        {
            value = new JsonInput(child, Child(name));
            return true;
        }

        value = default;
        return false;
    }

    public bool Has(string name) => TryGet(name, out _);

    public JsonInput Required(string name) =>
        TryGet(name, out var value) ? value : throw Error($"missing field `{name}`");

    /// <summary>Rejects properties outside <paramref name="allowed"/> (Qdrant does this for filters and payload selectors).</summary>
    public void DenyUnknown(params string[] allowed)
    {
        foreach (var property in Element.EnumerateObject())
        {
            if (Array.IndexOf(allowed, property.Name) < 0)
            {
                throw Error($"unknown field `{property.Name}`, expected one of {string.Join(", ", allowed.Select(a => $"`{a}`"))}");
            }
        }
    }

    public IEnumerable<JsonInput> Items()
    {
        if (Element.ValueKind != JsonValueKind.Array)
        {
            throw Error($"invalid type: {Describe(Element)}, expected an array");
        }

        var i = 0;
        foreach (var item in Element.EnumerateArray())
        {
            yield return new JsonInput(item, $"{Path}[{i++}]");
        }
    }

    public int ArrayLength => Element.ValueKind == JsonValueKind.Array ? Element.GetArrayLength() : throw Error($"invalid type: {Describe(Element)}, expected an array");

    public string AsString() =>
        Element.ValueKind == JsonValueKind.String ? Element.GetString()! : throw Error($"invalid type: {Describe(Element)}, expected a string");

    public bool AsBool() => Element.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw Error($"invalid type: {Describe(Element)}, expected a boolean"),
    };

    public double AsDouble() =>
        Element.ValueKind == JsonValueKind.Number && Element.TryGetDouble(out var value) && double.IsFinite(value)
            ? value
            : throw Error($"invalid type: {Describe(Element)}, expected a finite number");

    public long AsLong() =>
        Element.ValueKind == JsonValueKind.Number && Element.TryGetInt64(out var value)
            ? value
            : throw Error($"invalid type: {Describe(Element)}, expected an integer");

    /// <summary>An integer in [<paramref name="min"/>, <paramref name="max"/>]; out of range is a 422 validation error.</summary>
    public int AsInt(int min = int.MinValue, int max = int.MaxValue)
    {
        if (Element.ValueKind != JsonValueKind.Number || !Element.TryGetInt64(out var value))
        {
            throw Error($"invalid type: {Describe(Element)}, expected an integer");
        }

        if (value < min || value > max)
        {
            throw Invalid(min != int.MinValue && max != int.MaxValue
                ? $"value {value} invalid, must be from {min} to {max}"
                : value < min ? $"value {value} invalid, must be {min} or larger" : $"value {value} invalid, must be {max} or smaller");
        }

        return (int)value;
    }

    /// <summary>
    /// A <c>u32</c> of Qdrant's schema that must be at least <paramref name="min"/>: a negative number does not
    /// deserialize (400, serde's wording), one below <paramref name="min"/> fails validation (422).
    /// </summary>
    public int AsUInt32(int min)
    {
        if (Element.ValueKind == JsonValueKind.Number && Element.TryGetInt64(out var value) && value < 0)
        {
            throw Error($"invalid value: integer `{value}`, expected u32");
        }

        return AsInt(min: min);
    }

    public float[] AsFloatArray()
    {
        if (Element.ValueKind != JsonValueKind.Array)
        {
            throw Error($"invalid type: {Describe(Element)}, expected an array of numbers");
        }

        var result = new float[Element.GetArrayLength()];
        if (TryReadFloats(JsonMarshal.GetRawUtf8Value(Element), result))
        {
            return result;
        }

        // Something in the array is not a finite number: walk it again for the precise error.
        var i = 0;
        foreach (var item in Element.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetSingle(out var value) || !float.IsFinite(value))
            {
                throw new ApiException(ApiErrorCode.MalformedBody, $"{Path}[{i}]: expected a finite number, got {Describe(item)}");
            }

            result[i++] = value;
        }

        return result;
    }

    /// <summary>
    /// The hot path of every upsert: reads a JSON array of numbers straight from its UTF-8 text (a forward-only
    /// reader is several times cheaper than a <see cref="JsonElement"/> lookup per item). False on anything else.
    /// </summary>
    private static bool TryReadFloats(ReadOnlySpan<byte> json, float[] result)
    {
        var reader = new Utf8JsonReader(json);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray)
        {
            return false;
        }

        var i = 0;
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.EndArray)
            {
                return i == result.Length;
            }

            if (reader.TokenType != JsonTokenType.Number || i == result.Length || !reader.TryGetSingle(out var value) || !float.IsFinite(value))
            {
                return false;
            }

            result[i++] = value;
        }

        return false;
    }

    public List<string> AsStringList()
    {
        var list = new List<string>();
        foreach (var item in Items())
        {
            list.Add(item.AsString());
        }

        return list;
    }

    public static string Describe(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => $"string \"{Truncate(element.GetString()!)}\"",
        JsonValueKind.Number => $"number {element.GetRawText()}",
        JsonValueKind.True or JsonValueKind.False => $"boolean `{element.GetRawText()}`",
        JsonValueKind.Array => "sequence",
        JsonValueKind.Object => "map",
        JsonValueKind.Null => "null",
        _ => element.ValueKind.ToString(),
    };

    private static string Truncate(string text) => text.Length <= 40 ? text : string.Concat(text.AsSpan(0, 40), "…");

    public override string ToString() => Path;
}

/// <summary>Query-string helpers with Qdrant's error style.</summary>
internal static class QueryParameters
{
    public static bool Bool(string? value, string name, bool fallback)
    {
        if (string.IsNullOrEmpty(value))
        {
            return fallback;
        }

        return value switch
        {
            "true" => true,
            "false" => false,
            _ => throw new ApiException(ApiErrorCode.MalformedBody, $"Query deserialize error: invalid value `{value}` for `{name}`, expected true or false"),
        };
    }

    public static void Ordering(string? value)
    {
        if (!string.IsNullOrEmpty(value) && value is not ("weak" or "medium" or "strong"))
        {
            throw new ApiException(ApiErrorCode.MalformedBody, $"Query deserialize error: unknown variant `{value}` for `ordering`, expected one of `weak`, `medium`, `strong`");
        }
    }

    public static int? Int(string? value, string name)
    {
        if (string.IsNullOrEmpty(value))
        {
            return null;
        }

        return int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number)
            ? number
            : throw new ApiException(ApiErrorCode.MalformedBody, $"Query deserialize error: invalid value `{value}` for `{name}`, expected an unsigned integer");
    }
}
