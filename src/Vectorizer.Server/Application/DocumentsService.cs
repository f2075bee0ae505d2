using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Points;
using Vectorizer.Ingestion;
using Vectorizer.Ingestion.Chunking;
using Vectorizer.Ingestion.Embeddings;
using Vectorizer.Server.Configuration;

namespace Vectorizer.Server.Application;

/// <summary>Text in, text out: documents embedded with a collection's embedders, and searches by text.</summary>
public sealed class DocumentsService(CollectionsService collections, IngestionService ingestion, VectorizerSettings settings)
{
    /// <summary>
    /// Embeds and upserts documents. A missing collection is created with the <c>embedding:</c> section of the server's
    /// configuration when it has one (creating needs manage rights), else it is a 404.
    /// </summary>
    public async Task<Served<IngestResult>> AddDocumentsAsync(
        CallContext call, string collection, IReadOnlyList<DocumentInput> documents, ChunkerOptions? chunking, bool wait, CancellationToken cancellationToken)
    {
        var target = collections.Manager.TryGet(collection) is null
            ? CreateWithConfiguredEmbedders(call, collection)
            : collections.Resolve(call, collection, AccessLevel.Write);
        return new(target, await ingestion.AddDocumentsAsync(target, documents, chunking, wait, cancellationToken).ConfigureAwait(false));
    }

    public async Task<Served<IReadOnlyList<ScoredPoint>>> SearchTextAsync(CallContext call, string collection, TextSearchRequest request, CancellationToken cancellationToken)
    {
        var target = collections.Resolve(call, collection, AccessLevel.Read);
        StrictMode.CheckQuery(target, new QueryRequest { Limit = request.Limit, Filter = request.Filter });
        return new(target, await ingestion.SearchTextAsync(target, request, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>The collection's <c>embedding</c> section.</summary>
    public EmbeddingConfig EmbeddingConfig(CallContext call, string collection) =>
        ingestion.For(collections.Resolve(call, collection, AccessLevel.Read)).Config;

    private Collection CreateWithConfiguredEmbedders(CallContext call, string name)
    {
        if (settings.Embedding.ToEmbeddingConfig() is not { } embedding)
        {
            return collections.Resolve(call, name, AccessLevel.Write); // 404, or 409 for a collection that could not be opened
        }

        return TextCollections.CreateOrGet(
            embedding,
            collections.Manager.Options.HnswDefaults,
            config => collections.Create(call, name, config),
            () => collections.Resolve(call, name, AccessLevel.Write));
    }
}
