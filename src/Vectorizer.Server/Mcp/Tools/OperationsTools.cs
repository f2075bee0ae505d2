using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Vectorizer.Engine.Collections;
using Vectorizer.Ingestion.Health;
using Vectorizer.Server.Api.Ops;
using Vectorizer.Server.Api.Qdrant;
using Vectorizer.Server.Application;
using Vectorizer.Server.Hosting;

namespace Vectorizer.Server.Mcp;

/// <summary>The server's health and status (REST: <c>/api/health-check</c>, <c>/api/status</c>).</summary>
internal static class OperationsTools
{
    public static IEnumerable<McpTool> All =>
    [
        new(
            "health_check",
            "Check (and fix) text collections",
            "Check text collections against the files they were indexed from: orphaned chunks (file deleted), missing files (coverage), stale content (file changed), "
            + "vector integrity and chunk metadata; each check PASS, INFO or FAIL. With `fix: true` (and `confirm` repeating `collection`) it deletes orphans and "
            + "re-indexes missing and stale files, then checks again. A `root` must lie inside the server's allowed directories.",
            ToolEffect.Destructive,
            Schema.Object(
                new Prop("collection", Schema.String("A collection, or `all` (default): every collection with an `embedding` section.", "docs")),
                new Prop("root", Schema.String("The directory the files are under (default: the root stored with the collection by an earlier fix or index_path).", "/srv/project")),
                new Prop("fix", Schema.Boolean("Repair what the checks found (needs `confirm`).", @default: false)),
                new Prop("confirm", Schema.String("With fix: the `collection` argument again (`all` when fixing every collection).", "docs")),
                new Prop("examples", Schema.Integer("Examples listed per check, at most.", minimum: 0, maximum: 1000, @default: 10))),
            Schema.OpenObject(
                "The report (as /api/health-check's result).",
                new Prop("status", Schema.Enum("The worst status of the collections checked.", null, "PASS", "INFO", "FAIL", "ERROR"), Required: true),
                new Prop("checked_at", Schema.String("When (UTC)."), Required: true),
                new Prop("fix", Schema.Boolean("Whether it fixed."), Required: true),
                new Prop("collections", Schema.ArrayOf(
                    Schema.OpenObject(
                        "A collection's checks.",
                        new Prop("name", Schema.String("The collection."), Required: true),
                        new Prop("status", Schema.Enum("Its worst check.", null, "PASS", "INFO", "FAIL", "ERROR"), Required: true),
                        new Prop("message", Schema.String("A one-line summary."), Required: true),
                        new Prop("checks", Schema.FreeObject("Each check: {status, count, message, examples, ...}."), Required: true)),
                    "Per collection."), Required: true)),
            HealthCheck)
        {
            // Only a fix changes data; a check reads (the files of this node's allowed roots).
            Writes = arguments => arguments.ValueKind == JsonValueKind.Object && arguments.TryGetProperty("fix", out var fix) && fix.ValueKind == JsonValueKind.True,
        },
        new(
            "server_status",
            "Server status",
            "The server's version, uptime, data directory, memory, and every collection's status, point count and WAL position; collections that could not be opened are listed under `failed_collections` with the reason (status `degraded`).",
            ToolEffect.Read,
            Schema.Object(),
            Schema.OpenObject(
                "The status (as GET /api/status).",
                new Prop("status", Schema.Enum("ok, or degraded when a collection could not be opened.", null, "ok", "degraded"), Required: true),
                new Prop("version", Schema.String("Vectorizer's version."), Required: true),
                new Prop("uptime_seconds", Schema.Number("Since the server started.", minimum: 0), Required: true),
                new Prop("collections_count", Schema.Integer("Collections served.", minimum: 0), Required: true),
                new Prop("total_points", Schema.Integer("Points in all of them.", minimum: 0), Required: true),
                new Prop("collections", Schema.ArrayOf(Schema.FreeObject("name, status, points_count, indexed_vectors_count, memory_bytes, wal_lsn, checkpoint_lsn."), "Per collection."), Required: true),
                new Prop("failed_collections", Schema.ArrayOf(Schema.FreeObject("name, path, reason, since."), "Collections that could not be opened."), Required: true)),
            ServerStatus),
    ];

    private static async Task<ToolOutput> HealthCheck(ToolCall call)
    {
        var args = call.Args;
        var collection = args.TryGet("collection", out var c) ? c.AsString() : HealthCheckService.AllCollections;
        var fix = call.Bool("fix", false);
        if (fix)
        {
            var confirm = args.TryGet("confirm", out var given) ? given : throw args.Error("missing field `confirm`: fixing changes collections; repeat `collection` (or `all`) in `confirm`");
            if (confirm.AsString() != collection)
            {
                throw confirm.Invalid($"must repeat the collection (`{collection}`) to fix it");
            }
        }

        var request = new HealthCheckRequest
        {
            Collection = collection,
            Root = args.TryGet("root", out var root) ? root.AsString() : null,
            Fix = fix,
            MaxExamples = args.TryGet("examples", out var examples) ? examples.AsInt(min: 0, max: 1000) : 10,
        };
        var report = await call.Service<HealthChecks>().RunAsync(call.Call, request, call.CancellationToken).ConfigureAwait(false);
        var structured = ToolOutput.Write(w => HealthReportJson.Write(w, report));
        var lines = report.Collections.Select(h => $"{h.Name}: {HealthReportJson.Name(h.Status)} ({h.Message})");
        return new ToolOutput(structured, $"{HealthReportJson.Name(report.Status)}{(fix ? " after fixing" : "")}: " + (report.Collections.Count == 0 ? "no text collections." : string.Join("; ", lines)));
    }

    private static Task<ToolOutput> ServerStatus(ToolCall call)
    {
        call.Call.Access.Demand(AccessLevel.Read, null);
        var status = OpsApi.Status(call.Service<CollectionManager>(), call.Services.GetService<ServerClock>() ?? new ServerClock());
        var structured = JsonSerializer.SerializeToNode(status, ApiJson.Default.ServerStatus)!.AsObject();
        var failed = status.FailedCollections.Count == 0 ? "" : $"; FAILED: {string.Join(", ", status.FailedCollections.Select(f => $"{f.Name} ({f.Reason})"))}";
        return Task.FromResult(new ToolOutput(structured, string.Create(
            CultureInfo.InvariantCulture,
            $"Vectorizer {status.Version}: {status.Status}, up {status.UptimeSeconds:0} s, {status.CollectionsCount} collections, {status.TotalPoints} points{failed}.")));
    }
}
