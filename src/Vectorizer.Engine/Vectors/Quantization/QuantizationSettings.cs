using System.Globalization;
using System.Text.Json;
using Vectorizer.Engine.Errors;

namespace Vectorizer.Engine.Vectors.Quantization;

public enum QuantizationKind
{
    /// <summary>One signed byte per dimension (Qdrant's <c>scalar {type: int8}</c>).</summary>
    Scalar,

    /// <summary>One bit per dimension: the sign (Qdrant's <c>binary</c>).</summary>
    Binary,

    /// <summary>Product quantization: one byte per sub-vector of <c>compression / 4</c> dimensions.</summary>
    Product,
}

/// <summary>
/// A collection's (or one vector's) <c>quantization_config</c>, validated. <see cref="Quantile"/> is the share of
/// values the int8 range covers (outliers beyond it are clipped); <see cref="Compression"/> the product
/// quantizer's ratio to float32 (4, 8, 16, 32 or 64).
/// </summary>
public sealed record QuantizationSettings(QuantizationKind Kind, float? Quantile = null, bool AlwaysRam = false, int Compression = 0)
{
    /// <summary>
    /// Reads Qdrant's forms: <c>{"scalar": {"type": "int8", "quantile", "always_ram"}}</c>,
    /// <c>{"binary": {"always_ram", "encoding": "one_bit"}}</c>, <c>{"product": {"compression": "x16", "always_ram"}}</c>.
    /// Null (or the <c>"Disabled"</c> string of a PATCH) means no quantization.
    /// </summary>
    public static QuantizationSettings? FromJson(JsonElement? element)
    {
        if (element is not { ValueKind: JsonValueKind.Object } root)
        {
            return null;
        }

        if (root.TryGetProperty("scalar", out var scalar))
        {
            Expect(scalar, "scalar");
            var type = scalar.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
            if (type != "int8")
            {
                throw VectorizerException.BadRequest($"quantization_config.scalar.type: unknown variant `{type}`, expected `int8`");
            }

            float? quantile = null;
            if (scalar.TryGetProperty("quantile", out var q) && q.ValueKind != JsonValueKind.Null)
            {
                if (q.ValueKind != JsonValueKind.Number || q.GetDouble() is < 0.5 or > 1.0)
                {
                    throw VectorizerException.Validation("quantization_config.scalar.quantile: value must be between 0.5 and 1.0");
                }

                quantile = (float)q.GetDouble();
            }

            return new QuantizationSettings(QuantizationKind.Scalar, quantile, ReadAlwaysRam(scalar));
        }

        if (root.TryGetProperty("binary", out var binary))
        {
            Expect(binary, "binary");
            if (binary.TryGetProperty("encoding", out var encoding) && encoding.ValueKind == JsonValueKind.String && encoding.GetString() != "one_bit")
            {
                throw VectorizerException.BadRequest($"quantization_config.binary.encoding `{encoding.GetString()}` is not supported; use `one_bit`");
            }

            return new QuantizationSettings(QuantizationKind.Binary, AlwaysRam: ReadAlwaysRam(binary));
        }

        if (root.TryGetProperty("product", out var product))
        {
            Expect(product, "product");
            var text = product.TryGetProperty("compression", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
            var ratio = text is ['x', .. var digits] && int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var r) ? r : 0;
            if (ratio is not (4 or 8 or 16 or 32 or 64))
            {
                throw VectorizerException.BadRequest($"quantization_config.product.compression: unknown variant `{text}`, expected one of `x4`, `x8`, `x16`, `x32`, `x64`");
            }

            return new QuantizationSettings(QuantizationKind.Product, AlwaysRam: ReadAlwaysRam(product), Compression: ratio);
        }

        throw VectorizerException.BadRequest("quantization_config: expected one of `scalar`, `product`, `binary`");
    }

    private static void Expect(JsonElement element, string name)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw VectorizerException.BadRequest($"quantization_config.{name}: expected an object");
        }
    }

    private static bool ReadAlwaysRam(JsonElement element) =>
        element.TryGetProperty("always_ram", out var v) && v.ValueKind == JsonValueKind.True;
}

/// <summary>
/// Per-query quantization knobs (<c>params.quantization</c>). Qdrant's defaults: use the quantized vectors, re-score
/// the candidates with the originals, and fetch <c>limit × oversampling</c> (oversampling 1) candidates.
/// </summary>
public sealed record QuantizationSearchParams(bool Ignore = false, bool Rescore = true, double Oversampling = 1.0)
{
    public static readonly QuantizationSearchParams Default = new();
}
