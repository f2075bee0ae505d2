using System.Globalization;
using System.Text.Json.Nodes;
using Vectorizer.Server.Application;
using Vectorizer.Server.Backups;

namespace Vectorizer.Server.Mcp;

/// <summary>
/// Backups (REST: <c>/api/backups</c>), through <see cref="BackupsService"/>: each needs manage access, as the REST
/// routes do. Backups are named by id, never by a path. A restore replaces live collections, so it needs
/// <c>confirm</c>; what it replaces is backed up first (<c>safety_backups</c>).
/// </summary>
internal static class BackupTools
{
    /// <summary>A backup as <c>GET /api/backups</c> lists it.</summary>
    private static JsonObject Backup(string description) => Schema.OpenObject(
        description,
        new Prop("id", Schema.String("The backup's id (`restore_backup` takes it)."), Required: true),
        new Prop("type", Schema.Enum("full, or incremental (holds what changed since `parent`).", null, "full", "incremental"), Required: true),
        new Prop("parent", Schema.String("The backup an incremental builds on.")),
        new Prop("chain", Schema.ArrayOf(Schema.String("A backup id."), "Every backup a restore of this one also reads, nearest first (empty for a full one)."), Required: true),
        new Prop("created_at", Schema.String("When (UTC, ISO 8601)."), Required: true),
        new Prop("origin", Schema.String("Who made it: backup (a request), schedule, safety (before a restore replaced a collection), snapshot."), Required: true),
        new Prop("all_collections", Schema.Boolean("Whether it holds every collection and the aliases."), Required: true),
        new Prop("collections", Schema.ArrayOf(Schema.String("A collection."), "The collections it holds."), Required: true),
        new Prop("points", Schema.Integer("Points in those collections when it was taken.", minimum: 0), Required: true),
        new Prop("size", Schema.Integer("Bytes of the archive.", minimum: 0), Required: true),
        new Prop("sha256", Schema.String("SHA-256 of the archive file.")),
        new Prop("file", Schema.String("The archive's file name in the server's backup directory."), Required: true));

    /// <summary>Backups are the node's own (REST's <c>/api/backups</c> is not forwarded either): run where called.</summary>
    private static bool NodeLocal(System.Text.Json.JsonElement arguments) => false;

    public static IEnumerable<McpTool> All =>
    [
        new(
            "create_backup",
            "Back up a collection or all collections",
            "Write a verified backup archive (every file with its SHA-256) of one collection, or of every collection and the aliases (no `collection`), "
            + "into the server's backup directory, while the server keeps serving reads and writes. `type: incremental` holds only what changed since the newest "
            + "backup of the same collections (it needs one). Sends progress notifications (bytes written) when the client asks for them.",
            ToolEffect.Write,
            Schema.Object(
                new Prop("collection", Schema.String("The collection (or alias) to back up; omit for all collections and aliases.", "docs")),
                new Prop("type", Schema.Enum("full (default) or incremental.", "full", "full", "incremental"))),
            Backup("The backup written (as POST /api/backups/create answers)."),
            CreateBackup)
        {
            Writes = NodeLocal, // a node's backups are its own, as REST's /api/backups: a replica backs itself up
        },
        new(
            "list_backups",
            "List backups",
            "The backups in the server's backup directory, newest first: id, type (full or incremental, with the chain a restore reads), when, who made it "
            + "(request, schedule, or a safety backup taken before a restore), collections, points and size.",
            ToolEffect.Read,
            Schema.Object(),
            Schema.OpenObject(
                "The backups (as GET /api/backups answers).",
                new Prop("backups", Schema.ArrayOf(Backup("A backup."), "Newest first."), Required: true)),
            ListBackups),
        new(
            "restore_backup",
            "Restore a backup",
            "Restore a backup (and the chain an incremental builds on): every collection it holds, or only `collection`, optionally under another name (`as`, "
            + "e.g. a scratch copy to inspect). It is verified first (a damaged or incomplete backup changes nothing); each live collection it replaces is backed up "
            + "first (`safety_backups` in the result); readers see the old state or the new one, never a mixture. `confirm` must repeat `backup_id`. "
            + "Sends progress notifications (bytes verified and restored) when the client asks for them.",
            ToolEffect.Destructive,
            Schema.Object(
                new Prop("backup_id", Schema.String("The backup's id (see `list_backups`).", "20261203T161500Z-full-a1b2c3"), Required: true),
                new Prop("collection", Schema.String("Restore only this collection of the backup (its name in the backup).", "docs")),
                new Prop("as", Schema.String("Restore `collection` under this name instead (its aliases are not moved).", "docs_restored")),
                new Prop("confirm", Schema.String("`backup_id` again, to confirm: a restore replaces live collections of the same name.", "20261203T161500Z-full-a1b2c3"), Required: true)),
            Schema.OpenObject(
                "What the restore did (as POST /api/backups/restore answers).",
                new Prop("backup_id", Schema.String("The backup restored."), Required: true),
                new Prop("collections", Schema.ArrayOf(
                    Schema.OpenObject(
                        "A collection put in place.",
                        new Prop("name", Schema.String("Its name now."), Required: true),
                        new Prop("from", Schema.String("Its name in the backup."), Required: true),
                        new Prop("points", Schema.Integer("Points it holds.", minimum: 0), Required: true),
                        new Prop("lsn", Schema.Integer("The log position it was backed up at.", minimum: 0), Required: true),
                        new Prop("replaced", Schema.Boolean("Whether it replaced a live collection."), Required: true),
                        new Prop("aliases", Schema.ArrayOf(Schema.String("An alias."), "Aliases that name it again."), Required: true)),
                    "The collections restored."), Required: true),
                new Prop("safety_backups", Schema.ArrayOf(Backup("A backup of a replaced collection."), "Backups of what was replaced, taken first."), Required: true),
                new Prop("seconds", Schema.Number("How long it took.", minimum: 0), Required: true)),
            RestoreBackup)
        {
            Writes = NodeLocal,
        },
    ];

