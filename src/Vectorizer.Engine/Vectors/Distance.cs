namespace Vectorizer.Engine.Vectors;

/// <summary>Vector similarity functions. Values are persisted: never renumber.</summary>
public enum Distance : byte
{
    Cosine = 1,
    Euclid = 2,
    Dot = 3,
    Manhattan = 4,
}

/// <summary>
/// Converts between the engine's internal "distance" (lower is better, used by every index) and the
/// score Qdrant returns to clients: Cosine and Dot return the similarity (higher is better), Euclid and
/// Manhattan return the distance itself (lower is better).
/// </summary>
public static class DistanceExtensions
{
    /// <summary>True when a larger client-visible score means a closer point.</summary>
    public static bool HigherIsBetter(this Distance distance) => distance is Distance.Cosine or Distance.Dot;

    /// <summary>Internal distance → the score a client sees.</summary>
    public static float ToScore(this Distance distance, float internalDistance) => distance switch
    {
        Distance.Cosine or Distance.Dot => -internalDistance,
        Distance.Euclid => MathF.Sqrt(MathF.Max(0f, internalDistance)),
        Distance.Manhattan => internalDistance,
        _ => throw new ArgumentOutOfRangeException(nameof(distance)),
    };

    /// <summary>
    /// A client score threshold → the largest internal distance that still passes it. For Cosine and Dot a
    /// result passes when score ≥ threshold; for Euclid and Manhattan when distance ≤ threshold.
    /// </summary>
    public static float ThresholdToInternal(this Distance distance, float scoreThreshold) => distance switch
    {
        Distance.Cosine or Distance.Dot => -scoreThreshold,
        Distance.Euclid => scoreThreshold < 0 ? -1f : scoreThreshold * scoreThreshold,
        Distance.Manhattan => scoreThreshold,
        _ => throw new ArgumentOutOfRangeException(nameof(distance)),
    };

    public static string ToApiName(this Distance distance) => distance switch
    {
        Distance.Cosine => "Cosine",
        Distance.Euclid => "Euclid",
        Distance.Dot => "Dot",
        Distance.Manhattan => "Manhattan",
        _ => throw new ArgumentOutOfRangeException(nameof(distance)),
    };

    public static bool TryParse(string? text, out Distance distance)
    {
        switch (text)
        {
            case "Cosine": distance = Distance.Cosine; return true;
            case "Euclid": distance = Distance.Euclid; return true;
            case "Dot": distance = Distance.Dot; return true;
            case "Manhattan": distance = Distance.Manhattan; return true;
            default: distance = default; return false;
        }
    }
}
