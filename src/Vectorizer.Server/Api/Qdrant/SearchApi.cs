using System.Text.Json;
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

/// <summary>
/// The search family beyond <c>query</c>: the legacy <c>search</c>, <c>recommend</c> and <c>discover</c> endpoints
/// (which Qdrant clients before the universal query, and LangChain, still call) with their batch and group forms,
/// <c>query/groups</c>, <c>facet</c> and the search matrix. Every one is a <see cref="PointsService"/> method; the
/// handlers only parse and render.
/// </summary>
public static class SearchApi
{
    public static IEndpointRouteBuilder MapSearchApi(this IEndpointRouteBuilder app)
    {
        // Every one of them reads one collection.
        var points = app.MapGroup("/collections/{collection}/points").RequireAccess(AccessLevel.Read);
        points.MapPost("/search", (string collection, HttpContext context) => Scored(context, collection, body => SearchJson.ParseSearch(body)));
        points.MapPost("/search/batch", (string collection, HttpContext context) => Batch(context, collection, body => SearchJson.ParseBatch(body, b => SearchJson.ParseSearch(b))));
        points.MapPost("/search/groups", (string collection, HttpContext context) => Grouped(context, collection, body => SearchJson.ParseSearch(body, grouped: true)));
        points.MapPost("/recommend", (string collection, HttpContext context) => Scored(context, collection, body => SearchJson.ParseRecommend(body)));
        points.MapPost("/recommend/batch", (string collection, HttpContext context) => Batch(context, collection, body => SearchJson.ParseBatch(body, b => SearchJson.ParseRecommend(b))));
        points.MapPost("/recommend/groups", (string collection, HttpContext context) => Grouped(context, collection, body => SearchJson.ParseRecommend(body, grouped: true)));
        points.MapPost("/discover", (string collection, HttpContext context) => Scored(context, collection, SearchJson.ParseDiscover));
        points.MapPost("/discover/batch", (string collection, HttpContext context) => Batch(context, collection, body => SearchJson.ParseBatch(body, SearchJson.ParseDiscover)));
        points.MapPost("/query/groups", (string collection, HttpContext context) => Grouped(context, collection, RequestJson.ParseQuery));
        points.MapPost("/search/matrix/pairs", (string collection, HttpContext context) => Matrix(context, collection, ResponseJson.MatrixPairs));
        points.MapPost("/search/matrix/offsets", (string collection, HttpContext context) => Matrix(context, collection, ResponseJson.MatrixOffsets));
        app.MapPost("/collections/{collection}/facet", Facet).RequireAccess(AccessLevel.Read);
        return app;
    }

    private static async Task<IResult> Scored(HttpContext context, string collection, Func<JsonInput, QueryRequest> parse)
    {
        var (points, settings) = Services(context);
        using var body = await JsonBody.ReadAsync(context, settings.MaxRequestBytes()).ConfigureAwait(false);
        var (target, found) = points.Query(context.Call(), collection, parse(body.Root));
        return QdrantResults.Ok(w => ResponseJson.ScoredPoints(w, found, target.Config.NamedVectors));
    }

    private static async Task<IResult> Batch(HttpContext context, string collection, Func<JsonInput, List<QueryRequest>> parse)
    {
        var (points, settings) = Services(context);
        using var body = await JsonBody.ReadAsync(context, settings.MaxRequestBytes()).ConfigureAwait(false);
        var (target, results) = points.QueryBatch(context.Call(), collection, parse(body.Root));
        return QdrantResults.Ok(w =>
        {
            w.WriteStartArray();
            foreach (var found in results)
            {
                ResponseJson.ScoredPoints(w, found, target.Config.NamedVectors);
            }

            w.WriteEndArray();
        });
    }

    private static async Task<IResult> Grouped(HttpContext context, string collection, Func<JsonInput, QueryRequest> parse)
    {
        var (points, settings) = Services(context);
        using var body = await JsonBody.ReadAsync(context, settings.MaxRequestBytes()).ConfigureAwait(false);
        var (request, lookup) = SearchJson.ParseGroups(body.Root, parse(body.Root));
        var (target, answer) = points.QueryGroups(context.Call(), collection, request, lookup);
        return QdrantResults.Ok(w => ResponseJson.Groups(w, answer, target.Config.NamedVectors));
    }

    private static async Task<IResult> Matrix(HttpContext context, string collection, Action<Utf8JsonWriter, SearchMatrix> render)
    {
        var (points, settings) = Services(context);
        using var body = await JsonBody.ReadAsync(context, settings.MaxRequestBytes(), emptyAsObject: true).ConfigureAwait(false);
        var matrix = points.SearchMatrix(context.Call(), collection, SearchJson.ParseSearchMatrix(body.Root)).Result;
        return QdrantResults.Ok(w => render(w, matrix));
    }

    private static async Task<IResult> Facet(string collection, HttpContext context)
    {
        var (points, settings) = Services(context);
        using var body = await JsonBody.ReadAsync(context, settings.MaxRequestBytes()).ConfigureAwait(false);
        var hits = points.Facet(context.Call(), collection, SearchJson.ParseFacet(body.Root)).Result;
        return QdrantResults.Ok(w => ResponseJson.Facet(w, hits));
    }

    private static (PointsService Points, VectorizerSettings Settings) Services(HttpContext context)
    {
        var services = context.RequestServices;
        return ((PointsService)services.GetService(typeof(PointsService))!, (VectorizerSettings)services.GetService(typeof(VectorizerSettings))!);
    }
}