    private static async Task<ToolOutput> CreateBackup(ToolCall call)
    {
        var args = call.Args;
        var collection = args.TryGet("collection", out var c) ? c.AsString() : null;
        var incremental = false;
        if (args.TryGet("type", out var type))
        {
            incremental = type.AsString() switch
            {
                "full" => false,
                "incremental" => true,
                var other => throw type.Invalid($"type must be `full` or `incremental`, got `{other}`"),
            };
        }

        var created = await call.Service<BackupsService>()
            .CreateAsync(call.Call, new BackupRequest(collection, incremental), Progress(call), call.CancellationToken)
            .ConfigureAwait(false);
        var structured = ToolOutput.Write(w => BackupsApi.WriteBackup(w, created));
        return new ToolOutput(structured, string.Create(
            CultureInfo.InvariantCulture,
            $"Backup {created.Id}: {created.Type} of {Targets(created)}, {created.Points} points, {created.Size} bytes{(created.Parent is { } parent ? $" (on {parent})" : "")}."));
    }

    private static Task<ToolOutput> ListBackups(ToolCall call)
    {
        var list = call.Service<BackupsService>().List(call.Call);
        var structured = ToolOutput.Write(w => BackupsApi.WriteBackups(w, list));
        var summary = list.Count == 0
            ? "No backups."
            : $"{list.Count} backup{(list.Count == 1 ? "" : "s")}, newest first: " + string.Join("; ", list.Take(10).Select(b => $"{b.Id} ({b.Type}, {Targets(b)})"))
              + (list.Count > 10 ? "; ..." : "");
        return Task.FromResult(new ToolOutput(structured, summary));
    }

    private static async Task<ToolOutput> RestoreBackup(ToolCall call)
    {
        var args = call.Args;
        var id = args.Required("backup_id").AsString();
        var confirm = args.Required("confirm");
        if (confirm.AsString() != id)
        {
            throw confirm.Invalid($"must repeat the backup id (`{id}`) to restore it: a restore replaces live collections");
        }

        BackupsApi.CheckId(id);
        var collection = args.TryGet("collection", out var c) ? c.AsString() : null;
        var asName = args.TryGet("as", out var a) ? a.AsString() : null;
        var result = await call.Service<BackupsService>()
            .RestoreAsync(call.Call, id, collection, asName, Progress(call), call.CancellationToken)
            .ConfigureAwait(false);
        var structured = ToolOutput.Write(w => BackupsApi.WriteRestore(w, result));
        var restored = string.Join(", ", result.Collections.Select(r => $"`{r.Name}` ({r.Points} points{(r.From != r.Name ? $", from `{r.From}`" : "")}{(r.Replaced ? ", replaced" : "")})"));
        var safety = result.SafetyBackups.Count == 0 ? "" : $"; the replaced state was backed up first: {string.Join(", ", result.SafetyBackups.Select(s => s.Id))}";
        return new ToolOutput(structured, string.Create(CultureInfo.InvariantCulture, $"Restored {result.BackupId} in {result.Seconds:F2} s: {restored}{safety}."));
    }

    private static BackupProgress Progress(ToolCall call) => (phase, done, total) => call.Progress(done, total, phase);

    private static string Targets(BackupDescription backup) =>
        backup.AllCollections ? $"all collections ({string.Join(", ", backup.Collections)})" : string.Join(", ", backup.Collections.Select(c => $"`{c}`"));
}
