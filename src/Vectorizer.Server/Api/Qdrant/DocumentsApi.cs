using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Errors;
using Vectorizer.Ingestion;
using Vectorizer.Server.Api.Qdrant.Json;
using Vectorizer.Server.Application;
using Vectorizer.Server.Configuration;
using Vectorizer.Server.Http;
using Vectorizer.Server.Security;

namespace Vectorizer.Server.Api.Qdrant;

/// <summary>
/// Text in, text out (our extension of the Qdrant dialect): documents are embedded with the collection's
/// <c>embedding</c> section and upserted; text queries are embedded and run as dense, sparse or hybrid (RRF) queries.
/// </summary>
public static class DocumentsApi
{
    public static IEndpointRouteBuilder MapDocumentsApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/collections/{collection}/documents", AddDocuments).RequireAccess(AccessLevel.Write);
        app.MapPost("/collections/{collection}/search/text", SearchText).RequireAccess(AccessLevel.Read);
        app.MapGet("/collections/{collection}/embedding", (string collection, HttpContext context, DocumentsService documents) =>
        {
            var config = documents.EmbeddingConfig(context.Call(), collection).ToJson();
            return QdrantResults.Ok(w => config.WriteTo(w));
        }).RequireAccess(AccessLevel.Read);
        return app;
    }

    private static async Task<IResult> AddDocuments(string collection, HttpContext context, DocumentsService documents, VectorizerSettings settings)
    {
        var wait = QueryParameters.Bool(context.Request.Query["wait"], "wait", fallback: false);
        using var body = await JsonBody.ReadAsync(context, settings.MaxRequestBytes()).ConfigureAwait(false);
        var (inputs, chunking) = DocumentJson.ParseDocuments(body.Root, settings.Limits.MaxBatch);
        var served = await documents.AddDocumentsAsync(context.Call(), collection, inputs, chunking, wait, context.RequestAborted).ConfigureAwait(false);
        return QdrantResults.Ok(w => DocumentJson.IngestResult(w, served.Result));
    }

    private static async Task<IResult> SearchText(string collection, HttpContext context, DocumentsService documents, VectorizerSettings settings)
    {
        using var body = await JsonBody.ReadAsync(context, settings.MaxRequestBytes()).ConfigureAwait(false);
        var (target, result) = await documents.SearchAsync(context.Call(), collection, DocumentJson.ParseSearch(body.Root), context.RequestAborted).ConfigureAwait(false);
        return QdrantResults.Ok(w => DocumentJson.SearchResult(w, result, target.Config.NamedVectors));
    }
}
