using System.Text.Json.Nodes;

namespace Vectorizer.Server.Mcp;

/// <summary>A property of an object schema.</summary>
internal readonly record struct Prop(string Name, JsonObject Schema, bool Required = false);

/// <summary>
/// Small builders for the JSON Schemas (draft 2020-12) of tool inputs and outputs, so each tool states its arguments
/// the way an agent reads them: types, ranges, enums, defaults, descriptions and examples.
/// </summary>
internal static class Schema
{
    /// <summary>An object with exactly these properties (unknown ones are refused for inputs, see <see cref="ToolArguments"/>).</summary>
    public static JsonObject Object(params Prop[] properties) => Object(null, closed: true, properties);

    /// <summary>An object whose listed properties are known, others allowed (outputs that mirror the REST API's objects).</summary>
    public static JsonObject OpenObject(string? description, params Prop[] properties) => Object(description, closed: false, properties);

    public static JsonObject Object(string? description, bool closed, params Prop[] properties)
    {
        var schema = new JsonObject { ["type"] = "object" };
        if (description is not null)
        {
            schema["description"] = description;
        }

        var props = new JsonObject();
        var required = new JsonArray();
        foreach (var property in properties)
        {
            props[property.Name] = property.Schema;
            if (property.Required)
            {
                required.Add(property.Name);
            }
        }

        schema["properties"] = props;
        if (required.Count > 0)
        {
            schema["required"] = required;
        }

        if (closed)
        {
            schema["additionalProperties"] = false;
        }

        return schema;
    }

    public static JsonObject String(string description, params string[] examples) => With(new JsonObject { ["type"] = "string", ["description"] = description }, examples);

    public static JsonObject Enum(string description, string? @default, params string[] values)
    {
        var schema = new JsonObject { ["type"] = "string", ["description"] = description, ["enum"] = Array(values) };
        if (@default is not null)
        {
            schema["default"] = @default;
        }

        return schema;
    }

    public static JsonObject Integer(string description, long? minimum = null, long? maximum = null, long? @default = null)
    {
        var schema = new JsonObject { ["type"] = "integer", ["description"] = description };
        if (minimum is { } min)
        {
            schema["minimum"] = min;
        }

        if (maximum is { } max)
        {
            schema["maximum"] = max;
        }

        if (@default is { } value)
        {
            schema["default"] = value;
        }

        return schema;
    }

    public static JsonObject Number(string description, double? minimum = null, double? maximum = null)
    {
        var schema = new JsonObject { ["type"] = "number", ["description"] = description };
        if (minimum is { } min)
        {
            schema["minimum"] = min;
        }

        if (maximum is { } max)
        {
            schema["maximum"] = max;
        }

        return schema;
    }

    public static JsonObject Boolean(string description, bool? @default = null)
    {
        var schema = new JsonObject { ["type"] = "boolean", ["description"] = description };
        if (@default is { } value)
        {
            schema["default"] = value;
        }

        return schema;
    }

    public static JsonObject ArrayOf(JsonObject items, string description, int? minItems = null, int? maxItems = null)
    {
        var schema = new JsonObject { ["type"] = "array", ["description"] = description, ["items"] = items };
        if (minItems is { } min)
        {
            schema["minItems"] = min;
        }

        if (maxItems is { } max)
        {
            schema["maxItems"] = max;
        }

        return schema;
    }

    /// <summary>One of several shapes (a vector or an id, a boolean or a list, ...).</summary>
    public static JsonObject AnyOf(string description, params JsonObject[] options) =>
        new() { ["description"] = description, ["anyOf"] = new JsonArray([.. options]) };

    /// <summary>A value of any JSON type (a payload value).</summary>
    public static JsonObject Any(string description) => new() { ["description"] = description };

    /// <summary>A free-form JSON object (a payload, a Qdrant filter, a configuration section).</summary>
    public static JsonObject FreeObject(string description, params string[] examples)
    {
        var schema = new JsonObject { ["type"] = "object", ["description"] = description };
        if (examples.Length > 0)
        {
            schema["examples"] = new JsonArray([.. examples.Select(e => JsonNode.Parse(e))]);
        }

        return schema;
    }

    public static JsonObject Nullable(JsonObject schema)
    {
        schema["type"] = new JsonArray(schema["type"]!.GetValue<string>(), "null");
        return schema;
    }

    private static JsonObject With(JsonObject schema, string[] examples)
    {
        if (examples.Length > 0)
        {
            schema["examples"] = Array(examples);
        }

        return schema;
    }

    private static JsonArray Array(string[] values) => new([.. values.Select(v => (JsonNode)JsonValue.Create(v))]);
}
