using System.Text;
using System.Text.Json;
using Vectorizer.Engine.Errors;

namespace Vectorizer.Engine.Payload;

/// <summary>
/// A payload key path in Qdrant's syntax: <c>a.b</c> (object keys), <c>a[]</c> (every array element),
/// <c>a[2]</c> (one element), and <c>"quoted.key"</c> for keys containing dots or brackets.
/// </summary>
public sealed class JsonPath : IEquatable<JsonPath>
{
    private JsonPath(string text, Segment[] segments)
    {
        Text = text;
        Segments = segments;
    }

    public string Text { get; }

    public IReadOnlyList<Segment> Segments { get; }

    /// <summary>The first key of the path (the top-level payload field).</summary>
    public string Head => Segments[0].Key!;

    /// <summary>The UTF-8 bytes of <see cref="Head"/> (for lookups without transcoding).</summary>
    public byte[] HeadUtf8 => headUtf8 ??= Encoding.UTF8.GetBytes(Head);

    private byte[]? headUtf8;

    public static JsonPath Parse(string text)
    {
        if (TryParse(text, out var path, out var error))
        {
            return path;
        }

        throw VectorizerException.BadRequest($"Invalid payload key `{text}`: {error}");
    }

    public static bool TryParse(string text, out JsonPath path, out string error)
    {
        path = null!;
        var segments = new List<Segment>();
        var i = 0;
        var expectKey = true;
        while (i < text.Length)
        {
            if (expectKey)
            {
                string key;
                if (text[i] == '"')
                {
                    var end = text.IndexOf('"', i + 1);
                    if (end < 0)
                    {
                        error = "unterminated quote";
                        return false;
                    }

                    key = text[(i + 1)..end];
                    i = end + 1;
                }
                else
                {
                    var start = i;
                    while (i < text.Length && text[i] != '.' && text[i] != '[')
                    {
                        i++;
                    }

                    key = text[start..i];
                }

                if (key.Length == 0)
                {
                    error = "empty key segment";
                    return false;
                }

                segments.Add(Segment.ForKey(key));
                expectKey = false;
                continue;
            }

            if (text[i] == '.')
            {
                i++;
                expectKey = true;
                if (i == text.Length)
                {
                    error = "path ends with '.'";
                    return false;
                }

                continue;
            }

            if (text[i] == '[')
            {
                var end = text.IndexOf(']', i);
                if (end < 0)
                {
                    error = "unterminated '['";
                    return false;
                }

                var inner = text.AsSpan(i + 1, end - i - 1);
                if (inner.Length == 0)
                {
                    segments.Add(Segment.All);
                }
                else if (int.TryParse(inner, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var index))
                {
                    segments.Add(Segment.ForIndex(index));
                }
                else
                {
                    error = $"invalid array index `{inner}`";
                    return false;
                }

                i = end + 1;
                continue;
            }

            error = $"unexpected character '{text[i]}'";
            return false;
        }

        if (segments.Count == 0)
        {
            error = "empty path";
            return false;
        }

        path = new JsonPath(text, [.. segments]);
        error = "";
        return true;
    }

    /// <summary>
    /// Appends every value the path reaches in <paramref name="root"/>. Keys descend into objects only;
    /// <c>[]</c> fans out over arrays. The caller treats a reached array as several values.
    /// </summary>
    public void CollectValues(JsonElement root, List<JsonElement> output) => Collect(root, 0, output);

    private void Collect(JsonElement value, int index, List<JsonElement> output)
    {
        if (index == Segments.Count)
        {
            output.Add(value);
            return;
        }

        var segment = Segments[index];
        switch (segment.Kind)
        {
            case SegmentKind.Key:
                if (value.ValueKind == JsonValueKind.Object && value.TryGetProperty(segment.Key!, out var child))
                {
                    Collect(child, index + 1, output);
                }

                break;
            case SegmentKind.Index:
                if (value.ValueKind == JsonValueKind.Array && segment.Index < value.GetArrayLength())
                {
                    Collect(value[segment.Index], index + 1, output);
                }

                break;
            case SegmentKind.All:
                if (value.ValueKind == JsonValueKind.Array)
                {
                    foreach (var item in value.EnumerateArray())
                    {
                        Collect(item, index + 1, output);
                    }
                }

                break;
        }
    }

    /// <summary>This path with the segments of <paramref name="suffix"/> appended (for nested filters).</summary>
    public JsonPath Concat(JsonPath suffix)
    {
        var builder = new StringBuilder(Text);
        if (suffix.Segments[0].Kind == SegmentKind.Key)
        {
            builder.Append('.');
        }

        builder.Append(suffix.Text);
        return new JsonPath(builder.ToString(), [.. Segments, .. suffix.Segments]);
    }

    public bool Equals(JsonPath? other) => other is not null && other.Text == Text;

    public override bool Equals(object? obj) => Equals(obj as JsonPath);

    public override int GetHashCode() => Text.GetHashCode(StringComparison.Ordinal);

    public override string ToString() => Text;

    public enum SegmentKind : byte
    {
        Key,
        Index,
        All,
    }

    public readonly record struct Segment(SegmentKind Kind, string? Key, int Index)
    {
        public static readonly Segment All = new(SegmentKind.All, null, 0);

        public static Segment ForKey(string key) => new(SegmentKind.Key, key, 0);

        public static Segment ForIndex(int index) => new(SegmentKind.Index, null, index);
    }
}
