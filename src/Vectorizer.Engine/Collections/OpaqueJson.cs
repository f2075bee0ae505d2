using System.Text.Json;
using Vectorizer.Engine.Errors;

namespace Vectorizer.Engine.Collections;

/// <summary>
/// A JSON object the engine stores with a collection and hands back unchanged, without looking inside: the client's
/// <c>metadata</c>, the ingestion layer's <c>embedding</c> section. Immutable; kept as minified UTF-8.
/// </summary>
public sealed class OpaqueJson : IEquatable<OpaqueJson>
{
    private readonly byte[] utf8;

    private OpaqueJson(byte[] utf8)
    {
        this.utf8 = utf8;
    }

    /// <summary>The minified UTF-8 text of the object.</summary>
    public ReadOnlySpan<byte> Utf8 => utf8;

    /// <summary>Copies a JSON object; anything else is a bad request.</summary>
    public static OpaqueJson FromElement(JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw VectorizerException.BadRequest($"expected a JSON object, got {element.ValueKind.ToString().ToLowerInvariant()}");
        }

        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            element.WriteTo(writer);
        }

        return new OpaqueJson(buffer.ToArray());
    }

    /// <summary>Parses a JSON object from UTF-8 text (checks it is one).</summary>
    public static OpaqueJson Parse(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        using var document = JsonDocument.ParseValue(ref reader);
        return FromElement(document.RootElement);
    }

    /// <summary>A parsed copy (the caller owns it; it does not need disposing).</summary>
    public JsonElement ToElement()
    {
        var reader = new Utf8JsonReader(utf8);
        return JsonElement.ParseValue(ref reader);
    }

    public void WriteTo(Utf8JsonWriter writer) => writer.WriteRawValue(utf8, skipInputValidation: true);

    public override string ToString() => System.Text.Encoding.UTF8.GetString(utf8);

    public bool Equals(OpaqueJson? other) => other is not null && utf8.AsSpan().SequenceEqual(other.utf8);

    public override bool Equals(object? obj) => obj is OpaqueJson other && Equals(other);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.AddBytes(utf8);
        return hash.ToHashCode();
    }
}
