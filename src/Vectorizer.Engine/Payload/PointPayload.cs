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
        var destinations = new List<JsonObject>();
        if (key is null)
        {
            destinations.Add(target);
        }
        else
        {
            NavigateOrCreate(target, key, 0, destinations);
        }

        foreach (var destination in destinations)
        {
            foreach (var property in values.Root.EnumerateObject())
            {
                destination[property.Name] = JsonNode.Parse(property.Value.GetRawText());
            }
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

    /// <summary>A payload with only the given paths (<paramref name="include"/>, nested and array paths keep their structure) or without them (<paramref name="exclude"/>).</summary>
    public PointPayload Select(IReadOnlyList<JsonPath>? include, IReadOnlyList<JsonPath>? exclude)
    {
        if (include is not null)
        {
            return FromNode(Project(Root, Selection.Of(include)) as JsonObject ?? []);
        }

        return exclude is { Count: > 0 } ? DeleteKeys(exclude) : this;
    }

    private JsonObject ToNode() => JsonNode.Parse(Root.GetRawText())!.AsObject();

    private static PointPayload FromNode(JsonObject node)
    {
        using var document = JsonSerializer.SerializeToDocument(node);
        return new PointPayload(document.RootElement.Clone());
    }

    /// <summary>
    /// The objects at <paramref name="path"/> below <paramref name="node"/>: object keys are created (or replace a value
    /// that is not an object), <c>[n]</c> descends into an existing element, <c>[]</c> into every element.
    /// </summary>
    private static void NavigateOrCreate(JsonObject node, JsonPath path, int index, List<JsonObject> found)
    {
        if (index == path.Segments.Count)
        {
            found.Add(node);
            return;
        }

        var segment = path.Segments[index];
        if (segment.Kind != JsonPath.SegmentKind.Key)
        {
            throw VectorizerException.BadRequest($"Payload key `{path.Text}` for set_payload: an array selector must follow a key");
        }

        var next = index + 1;
        if (next < path.Segments.Count && path.Segments[next].Kind != JsonPath.SegmentKind.Key)
        {
            // key[n] or key[]: descend into the existing array's elements (nothing is created inside arrays).
            if (node[segment.Key!] is not JsonArray array)
            {
                return;
            }

            var elements = path.Segments[next].Kind == JsonPath.SegmentKind.All
                ? array.ToList()
                : path.Segments[next].Index < array.Count ? [array[path.Segments[next].Index]] : [];
            foreach (var element in elements)
            {
                if (element is JsonObject obj)
                {
                    NavigateOrCreate(obj, path, next + 1, found);
                }
            }

            return;
        }

        if (node[segment.Key!] is not JsonObject child)
        {
            child = new JsonObject();
            node[segment.Key!] = child;
        }

        NavigateOrCreate(child, path, next, found);
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

    /// <summary>
    /// The parts of <paramref name="source"/> the include paths name, with the structure around them: <c>a.b[].c</c> keeps
    /// <c>c</c> of every element of <c>a.b</c> (as Qdrant's include selectors do), <c>a.b[1]</c> only that element.
    /// </summary>
    private static JsonNode? Project(JsonElement source, Selection selection)
    {
        if (selection.Whole)
        {
            return JsonNode.Parse(source.GetRawText());
        }

        switch (source.ValueKind)
        {
            case JsonValueKind.Object when selection.Keys.Count > 0:
                var obj = new JsonObject();
                foreach (var (key, child) in selection.Keys)
                {
                    if (source.TryGetProperty(key, out var value) && Project(value, child) is { } projected)
                    {
                        obj[key] = projected;
                    }
                }

                return obj.Count > 0 ? obj : null;
            case JsonValueKind.Array when selection.All is not null || selection.Indexes.Count > 0:
                var array = new JsonArray();
                var i = 0;
                foreach (var item in source.EnumerateArray())
                {
                    var fromAll = selection.All is { } all ? Project(item, all) : null;
                    var fromIndex = selection.Indexes.TryGetValue(i, out var at) ? Project(item, at) : null;
                    if (Merge(fromAll, fromIndex) is { } merged)
                    {
                        array.Add(merged);
                    }

                    i++;
                }

                return array.Count > 0 ? array : null;
            default:
                return null;
        }
    }

    private static JsonNode? Merge(JsonNode? a, JsonNode? b)
    {
        if (a is JsonObject left && b is JsonObject right)
        {
            foreach (var (key, value) in right.ToList())
            {
                right.Remove(key);
                left[key] = Merge(left[key]?.DeepClone(), value) ?? value;
            }

            return left;
        }

        return a ?? b;
    }

    /// <summary>The include paths as a tree: which keys, array elements (<c>[]</c> or <c>[n]</c>) and whole values to keep.</summary>
    private sealed class Selection
    {
        public bool Whole { get; private set; }

        public Dictionary<string, Selection> Keys { get; } = new(StringComparer.Ordinal);

        public Dictionary<int, Selection> Indexes { get; } = [];

        public Selection? All { get; private set; }

        public static Selection Of(IReadOnlyList<JsonPath> paths)
        {
            var root = new Selection();
            foreach (var path in paths)
            {
                var node = root;
                foreach (var segment in path.Segments)
                {
                    node = segment.Kind switch
                    {
                        JsonPath.SegmentKind.Key => node.Keys.TryGetValue(segment.Key!, out var k) ? k : node.Keys[segment.Key!] = new Selection(),
                        JsonPath.SegmentKind.Index => node.Indexes.TryGetValue(segment.Index, out var n) ? n : node.Indexes[segment.Index] = new Selection(),
                        _ => node.All ??= new Selection(),
                    };
                }

                node.Whole = true;
            }

            return root;
        }
    }
}
