using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Vectorizer.Engine.Collections;
using Vectorizer.Server.Api.Qdrant.Json;
using Vectorizer.Server.Application;
using Vectorizer.Server.Configuration;
using Vectorizer.Server.Http;
using Vectorizer.Server.Security;

namespace Vectorizer.Server.Api.Qdrant;

/// <summary>Collection and alias endpoints (Qdrant 1.19).</summary>
public static class CollectionsApi
{
    public static IEndpointRouteBuilder MapCollectionsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/collections", ListCollections).RequireAccess(AccessLevel.Read, perCollection: true);
        app.MapPost("/collections/aliases", UpdateAliases).RequireAccess(AccessLevel.Manage);
        app.MapGet("/aliases", (HttpContext context, CollectionsService collections) => Aliases(collections.ListAliases(context.Call())))
            .RequireAccess(AccessLevel.Read, perCollection: true);
        app.MapGet("/collections/{collection}", (string collection, HttpContext context, CollectionsService collections) =>
        {
            var info = collections.GetInfo(context.Call(), collection);
            return QdrantResults.Ok(w => ResponseJson.CollectionInfo(w, info));
        }).RequireAccess(AccessLevel.Read);
        app.MapPut("/collections/{collection}", CreateCollection).RequireAccess(AccessLevel.Manage);
        app.MapPatch("/collections/{collection}", UpdateCollection).RequireAccess(AccessLevel.Manage);
        app.MapDelete("/collections/{collection}", (string collection, HttpContext context, CollectionsService collections) =>
            QdrantResults.Ok(collections.Delete(context.Call(), collection))).RequireAccess(AccessLevel.Manage);
        app.MapGet("/collections/{collection}/exists", (string collection, HttpContext context, CollectionsService collections) =>
        {
            var exists = collections.Exists(context.Call(), collection);
            return QdrantResults.Ok(w =>
            {
                w.WriteStartObject();
                w.WriteBoolean("exists", exists);
                w.WriteEndObject();
            });
        }).RequireAccess(AccessLevel.Read);
        app.MapGet("/collections/{collection}/aliases", (string collection, HttpContext context, CollectionsService collections) =>
            Aliases(collections.ListAliases(context.Call(), collection))).RequireAccess(AccessLevel.Read);
        app.MapPut("/collections/{collection}/index", CreatePayloadIndex).RequireAccess(AccessLevel.Manage);
        app.MapDelete("/collections/{collection}/index/{field}", (string collection, string field, HttpContext context, CollectionsService collections) =>
        {
            var result = collections.DeletePayloadIndex(context.Call(), collection, Uri.UnescapeDataString(field));
            return QdrantResults.Ok(w => ResponseJson.UpdateResult(w, result));
        }).RequireAccess(AccessLevel.Manage);
        return app;
    }

    private static IResult ListCollections(HttpContext context, CollectionsService collections)
    {
        var names = collections.List(context.Call());
        return QdrantResults.Ok(w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("collections");
            foreach (var name in names)
            {
                w.WriteStartObject();
                w.WriteString("name", name);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    private static async Task<IResult> CreateCollection(string collection, HttpContext context, CollectionsService collections, VectorizerSettings settings)
    {
        using var body = await JsonBody.ReadAsync(context, settings.MaxRequestBytes()).ConfigureAwait(false);
        var config = CollectionJson.ParseCreate(body.Root, collections.Manager.Options.HnswDefaults, settings.Limits.MaxVectorSize);
        collections.Create(context.Call(), collection, config);
        return QdrantResults.Ok(true);
    }

    private static async Task<IResult> UpdateCollection(string collection, HttpContext context, CollectionsService collections, VectorizerSettings settings)
    {
        collections.Resolve(context.Call(), collection, AccessLevel.Manage);
        using var body = await JsonBody.ReadAsync(context, settings.MaxRequestBytes(), emptyAsObject: true).ConfigureAwait(false);
        collections.Update(context.Call(), collection, CollectionJson.ParseUpdate(body.Root));
        return QdrantResults.Ok(true);
    }

    private static async Task<IResult> CreatePayloadIndex(string collection, HttpContext context, CollectionsService collections, VectorizerSettings settings)
    {
        collections.Resolve(context.Call(), collection, AccessLevel.Manage);
        using var body = await JsonBody.ReadAsync(context, settings.MaxRequestBytes()).ConfigureAwait(false);
        var (field, schema) = CollectionJson.ParsePayloadIndex(body.Root);
        var result = collections.CreatePayloadIndex(context.Call(), collection, field, schema);
        return QdrantResults.Ok(w => ResponseJson.UpdateResult(w, result));
    }

    private static async Task<IResult> UpdateAliases(HttpContext context, CollectionsService collections, VectorizerSettings settings)
    {
        using var body = await JsonBody.ReadAsync(context, settings.MaxRequestBytes()).ConfigureAwait(false);
        collections.UpdateAliases(context.Call(), RequestJson.ParseAliases(body.Root));
        return QdrantResults.Ok(true);
    }

    private static IResult Aliases(IReadOnlyList<AliasDescription> aliases) => QdrantResults.Ok(w =>
    {
        w.WriteStartObject();
        w.WriteStartArray("aliases");
        foreach (var alias in aliases)
        {
            w.WriteStartObject();
            w.WriteString("alias_name", alias.AliasName);
            w.WriteString("collection_name", alias.CollectionName);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    });
}
