using System.Text.Json;
using System.Text.Json.Nodes;
using Vectorizer.Engine.Errors;

namespace Vectorizer.Engine.Payload;

/// <summary>
/// A point's payload: an immutable JSON object. Mutations (set, delete keys) build a new instance, so readers
/// can hold a reference without locks while a writer swaps it.
/// </summary>
public sealed class PointPayload
{
    public static readonly PointPayload Empty = FromUtf8("{}"u8);

    private PointPayload(JsonElement root)
    {
        Root = root;
    }

    /// <summary>The payload object.</summary>
    public JsonElement Root { get; }

    public bool IsEmpty => !Root.EnumerateObject().MoveNext();

    public static PointPayload FromUtf8(ReadOnlySpan<byte> utf8)
    {
        var reader = new Utf8JsonReader(utf8);
        using var document = JsonDocument.ParseValue(ref reader);
        return FromElement(document.RootElement);
    }

    /// <summary>Copies <paramref name="element"/> (which must be a JSON object) into a standalone, minified payload.</summary>
    public static PointPayload FromElement(JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw VectorizerException.BadRequest($"Payload must be a JSON object, got {element.ValueKind.ToString().ToLowerInvariant()}");
        }

        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            element.WriteTo(writer);
        }

        using var document = JsonDocument.Parse(buffer.WrittenMemory);
        return new PointPayload(document.RootElement.Clone());
    }

    public byte[] ToUtf8() => JsonSerializer.SerializeToUtf8Bytes(Root);

    [ThreadStatic]
    private static Utf8JsonWriter? cachedWriter;

    /// <summary>Writes the payload's JSON to <paramref name="destination"/>.</summary>
    public void WriteTo(System.Buffers.IBufferWriter<byte> destination)
    {
        var writer = cachedWriter ??= new Utf8JsonWriter(destination);
        writer.Reset(destination);
        Root.WriteTo(writer);
        writer.Flush();
        writer.Reset(System.IO.Stream.Null);
    }

    /// <summary>
    /// Qdrant's set_payload: the keys of <paramref name="values"/> overwrite this payload's keys. With
    /// <paramref name="key"/>, they are written into the object at that path (created when missing).
    /// </summary>
    public PointPayload Merge(PointPayload values, JsonPath? key)
    {
        var target = ToNode();
        var destination = target;
        if (key is not null)
        {
            destination = NavigateOrCreate(target, key);
        }

        foreach (var property in values.Root.EnumerateObject())
        {
            destination[property.Name] = JsonNode.Parse(property.Value.GetRawText());
        }

        return FromNode(target);
    }

    /// <summary>Removes the values at each path (fanning out over <c>[]</c>).</summary>
    public PointPayload DeleteKeys(IReadOnlyList<JsonPath> keys)
    {
        var target = ToNode();
        var changed = false;
        foreach (var key in keys)
        {
            changed |= Remove(target, key, 0);
        }

        return changed ? FromNode(target) : this;
    }

    /// <summary>A payload with only the given top-level paths (<paramref name="include"/>) or without them (<paramref name="exclude"/>).</summary>
    public PointPayload Select(IReadOnlyList<JsonPath>? include, IReadOnlyList<JsonPath>? exclude)
    {
        if (include is not null)
        {
            var result = new JsonObject();
            foreach (var path in include)
            {
                CopyPath(Root, result, path, 0);
            }

            return FromNode(result);
        }

        return exclude is { Count: > 0 } ? DeleteKeys(exclude) : this;
    }

    private JsonObject ToNode() => JsonNode.Parse(Root.GetRawText())!.AsObject();

    private static PointPayload FromNode(JsonObject node)
    {
        using var document = JsonSerializer.SerializeToDocument(node);
        return new PointPayload(document.RootElement.Clone());
    }

    private static JsonObject NavigateOrCreate(JsonObject root, JsonPath path)
    {
        JsonObject current = root;
        foreach (var segment in path.Segments)
        {
            if (segment.Kind != JsonPath.SegmentKind.Key)
            {
                throw VectorizerException.BadRequest($"Payload key `{path.Text}` for set_payload may only contain object keys");
            }

            if (current[segment.Key!] is JsonObject existing)
            {
                current = existing;
            }
            else
            {
                var created = new JsonObject();
                current[segment.Key!] = created;
                current = created;
            }
        }

        return current;
    }

    private static bool Remove(JsonNode? node, JsonPath path, int index)
    {
        if (node is null)
        {
            return false;
        }

        var segment = path.Segments[index];
        var last = index == path.Segments.Count - 1;
        switch (segment.Kind)
        {
            case JsonPath.SegmentKind.Key when node is JsonObject obj:
                return last ? obj.Remove(segment.Key!) : obj.TryGetPropertyValue(segment.Key!, out var child) && Remove(child, path, index + 1);
            case JsonPath.SegmentKind.Index when node is JsonArray array && segment.Index < array.Count:
                if (last)
                {
                    array.RemoveAt(segment.Index);
                    return true;
                }

                return Remove(array[segment.Index], path, index + 1);
            case JsonPath.SegmentKind.All when node is JsonArray all:
                if (last)
                {
                    var had = all.Count > 0;
                    all.Clear();
                    return had;
                }

                var any = false;
                foreach (var item in all)
                {
                    any |= Remove(item, path, index + 1);
                }

                return any;
            default:
                return false;
        }
    }

    private static void CopyPath(JsonElement source, JsonObject destination, JsonPath path, int index)
    {
        var segment = path.Segments[index];
        if (segment.Kind != JsonPath.SegmentKind.Key || source.ValueKind != JsonValueKind.Object ||
            !source.TryGetProperty(segment.Key!, out var value))
        {
            return;
        }

        if (index == path.Segments.Count - 1)
        {
            destination[segment.Key!] = JsonNode.Parse(value.GetRawText());
            return;
        }

        if (path.Segments[index + 1].Kind != JsonPath.SegmentKind.Key)
        {
            // Array selectors: keep the whole array value.
            destination[segment.Key!] = JsonNode.Parse(value.GetRawText());
            return;
        }

        if (destination[segment.Key!] is not JsonObject child)
        {
            child = new JsonObject();
            destination[segment.Key!] = child;
        }

        CopyPath(value, child, path, index + 1);
        if (child.Count == 0)
        {
            destination.Remove(segment.Key!);
        }
    }
}
