using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Points;
using Vectorizer.Ingestion;
using Vectorizer.Ingestion.Chunking;
using Vectorizer.Ingestion.Embeddings;
using Vectorizer.Server.Application.Caching;
using Vectorizer.Server.Configuration;

using Vectorizer.Server.Observability;

namespace Vectorizer.Server.Application;

/// <summary>Text in, text out: documents embedded with a collection's embedders, and searches by text.</summary>
public sealed class DocumentsService(CollectionsService collections, IngestionService ingestion, VectorizerSettings settings, QueryCache cache)
{
    /// <summary>
    /// Embeds and upserts documents. A missing collection is created with the <c>embedding:</c> section of the server's
    /// configuration when it has one (creating needs manage rights), else it is a 404.
    /// </summary>
    public async Task<Served<IngestResult>> AddDocumentsAsync(
        CallContext call, string collection, IReadOnlyList<DocumentInput> documents, ChunkerOptions? chunking, bool wait, CancellationToken cancellationToken)
    {
        using var span = ServerTelemetry.Operation("documents.add", null);
        var target = collections.Manager.TryGet(collection) is null
            ? CreateWithConfiguredEmbedders(call, collection)
            : collections.Resolve(call, collection, AccessLevel.Write);
        return new(target, await ingestion.AddDocumentsAsync(target, documents, chunking, wait, cancellationToken).ConfigureAwait(false));
    }

    public async Task<Served<IReadOnlyList<ScoredPoint>>> SearchTextAsync(CallContext call, string collection, TextSearchRequest request, CancellationToken cancellationToken)
    {
        using var span = ServerTelemetry.Operation("documents.search_text", null);
        var (target, result) = await SearchAsync(call, collection, request, cancellationToken).ConfigureAwait(false);
        return new(target, result.Points);
    }

    /// <summary>
    /// Searches by text: the query's expansion first (HyDE, when asked; its texts have their own cache), then the
    /// answer, from the query cache when the collection has not changed since the same search with the same expansion.
    /// A search whose expansion timed out is cached as such: the next one asks the LLM again, and if it answers, the
    /// expanded search is a different entry.
    /// </summary>
    public async Task<Served<TextSearchResult>> SearchAsync(CallContext call, string collection, TextSearchRequest request, CancellationToken cancellationToken)
    {
        var target = collections.Resolve(call, collection, AccessLevel.Read);
        StrictMode.CheckQuery(target, new QueryRequest { Limit = request.Limit, Filter = request.Filter });
        var expansion = await ingestion.ExpandQueryAsync(target, request, cancellationToken).ConfigureAwait(false);
        var answer = await cache.GetOrRunAsync(
            target,
            "text",
            new { Request = request, Hypothetical = expansion?.Text },
            async token =>
            {
                var result = await ingestion.SearchTextAsync(target, request, expansion, token).ConfigureAwait(false);
                return new CachedAnswer { Points = result.Points };
            },
            cancellationToken).ConfigureAwait(false);
        return new(target, new TextSearchResult(answer.Points, expansion));
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
