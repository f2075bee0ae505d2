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
/// A collection's (or one vector's) quantization. <see cref="Quantile"/> is the share of values the int8 range covers
/// (outliers beyond it are clipped; null: all of them); <see cref="Compression"/> the product quantizer's ratio to
/// float32 (4, 8, 16, 32 or 64). <see cref="AlwaysRam"/> is accepted and reported: codes are always in RAM.
/// </summary>
public sealed record QuantizationSettings(QuantizationKind Kind, float? Quantile = null, bool? AlwaysRam = null, int Compression = 0)
{
    /// <summary>The compression ratios the product quantizer supports.</summary>
    public static bool IsSupportedCompression(int ratio) => ratio is 4 or 8 or 16 or 32 or 64;
}

/// <summary>
/// Per-query quantization knobs (<c>params.quantization</c>). Qdrant's defaults: use the quantized vectors, re-score
/// the candidates with the originals, and fetch <c>limit × oversampling</c> (oversampling 1) candidates.
/// </summary>
public sealed record QuantizationSearchParams(bool Ignore = false, bool Rescore = true, double Oversampling = 1.0)
{
    public static readonly QuantizationSearchParams Default = new();
}
