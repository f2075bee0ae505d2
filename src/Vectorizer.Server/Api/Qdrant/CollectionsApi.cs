using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Vectorizer.Engine.Collections;
using Vectorizer.Server.Api.Qdrant.Json;
using Vectorizer.Server.Configuration;
using Vectorizer.Server.Http;

namespace Vectorizer.Server.Api.Qdrant;

/// <summary>Collection and alias endpoints (Qdrant 1.19).</summary>
public static class CollectionsApi
{
    public static IEndpointRouteBuilder MapCollectionsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/collections", ListCollections);
        app.MapPost("/collections/aliases", UpdateAliases);
        app.MapGet("/aliases", (CollectionManager manager) => Aliases(manager.ListAliases()));
        app.MapGet("/collections/{collection}", (string collection, CollectionManager manager) =>
        {
            var info = manager.Get(collection).GetInfo();
            return QdrantResults.Ok(w => ResponseJson.CollectionInfo(w, info));
        });
        app.MapPut("/collections/{collection}", CreateCollection);
        app.MapPatch("/collections/{collection}", UpdateCollection);
        app.MapDelete("/collections/{collection}", (string collection, CollectionManager manager) =>
            QdrantResults.Ok(manager.Delete(manager.TryGet(collection)?.Name ?? collection)));
        app.MapGet("/collections/{collection}/exists", (string collection, CollectionManager manager) =>
        {
            var exists = manager.Exists(collection);
            return QdrantResults.Ok(w =>
            {
                w.WriteStartObject();
                w.WriteBoolean("exists", exists);
                w.WriteEndObject();
            });
        });
        app.MapGet("/collections/{collection}/aliases", (string collection, CollectionManager manager) =>
            Aliases(manager.ListAliases(manager.Get(collection).Name)));
        app.MapPut("/collections/{collection}/index", CreatePayloadIndex);
        app.MapDelete("/collections/{collection}/index/{field}", (string collection, string field, CollectionManager manager) =>
        {
            var result = manager.Get(collection).DeletePayloadIndex(Uri.UnescapeDataString(field));
            return QdrantResults.Ok(w => ResponseJson.UpdateResult(w, result));
        });
        return app;
    }

    private static IResult ListCollections(CollectionManager manager)
    {
        var names = manager.List();
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

    private static async Task<IResult> CreateCollection(string collection, HttpContext context, CollectionManager manager, VectorizerSettings settings)
    {
        using var body = await JsonBody.ReadAsync(context, settings.MaxRequestBytes()).ConfigureAwait(false);
        var config = CollectionJson.ParseCreate(body.Root, manager.Options.HnswDefaults, settings.Limits.MaxVectorSize);
        manager.Create(collection, config);
        return QdrantResults.Ok(true);
    }

    private static async Task<IResult> UpdateCollection(string collection, HttpContext context, CollectionManager manager, VectorizerSettings settings)
    {
        var target = manager.Get(collection);
        using var body = await JsonBody.ReadAsync(context, settings.MaxRequestBytes(), emptyAsObject: true).ConfigureAwait(false);
        target.UpdateConfig(CollectionJson.ParseUpdate(body.Root));
        return QdrantResults.Ok(true);
    }

    private static async Task<IResult> CreatePayloadIndex(string collection, HttpContext context, CollectionManager manager, VectorizerSettings settings)
    {
        var target = manager.Get(collection);
        using var body = await JsonBody.ReadAsync(context, settings.MaxRequestBytes()).ConfigureAwait(false);
        var (field, schema) = CollectionJson.ParsePayloadIndex(body.Root);
        var result = target.CreatePayloadIndex(field, schema);
        return QdrantResults.Ok(w => ResponseJson.UpdateResult(w, result));
    }

    private static async Task<IResult> UpdateAliases(HttpContext context, CollectionManager manager, VectorizerSettings settings)
    {
        using var body = await JsonBody.ReadAsync(context, settings.MaxRequestBytes()).ConfigureAwait(false);
        manager.UpdateAliases(RequestJson.ParseAliases(body.Root));
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
