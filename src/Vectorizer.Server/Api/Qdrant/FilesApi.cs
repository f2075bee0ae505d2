using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Vectorizer.Server.Api.Qdrant.Json;
using Vectorizer.Server.Application;
using Vectorizer.Server.Configuration;
using Vectorizer.Server.Http;
using Vectorizer.Server.Security;

namespace Vectorizer.Server.Api.Qdrant;

/// <summary>
/// Indexing into a running server (our extension): <c>vectorizer index --url</c> walks and reads the files on its own
/// machine and sends them here in batches; the server indexes them with the collection's embedders.
/// <list type="bullet">
/// <item><c>POST /collections/{c}/files</c> <c>{"root", "files": [{"path", "hash", "text"?, "modified"?}], "max_cost"?, "spent_cost"?}</c>:
/// a file whose chunks are of that hash is <c>unchanged</c>; one sent without <c>text</c> that is not is <c>changed</c>
/// (send it again with its text); the rest are indexed. Answers each file's outcome and the tokens and cost.</item>
/// <item><c>POST /collections/{c}/files/prune</c> <c>{"root", "present": [path, ...]}</c>: removes the chunks of the
/// root's files not listed (after a full run). Answers <c>{"removed"}</c>.</item>
/// </list>
/// </summary>
public static class FilesApi
{
    public static IServiceCollection AddFilesApi(this IServiceCollection services) => services.AddSingleton<FilesService>();

    public static IEndpointRouteBuilder MapFilesApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/collections/{collection}/files", Index).RequireAccess(AccessLevel.Write);
        app.MapPost("/collections/{collection}/files/prune", Prune).RequireAccess(AccessLevel.Write);
        return app;
    }

    private static async Task<IResult> Index(string collection, HttpContext context, FilesService files, VectorizerSettings settings)
    {
        using var body = await JsonBody.ReadAsync(context, settings.MaxRequestBytes()).ConfigureAwait(false);
        var request = ParseIndex(body.Root, settings.Limits.MaxBatch);
        var served = await files.IndexAsync(context.Call(), collection, request, context.RequestAborted).ConfigureAwait(false);
        return QdrantResults.Ok(w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("files");
            foreach (var file in served.Result.Files)
            {
                w.WriteStartObject();
                w.WriteString("path", file.Path);
                w.WriteString("outcome", file.Outcome);
                w.WriteNumber("chunks", file.Chunks);
                if (file.Reason is { } reason)
                {
                    w.WriteString("reason", reason);
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteNumber("tokens", served.Result.Tokens);
            w.WriteNumber("cost", served.Result.Cost);
            w.WriteEndObject();
        });
    }

    private static async Task<IResult> Prune(string collection, HttpContext context, FilesService files, VectorizerSettings settings)
    {
        using var body = await JsonBody.ReadAsync(context, settings.MaxRequestBytes()).ConfigureAwait(false);
        var input = body.Root;
        input.ExpectObject();
        input.DenyUnknown("root", "present");
        var root = input.Required("root").AsString();
        var present = input.Required("present").AsStringList();
        FilesService.Validate(new FilesRequest(root, [], 0, 0));
        foreach (var path in present)
        {
            FilesService.ValidatePath(path);
        }

        var served = await files.PruneAsync(context.Call(), collection, root, present, context.RequestAborted).ConfigureAwait(false);
        return QdrantResults.Ok(w =>
        {
            w.WriteStartObject();
            w.WriteNumber("removed", served.Result);
            w.WriteEndObject();
        });
    }

    private static FilesRequest ParseIndex(JsonInput body, int maxBatch)
    {
        body.ExpectObject();
        body.DenyUnknown("root", "files", "max_cost", "spent_cost");
        var files = new List<FileUpload>();
        foreach (var item in body.Required("files").Items())
        {
            item.ExpectObject();
            item.DenyUnknown("path", "hash", "text", "modified");
            var modified = DateTimeOffset.UnixEpoch;
            if (item.TryGet("modified", out var modifiedInput) && !DateTimeOffset.TryParse(modifiedInput.AsString(), System.Globalization.CultureInfo.InvariantCulture, out modified))
            {
                throw modifiedInput.Error("expected an ISO 8601 date and time");
            }

            files.Add(new FileUpload(
                item.Required("path").AsString(),
                item.Required("hash").AsString(),
                item.TryGet("text", out var text) && !text.IsNull ? text.AsString() : null,
                modified));
        }

        if (files.Count > maxBatch)
        {
            throw body.Invalid($"too many files in one request: {files.Count}, the limit is {maxBatch}");
        }

        var request = new FilesRequest(
            body.Required("root").AsString(),
            files,
            body.TryGet("max_cost", out var max) ? max.AsDouble() : 0,
            body.TryGet("spent_cost", out var spent) ? spent.AsDouble() : 0);
        FilesService.Validate(request);
        return request;
    }
}
