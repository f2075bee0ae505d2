using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Vectorizer.Ingestion;

/// <summary>
/// The ingestion library's instruments (BCL <see cref="Meter"/> <c>Vectorizer.Ingestion</c>): what embedding costs, per
/// provider. The server exports them (Prometheus names <c>vectorizer_embedding_*_total</c>); with no listener a
/// recording costs one check.
/// </summary>
public static class IngestionTelemetry
{
    public const string MeterName = "Vectorizer.Ingestion";

    private static readonly Meter Meter = new(MeterName);

    private static readonly Counter<long> Requests = Meter.CreateCounter<long>(
        "vectorizer.embedding.requests", "{request}", "HTTP requests sent to embedding providers, retries included");

    private static readonly Counter<long> Texts = Meter.CreateCounter<long>(
        "vectorizer.embedding.texts", "{text}", "Texts embedded by a provider (not served from the embedding cache)");

    private static readonly Counter<long> CacheHits = Meter.CreateCounter<long>(
        "vectorizer.embedding.cache.hits", "{text}", "Texts whose embedding came from the embedding cache");

    private static readonly Counter<long> Tokens = Meter.CreateCounter<long>(
        "vectorizer.embedding.tokens", "{token}", "Tokens providers reported for embedding requests");

    private static readonly Counter<double> Cost = Meter.CreateCounter<double>(
        "vectorizer.embedding.cost", null, "Embedding cost (tokens times cost_per_1k_tokens / 1000, in the unit of that setting)");

    /// <summary>Records one embedding call of <paramref name="provider"/>.</summary>
    public static void RecordEmbedding(string provider, long requests, long texts, long cached, long tokens, double cost)
    {
        if (!Texts.Enabled)
        {
            return;
        }

        var tags = new TagList { { "provider", provider } };
        Requests.Add(requests, tags);
        Texts.Add(texts, tags);
        CacheHits.Add(cached, tags);
        Tokens.Add(tokens, tags);
        Cost.Add(cost, tags);
    }
}
