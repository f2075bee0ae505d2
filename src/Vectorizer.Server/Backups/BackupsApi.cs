using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Vectorizer.Engine.Errors;
using Vectorizer.Server.Api.Qdrant.Json;
using Vectorizer.Server.Application;
using Vectorizer.Server.Configuration;
using Vectorizer.Server.Hosting;
using Vectorizer.Server.Http;
using Vectorizer.Server.Security;

namespace Vectorizer.Server.Backups;

/// <summary>
/// The two HTTP faces of <see cref="BackupsService"/>: our <c>/api/backups</c> routes and Qdrant's snapshot API. Both only
/// translate; every route needs manage access.
/// </summary>
public static class BackupsApi
{
    /// <summary>Registers the service, the schedule and the status they report.</summary>
    public static IServiceCollection AddBackups(this IServiceCollection services, VectorizerSettings settings)
    {
        services.AddBackupsService(settings);
        services.AddSingleton<BackupMetrics>();
        services.AddSingleton<BackupScheduler>();
        services.AddHostedServiceAfterEngine<BackupScheduler>();
        return services;
    }

    /// <summary>The service alone (no schedule): for <c>vectorizer mcp</c> in-process.</summary>
    public static IServiceCollection AddBackupsService(this IServiceCollection services, VectorizerSettings settings)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(provider => new BackupsService(
            provider.GetRequiredService<Engine.Collections.CollectionManager>(), settings.Backup, provider.GetRequiredService<TimeProvider>(), provider.GetRequiredService<ILoggerFactory>()));
        return services;
    }

    public static IEndpointRouteBuilder MapBackupsApi(this IEndpointRouteBuilder app)
    {
        if (app.ServiceProvider.GetRequiredService<VectorizerSettings>().Metrics.Enabled)
        {
            _ = app.ServiceProvider.GetRequiredService<BackupMetrics>(); // registers the observable instruments
        }

        // Ours (the product documents' routes).
        app.MapGet("/api/backups", (HttpContext context, BackupsService backups) =>
            QdrantResults.Ok(w => WriteBackups(w, backups.List(context.Call())))).RequireAccess(AccessLevel.Manage);
        app.MapPost("/api/backups/create", CreateBackup).RequireAccess(AccessLevel.Manage);
        app.MapPost("/api/backups/restore", RestoreBackup).RequireAccess(AccessLevel.Manage);
        app.MapPost("/api/backups/verify", VerifyBackup).RequireAccess(AccessLevel.Manage);
        app.MapGet("/api/backups/progress", (HttpContext context, BackupsService backups) =>
        {
            context.Call().Access.Demand(AccessLevel.Manage, null);
            return QdrantResults.Ok(w => WriteProgress(w, backups.Activity.Current));
        }).RequireAccess(AccessLevel.Manage);
        app.MapDelete("/api/backups/{id}", async (string id, HttpContext context, BackupsService backups) =>
        {
            await backups.DeleteAsync(context.Call(), id, context.RequestAborted).ConfigureAwait(false);
            return QdrantResults.Ok(true);
        }).RequireAccess(AccessLevel.Manage);

        // Qdrant's.
        app.MapPost("/collections/{collection}/snapshots", (string collection, HttpContext context, BackupsService backups) =>
            CreateSnapshot(context, backups, collection)).RequireAccess(AccessLevel.Manage);
        app.MapGet("/collections/{collection}/snapshots", (string collection, HttpContext context, BackupsService backups) =>
            QdrantResults.Ok(w => WriteSnapshots(w, backups.ListSnapshots(context.Call(), collection)))).RequireAccess(AccessLevel.Manage);
        app.MapPut("/collections/{collection}/snapshots/recover", RecoverSnapshot).RequireAccess(AccessLevel.Manage);
        app.MapPost("/collections/{collection}/snapshots/upload", UploadSnapshot).RequireAccess(AccessLevel.Manage).DisableAntiforgery();
        app.MapGet("/collections/{collection}/snapshots/{name}", (string collection, string name, HttpContext context, BackupsService backups) =>
            Download(backups.SnapshotPath(context.Call(), collection, Uri.UnescapeDataString(name)))).RequireAccess(AccessLevel.Manage);
        app.MapDelete("/collections/{collection}/snapshots/{name}", (string collection, string name, HttpContext context, BackupsService backups) =>
            DeleteSnapshot(context, backups, collection, Uri.UnescapeDataString(name))).RequireAccess(AccessLevel.Manage);
        app.MapPost("/snapshots", (HttpContext context, BackupsService backups) => CreateSnapshot(context, backups, null)).RequireAccess(AccessLevel.Manage);
        app.MapGet("/snapshots", (HttpContext context, BackupsService backups) =>
            QdrantResults.Ok(w => WriteSnapshots(w, backups.ListSnapshots(context.Call(), null)))).RequireAccess(AccessLevel.Manage);
        app.MapGet("/snapshots/{name}", (string name, HttpContext context, BackupsService backups) =>
            Download(backups.SnapshotPath(context.Call(), null, Uri.UnescapeDataString(name)))).RequireAccess(AccessLevel.Manage);
        app.MapDelete("/snapshots/{name}", (string name, HttpContext context, BackupsService backups) =>
            DeleteSnapshot(context, backups, null, Uri.UnescapeDataString(name))).RequireAccess(AccessLevel.Manage);
        return app;
    }

    // ------------------------------------------------------------------ /api/backups

    /// <summary><c>{collection?, type: full|incremental}</c>.</summary>
    private static async Task<IResult> CreateBackup(HttpContext context, BackupsService backups, VectorizerSettings settings)
    {
        string? collection = null;
        var incremental = false;
        using (var body = await JsonBody.ReadAsync(context, settings.MaxRequestBytes(), emptyAsObject: true).ConfigureAwait(false))
        {
            var root = body.Root.ExpectObject();
            root.DenyUnknown("collection", "type");
            if (root.TryGet("collection", out var c) && c.Element.ValueKind != JsonValueKind.Null)
            {
                collection = c.AsString();
            }

            if (root.TryGet("type", out var t) && t.Element.ValueKind != JsonValueKind.Null)
            {
                incremental = t.AsString() switch
                {
                    "full" => false,
                    "incremental" => true,
                    var other => throw t.Invalid($"type must be `full` or `incremental`, got `{other}`"),
                };
            }
        }

        var created = await backups.CreateAsync(context.Call(), new BackupRequest(collection, incremental), cancellationToken: context.RequestAborted).ConfigureAwait(false);
        return QdrantResults.Ok(w => WriteBackup(w, created));
    }

    /// <summary><c>{backup_id, collection?, as?}</c>.</summary>
    private static async Task<IResult> RestoreBackup(HttpContext context, BackupsService backups, VectorizerSettings settings)
    {
        string id;
        string? collection = null, asName = null;
        using (var body = await JsonBody.ReadAsync(context, settings.MaxRequestBytes()).ConfigureAwait(false))
        {
            var root = body.Root.ExpectObject();
            root.DenyUnknown("backup_id", "collection", "as");
            id = root.Required("backup_id").AsString();
            if (root.TryGet("collection", out var c) && c.Element.ValueKind != JsonValueKind.Null)
            {
                collection = c.AsString();
            }

            if (root.TryGet("as", out var a) && a.Element.ValueKind != JsonValueKind.Null)
            {
                asName = a.AsString();
            }
        }

        CheckId(id);
        var result = await backups.RestoreAsync(context.Call(), id, collection, asName, cancellationToken: context.RequestAborted).ConfigureAwait(false);
        return QdrantResults.Ok(w => WriteRestore(w, result));
    }

    /// <summary><c>{backup_id}</c>.</summary>
    private static async Task<IResult> VerifyBackup(HttpContext context, BackupsService backups, VectorizerSettings settings)
    {
        string id;
        using (var body = await JsonBody.ReadAsync(context, settings.MaxRequestBytes()).ConfigureAwait(false))
        {
            var root = body.Root.ExpectObject();
            root.DenyUnknown("backup_id");
            id = root.Required("backup_id").AsString();
        }

        CheckId(id);
        var result = await backups.VerifyAsync(context.Call(), id, cancellationToken: context.RequestAborted).ConfigureAwait(false);
        return QdrantResults.Ok(w =>
        {
            w.WriteStartObject();
            w.WriteString("backup_id", result.Id);
            w.WriteBoolean("valid", true);
            WriteStrings(w, "chain", result.Chain);
            w.WriteNumber("files", result.Files);
            w.WriteNumber("bytes", result.Bytes);
            w.WriteNumber("seconds", Math.Round(result.Seconds, 3));
            w.WriteEndObject();
        });
    }

    /// <summary>Over HTTP a backup is named by its id, never by a path.</summary>
    internal static void CheckId(string id)
    {
        if (id.Length == 0 || id.IndexOfAny(['/', '\\']) >= 0 || id is "." or "..")
        {
            throw VectorizerException.BadRequest($"backup_id `{id}` is not a backup id (see GET /api/backups)");
        }
    }

    // ------------------------------------------------------------------ Qdrant's snapshots

    private static async Task<IResult> CreateSnapshot(HttpContext context, BackupsService backups, string? collection)
    {
        var call = context.Call();
        if (!Wait(context, fallback: true))
        {
            // Checked now (access, existence), written in the background; it appears in the listing when done.
            backups.ListSnapshots(call, collection);
            var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(BackupsApi));
            _ = Task.Run(async () =>
            {
                try
                {
                    await backups.CreateSnapshotAsync(call, collection).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    logger.LogError(e, "Snapshot of {Collection} failed", collection ?? "all collections");
                }
            });
            return Accepted();
        }

        var created = await backups.CreateSnapshotAsync(call, collection, context.RequestAborted).ConfigureAwait(false);
        return QdrantResults.Ok(w => WriteSnapshot(w, created));
    }

    private static async Task<IResult> DeleteSnapshot(HttpContext context, BackupsService backups, string? collection, string name)
    {
        await backups.DeleteSnapshotAsync(context.Call(), collection, name, context.RequestAborted).ConfigureAwait(false);
        return QdrantResults.Ok(true);
    }

    /// <summary><c>{location, priority?, checksum?, api_key?}</c>.</summary>
    private static async Task<IResult> RecoverSnapshot(string collection, HttpContext context, BackupsService backups, VectorizerSettings settings)
    {
        string location;
        string? checksum = null, apiKey = null;
        using (var body = await JsonBody.ReadAsync(context, settings.MaxRequestBytes()).ConfigureAwait(false))
        {
            var root = body.Root.ExpectObject();
            root.DenyUnknown("location", "priority", "checksum", "api_key");
            location = root.Required("location").AsString();
            if (root.TryGet("priority", out var p) && p.Element.ValueKind != JsonValueKind.Null)
            {
                Priority(p.AsString());
            }

            if (root.TryGet("checksum", out var c) && c.Element.ValueKind != JsonValueKind.Null)
            {
                checksum = c.AsString();
            }

            if (root.TryGet("api_key", out var k) && k.Element.ValueKind != JsonValueKind.Null)
            {
                apiKey = k.AsString();
            }
        }

        return await Recover(context, () => backups.RecoverSnapshotAsync(context.Call(), collection, location, checksum, apiKey)).ConfigureAwait(false);
    }

    /// <summary>multipart/form-data with a <c>snapshot</c> file; <c>?priority=&amp;checksum=</c>.</summary>
    private static async Task<IResult> UploadSnapshot(string collection, HttpContext context, BackupsService backups)
    {
        Priority(context.Request.Query["priority"]);
        var checksum = context.Request.Query["checksum"].ToString() is { Length: > 0 } given ? given : null;
        if (!context.Request.HasFormContentType)
        {
            throw VectorizerException.BadRequest("expected multipart/form-data with a `snapshot` file");
        }

        // A snapshot is as large as its collection: the request size limit (limits.max_request_mb) is for JSON bodies.
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = null;
        }

        var form = await context.Request.ReadFormAsync(new FormOptions { MultipartBodyLengthLimit = long.MaxValue }, context.RequestAborted).ConfigureAwait(false);
        var file = form.Files.GetFile("snapshot") ?? (form.Files.Count == 1 ? form.Files[0] : null)
            ?? throw VectorizerException.BadRequest("the form has no `snapshot` file");
        var call = context.Call();
        return await Recover(context, async () =>
        {
            await using var stream = file.OpenReadStream();
            return await backups.UploadSnapshotAsync(call, collection, stream, file.FileName, checksum).ConfigureAwait(false);
        }).ConfigureAwait(false);
    }

    private static async Task<IResult> Recover(HttpContext context, Func<Task<RestoreResult>> recover)
    {
        if (!Wait(context, fallback: true))
        {
            var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(BackupsApi));
            _ = Task.Run(async () =>
            {
                try
                {
                    await recover().ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    logger.LogError(e, "Snapshot recovery failed");
                }
            });
            return Accepted();
        }

        await recover().ConfigureAwait(false);
        return QdrantResults.Ok(true);
    }

    private static void Priority(string? value)
    {
        if (!string.IsNullOrEmpty(value) && value is not ("replica" or "snapshot" or "no_sync"))
        {
            throw VectorizerException.BadRequest($"unknown priority `{value}`, expected one of `replica`, `snapshot`, `no_sync`");
        }
    }

    private static bool Wait(HttpContext context, bool fallback) => QueryParameters.Bool(context.Request.Query["wait"], "wait", fallback);

    private static IResult Accepted() =>
        Results.Content("{\"result\":null,\"status\":\"accepted\",\"time\":0}", "application/json", statusCode: StatusCodes.Status202Accepted);

    private static IResult Download(string path) =>
        Results.File(path, "application/octet-stream", Path.GetFileName(path), enableRangeProcessing: true);

    // ------------------------------------------------------------------ JSON

    private static void WriteSnapshots(Utf8JsonWriter w, IReadOnlyList<BackupDescription> list)
    {
        w.WriteStartArray();
        foreach (var snapshot in list)
        {
            WriteSnapshot(w, snapshot);
        }

        w.WriteEndArray();
    }

    /// <summary>Qdrant's <c>SnapshotDescription</c>.</summary>
    private static void WriteSnapshot(Utf8JsonWriter w, BackupDescription snapshot)
    {
        w.WriteStartObject();
        w.WriteString("name", snapshot.Name);
        w.WriteString("creation_time", snapshot.CreatedAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture));
        w.WriteNumber("size", snapshot.Size);
        if (snapshot.Sha256 is { } sha)
        {
            w.WriteString("checksum", sha);
        }
        else
        {
            w.WriteNull("checksum");
        }

        w.WriteEndObject();
    }

    internal static void WriteBackups(Utf8JsonWriter w, IReadOnlyList<BackupDescription> list)
    {
        w.WriteStartObject();
        w.WriteStartArray("backups");
        foreach (var backup in list)
        {
            WriteBackup(w, backup);
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    internal static void WriteBackup(Utf8JsonWriter w, BackupDescription backup)
    {
        w.WriteStartObject();
        w.WriteString("id", backup.Id);
        w.WriteString("type", backup.Type);
        if (backup.Parent is { } parent)
        {
            w.WriteString("parent", parent);
        }

        WriteStrings(w, "chain", backup.Chain);
        w.WriteString("created_at", backup.CreatedAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
        w.WriteString("origin", backup.Origin);
        w.WriteBoolean("all_collections", backup.AllCollections);
        WriteStrings(w, "collections", backup.Collections);
        w.WriteNumber("points", backup.Points);
        w.WriteNumber("size", backup.Size);
        if (backup.Sha256 is { } sha)
        {
            w.WriteString("sha256", sha);
        }

        w.WriteString("file", backup.Name);
        w.WriteEndObject();
    }

    /// <summary>The running operation (null when none): what, for which request (<c>X-Request-Id</c>), bytes done of total in its phase.</summary>
    private static void WriteProgress(Utf8JsonWriter w, BackupProgressReport? current)
    {
        if (current is null)
        {
            w.WriteNullValue();
            return;
        }

        w.WriteStartObject();
        w.WriteString("operation", current.Operation);
        w.WriteString("kind", current.Kind);
        w.WriteString("request_id", current.RequestId);
        w.WriteString("started_at", current.StartedAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
        w.WriteString("phase", current.Phase);
        w.WriteNumber("done", current.Done);
        w.WriteNumber("total", current.Total);
        w.WriteEndObject();
    }

    internal static void WriteRestore(Utf8JsonWriter w, RestoreResult result)
    {
        w.WriteStartObject();
        w.WriteString("backup_id", result.BackupId);
        w.WriteStartArray("collections");
        foreach (var c in result.Collections)
        {
            w.WriteStartObject();
            w.WriteString("name", c.Name);
            w.WriteString("from", c.From);
            w.WriteNumber("points", c.Points);
            w.WriteNumber("lsn", c.Lsn);
            w.WriteBoolean("replaced", c.Replaced);
            WriteStrings(w, "aliases", c.Aliases);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteStartArray("safety_backups");
        foreach (var backup in result.SafetyBackups)
        {
            WriteBackup(w, backup);
        }

        w.WriteEndArray();
        w.WriteNumber("seconds", Math.Round(result.Seconds, 3));
        w.WriteEndObject();
    }

    private static void WriteStrings(Utf8JsonWriter w, string name, IEnumerable<string> values)
    {
        w.WriteStartArray(name);
        foreach (var value in values)
        {
            w.WriteStringValue(value);
        }

        w.WriteEndArray();
    }
}
