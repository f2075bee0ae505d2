using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Errors;
using Vectorizer.Ingestion;
using Vectorizer.Server.Api.Qdrant.Json;
using Vectorizer.Server.Configuration;
using Vectorizer.Server.Http;

namespace Vectorizer.Server.Api.Qdrant;

/// <summary>
/// Text in, text out (our extension of the Qdrant dialect): documents are embedded with the collection's
/// <c>embedding</c> section and upserted; text queries are embedded and run as dense, sparse or hybrid (RRF) queries.
/// </summary>
public static class DocumentsApi
{
    public static IEndpointRouteBuilder MapDocumentsApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/collections/{collection}/documents", AddDocuments);
        app.MapPost("/collections/{collection}/search/text", SearchText);
        app.MapGet("/collections/{collection}/embedding", (string collection, CollectionManager manager, IngestionService ingestion) =>
        {
            var config = ingestion.For(manager.Get(collection)).Config.ToJson();
            return QdrantResults.Ok(w => config.WriteTo(w));
        });
        return app;
    }

    private static async Task<IResult> AddDocuments(string collection, HttpContext context, CollectionManager manager, IngestionService ingestion, VectorizerSettings settings)
    {
        var target = manager.TryGet(collection) ?? CreateWithConfiguredEmbedders(collection, manager, settings);
        var wait = QueryParameters.Bool(context.Request.Query["wait"], "wait", fallback: false);
        using var body = await JsonBody.ReadAsync(context, settings.MaxRequestBytes()).ConfigureAwait(false);
        var (documents, chunking) = DocumentJson.ParseDocuments(body.Root, settings.Limits.MaxBatch);
        var result = await ingestion.AddDocumentsAsync(target, documents, chunking, wait, context.RequestAborted).ConfigureAwait(false);
        return QdrantResults.Ok(w => DocumentJson.IngestResult(w, result));
    }

    /// <summary>A missing collection is created with the <c>embedding:</c> section of the server's config, when it has one.</summary>
    private static Collection CreateWithConfiguredEmbedders(string name, CollectionManager manager, VectorizerSettings settings)
    {
        if (settings.Embedding.ToEmbeddingConfig() is not { } embedding)
        {
            return manager.Get(name); // 404, or 409 for a collection that could not be opened
        }

        var defaults = manager.Options.HnswDefaults;
        var config = embedding.ApplyTo(new CollectionConfig
        {
            Vectors = new Dictionary<string, VectorParams>(StringComparer.Ordinal),
            NamedVectors = true,
            Hnsw = new HnswConfig { M = defaults.M, EfConstruct = defaults.EfConstruction },
        });
        try
        {
            return manager.Create(name, config);
        }
        catch (VectorizerException e) when (e.Code == ErrorCode.CollectionAlreadyExists)
        {
            return manager.Get(name);
        }
    }

    private static async Task<IResult> SearchText(string collection, HttpContext context, CollectionManager manager, IngestionService ingestion, VectorizerSettings settings)
    {
        var target = manager.Get(collection);
        using var body = await JsonBody.ReadAsync(context, settings.MaxRequestBytes()).ConfigureAwait(false);
        var points = await ingestion.SearchTextAsync(target, DocumentJson.ParseSearch(body.Root), context.RequestAborted).ConfigureAwait(false);
        return QdrantResults.Ok(w => Output.QueryResponse(w, points, target.Config.NamedVectors));
    }
}
