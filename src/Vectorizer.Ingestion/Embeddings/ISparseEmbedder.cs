using Vectorizer.Engine.Sparse;

namespace Vectorizer.Ingestion.Embeddings;

/// <summary>
/// Sparse embeddings (Microsoft.Extensions.AI has no abstraction for them). Documents and queries are embedded
/// differently: a document's values may depend on corpus statistics that the embedder keeps and persists.
/// </summary>
public interface ISparseEmbedder
{
    /// <summary>
    /// Embeds <paramref name="texts"/>, passes the vectors to <paramref name="write"/> (the upsert) and, only when
    /// it succeeds, commits the statistics those vectors were computed with. Calls are serialised per embedder, so
    /// concurrent ingests of one collection count every document exactly once.
    /// </summary>
    Task<T> EmbedDocumentsAsync<T>(IReadOnlyList<string> texts, Func<IReadOnlyList<SparseVector>, Task<T>> write, CancellationToken cancellationToken);

    /// <summary>The query vector for <paramref name="text"/>.</summary>
    SparseVector EmbedQuery(string text);
}
