using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Errors;
using Vectorizer.Ingestion.Embeddings;

namespace Vectorizer.Ingestion;

/// <summary>
/// The one way a collection for text is made when it does not exist yet, shared by <c>POST
/// /collections/{c}/documents</c> (with the server's <c>embedding:</c> section) and the file indexer (the watcher and
/// <c>vectorizer index</c>): named vectors made by the embedders (<see cref="EmbeddingConfig.ApplyTo"/>) and the
/// engine's HNSW defaults. Two callers racing to create the same collection both end up with it.
/// </summary>
public static class TextCollections
{
    /// <summary>The config of a new collection whose vectors all come from <paramref name="embedding"/>.</summary>
    public static CollectionConfig NewConfig(EmbeddingConfig embedding, HnswDefaults defaults) =>
        embedding.ApplyTo(new CollectionConfig
        {
            Vectors = new Dictionary<string, VectorParams>(StringComparer.Ordinal),
            NamedVectors = true,
            Hnsw = defaults.ToConfig(),
        });

    /// <summary>
    /// Creates the collection through <paramref name="create"/> (the caller's own path, with its access checks), or,
    /// when someone else created it first, returns <paramref name="existing"/>'s.
    /// </summary>
    public static Collection CreateOrGet(EmbeddingConfig embedding, HnswDefaults defaults, Func<CollectionConfig, Collection> create, Func<Collection> existing)
    {
        try
        {
            return create(NewConfig(embedding, defaults));
        }
        catch (VectorizerException e) when (e.Code == ErrorCode.CollectionAlreadyExists)
        {
            return existing();
        }
    }
}
