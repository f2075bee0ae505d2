namespace Vectorizer.Ingestion;

/// <summary>
/// Failures of the ingestion layer that are not the engine's (bad input is the engine's <c>BadRequest</c>, as
/// anywhere else). Mapped to a
/// transport's status in one place (the server's <c>ErrorMapper</c>); a test freezes every name and number.
/// </summary>
public enum IngestionErrorCode
{
    /// <summary>An external embedding provider failed (after retries) or answered something unusable.</summary>
    EmbeddingProviderFailed = 1,

    /// <summary>Embedding the next batch would pass <c>embedding.max_cost</c> (per run of <c>vectorizer index</c>, per day for the server).</summary>
    CostLimitReached = 2,
}

/// <summary>The exception the ingestion layer throws for its own expected failures.</summary>
public sealed class IngestionException : Exception
{
    public IngestionException(IngestionErrorCode code, string message)
        : base(message)
    {
        Code = code;
    }

    public IngestionException(IngestionErrorCode code, string message, Exception inner)
        : base(message, inner)
    {
        Code = code;
    }

    public IngestionErrorCode Code { get; }
}
