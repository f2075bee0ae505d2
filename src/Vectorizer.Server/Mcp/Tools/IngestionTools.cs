using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Errors;
using Vectorizer.Ingestion;
using Vectorizer.Ingestion.Files;
using Vectorizer.Ingestion.Health;
using Vectorizer.Server.Api.Ops;
using Vectorizer.Server.Api.Qdrant;
using Vectorizer.Server.Api.Qdrant.Json;
using Vectorizer.Server.Application;
using Vectorizer.Server.Configuration;
using Vectorizer.Server.Hosting;
using Vectorizer.Server.Security;

namespace Vectorizer.Server.Mcp;

/// <summary>
/// Text in: documents (REST: <c>/documents</c>, <see cref="DocumentsService"/>), a directory (the same
/// <see cref="FileIndexRun"/> as <c>vectorizer index</c>, on a path confined by <see cref="AllowedPaths"/>), and the
/// file watcher's status.
/// </summary>
internal static class IngestionTools
{
    /// <summary>Collections an <c>index_path</c> call is indexing now (one run per collection: they share a checkpoint file).</summary>
    private static readonly ConcurrentDictionary<string, bool> Indexing = new(StringComparer.Ordinal);

    public static IEnumerable<McpTool> All =>
    [
        new(
            "add_documents",
            "Add text documents",
            "Embed texts with the collection's embedders and store them as points (a collection without an `embedding` section cannot take text; "
            + "a missing collection is created when the server's configuration has an `embedding` section). With `chunk`, long texts are split "
            + "(Markdown by headings, code by blocks, prose by paragraphs) and each chunk is a point; metadata is copied to every chunk's payload.",
            ToolEffect.Write,
            Schema.Object(
                Schemas.Collection,
                new Prop("documents", Schema.ArrayOf(
                    Schema.Object(
                        "A document.",
                        closed: true,
                        new Prop("id", Schemas.PointId("Its id (default: derived from its text); chunks get ids derived from it.")),
                        new Prop("text", Schema.String("The text.", "Snapshots are copied nightly to the backup host."), Required: true),
                        new Prop("metadata", Schema.FreeObject("Payload stored with it, e.g. {\"source\": \"ops.md\", \"team\": \"infra\"}."))),
                    "The documents.",
                    minItems: 1), Required: true),
                new Prop("chunk", Schema.AnyOf(
                    "Split long texts: true (defaults: 1000 characters, 200 overlap) or {\"max_chars\": 100..1000000, \"overlap\": 0..100000}.",
                    Schema.Boolean("Use the default chunking."),
                    Schema.Object(
                        "Chunk sizes.",
                        closed: true,
                        new Prop("max_chars", Schema.Integer("At most this many characters per chunk.", minimum: 100, maximum: 1_000_000)),
                        new Prop("overlap", Schema.Integer("Characters repeated between neighbouring chunks.", minimum: 0, maximum: 100_000))))),
                Schemas.Wait),
            Schemas.UpdateResult(
                "What was stored.",
                new Prop("documents", Schema.Integer("Documents received.", minimum: 0), Required: true),
                new Prop("points", Schema.Integer("Points written (chunks).", minimum: 0), Required: true),
                new Prop("ids", Schema.ArrayOf(Schemas.PointId("A point id."), "The ids written."), Required: true),
                new Prop("usage", Schema.FreeObject("Embedding usage of paid providers: embedded, cached, tokens, cost."))),
            AddDocuments),
        new(
            "index_path",
            "Index a directory",
            "Index the files of a directory (recursively) into a collection, as `vectorizer index` does: eligible files (not hidden, not under node_modules, bin, obj, "
            + "not binary, at most `max_file_size`) are chunked, embedded and stored with `file_path`, `start_line`, `end_line`; unchanged files are skipped by their SHA-256; "
            + "files gone since the last run lose their points. The directory must lie inside the server's `security.allowed_roots` or `file_watcher.watch_paths`. "
            + "Sends progress notifications when asked (a progress token); cancelling stops after the current batch (a later call resumes).",
            ToolEffect.Write,
            Schema.Object(
                new Prop("collection", Schema.String("Target collection; created (hash + BM25 embedders, or the server's `embedding` section) when missing.", "docs"), Required: true),
                new Prop("path", Schema.String("The directory, absolute or relative to the server's working directory.", "/srv/project/docs"), Required: true),
                new Prop("include_extensions", Schema.ArrayOf(Schema.String("An extension.", ".md"), "Only files with these extensions, e.g. [\".md\", \".cs\"]; default: every text file.")),
                new Prop("exclude", Schema.ArrayOf(Schema.String("A glob relative to the directory.", "**/generated/**"), "More globs to leave out (added to the defaults).")),
                new Prop("max_file_size", Schema.Integer("Skip larger files (bytes).", minimum: 1, @default: FileIndexerOptions.DefaultMaxFileSize))),
            Schema.Object(
                "What the run did.",
                closed: false,
                new Prop("collection", Schema.String("The collection."), Required: true),
                new Prop("path", Schema.String("The directory, resolved."), Required: true),
                new Prop("files", Schema.Integer("Eligible files found.", minimum: 0), Required: true),
                new Prop("indexed", Schema.Integer("Files new or changed, indexed.", minimum: 0), Required: true),
                new Prop("unchanged", Schema.Integer("Files skipped because their content is already stored.", minimum: 0), Required: true),
                new Prop("skipped", Schema.Integer("Files not indexable (binary, too large, ...).", minimum: 0), Required: true),
                new Prop("failed", Schema.Integer("Files that failed.", minimum: 0), Required: true),
                new Prop("removed", Schema.Integer("Files gone since the last run whose points were deleted.", minimum: 0), Required: true),
                new Prop("chunks", Schema.Integer("Chunks written.", minimum: 0), Required: true),
                new Prop("seconds", Schema.Number("Time taken.", minimum: 0), Required: true),
                new Prop("problems", Schema.ArrayOf(
                    Schema.Object("A file skipped or failed.", closed: false, new Prop("path", Schema.String("The file."), Required: true), new Prop("reason", Schema.String("Why."), Required: true)),
                    "The first files skipped or failed, with reasons."), Required: true)),
            IndexPath),
        new(
            "watcher_status",
            "File watcher status",
            "The server's file watcher: whether it runs, the directories it watches, queue depth, counters (files indexed, unchanged, skipped, removed, failed), the last event, and recent skips and errors.",
            ToolEffect.Read,
            Schema.Object(),
            Schema.OpenObject(
                "The watcher (as GET /api/watcher/status).",
                new Prop("enabled", Schema.Boolean("file_watcher.enabled."), Required: true),
                new Prop("running", Schema.Boolean("A watcher is running."), Required: true),
                new Prop("paths", Schema.ArrayOf(Schema.String("A directory."), "Directories watched."), Required: true),
                new Prop("queue_depth", Schema.Integer("Events waiting.", minimum: 0), Required: true),
                new Prop("files_indexed", Schema.Integer("Files indexed since start.", minimum: 0), Required: true)),
            WatcherStatus),
    ];

    private static async Task<ToolOutput> AddDocuments(ToolCall call)
    {
        var settings = call.Service<VectorizerSettings>();
        var (documents, chunking) = DocumentJson.ParseDocuments(call.Body("collection", "wait"), settings.Limits.MaxBatch);
        var (target, result) = await call.Service<DocumentsService>()
            .AddDocumentsAsync(call.Call, call.Collection, documents, chunking, call.Bool("wait", true), call.CancellationToken).ConfigureAwait(false);
        return new ToolOutput(
            ToolOutput.Write(w => DocumentJson.IngestResult(w, result)),
            $"Stored {result.Documents} document{(result.Documents == 1 ? "" : "s")} as {result.Ids.Count} point{(result.Ids.Count == 1 ? "" : "s")} in `{target.Name}`.");
    }

    private static async Task<ToolOutput> IndexPath(ToolCall call)
    {
        var name = call.Collection;
        CollectionNames.Validate(name);
        var manager = call.Service<CollectionsService>();
        if (manager.Manager.TryGet(name) is null)
        {
            call.Call.Access.Demand(AccessLevel.Manage, name); // it will be created
        }
        else
        {
            name = manager.Resolve(call.Call, name, AccessLevel.Write).Name;
        }

        var root = call.Service<AllowedPaths>().Confine(call.Args.Required("path").AsString(), "path");
        if (!Directory.Exists(root))
        {
            throw call.Args.Required("path").Invalid($"`{root}` is not a directory");
        }

        var settings = call.Service<VectorizerSettings>();
        var options = new FileIndexerOptions
        {
            Roots = [root],
            Exclude = [.. FileIndexerOptions.DefaultExcludePatterns.Concat(Strings(call, "exclude")).Select(Glob.Parse)],
            IncludeExtensions = FileIndexerOptions.ParseExtensions(Strings(call, "include_extensions")),
            MaxFileSize = call.Args.TryGet("max_file_size", out var max) ? max.AsLong() : FileIndexerOptions.DefaultMaxFileSize,
            DefaultCollection = name,
            NewCollectionEmbedding = settings.Embedding.ToEmbeddingConfig() ?? FileIndexerOptions.DefaultEmbedding,
            DataDirectory = manager.Manager.DataDirectory,
        };
        if (options.MaxFileSize < 1)
        {
            throw call.Args.Required("max_file_size").Invalid("must be at least 1");
        }

        if (!Indexing.TryAdd(name, true))
        {
            throw VectorizerException.BadRequest($"Collection `{name}` is being indexed by another index_path call; wait for it to finish");
        }

        try
        {
            var logger = call.Service<ILoggerFactory>().CreateLogger("Vectorizer.Mcp");
            var indexer = new FileIndexer(manager.Manager, call.Service<IngestionService>(), options, logger);
            var collection = indexer.EnsureCollection(name);
            if (SourceRoot.Read(collection) is null)
            {
                SourceRoot.Save(collection, root);
            }

            var problems = new List<FileIndexResult>();
            var run = new FileIndexRun(indexer, root, IndexCheckpoint.PathFor(collection.Paths.Root))
            {
                Collection = name,
                Problem = problems.Add,
                Progress = p => call.Progress(p.DoneFiles, p.TotalFiles, $"{p.DoneFiles}/{p.TotalFiles} files, {p.Chunks} chunks"),
            };
            var result = await run.RunAsync(call.CancellationToken).ConfigureAwait(false);
            var structured = new JsonObject
            {
                ["collection"] = name,
                ["path"] = root,
                ["files"] = result.TotalFiles,
                ["indexed"] = result.Indexed,
                ["unchanged"] = result.Unchanged,
                ["skipped"] = result.Skipped,
                ["failed"] = result.Failed,
                ["removed"] = result.Removed,
                ["chunks"] = result.Chunks,
                ["seconds"] = Math.Round(result.Elapsed.TotalSeconds, 3),
                ["problems"] = new JsonArray([.. problems.Take(20).Select(p => (JsonNode)new JsonObject { ["path"] = p.RelativePath ?? p.Path, ["reason"] = p.Reason ?? p.Outcome.ToString() })]),
            };
            return new ToolOutput(structured, string.Create(
                CultureInfo.InvariantCulture,
                $"Indexed `{root}` into `{name}`: {result.TotalFiles} files ({result.Indexed} indexed, {result.Unchanged} unchanged, {result.Skipped} skipped, {result.Failed} failed, {result.Removed} removed), {result.Chunks} chunks in {result.Elapsed.TotalSeconds:0.0} s."));
        }
        finally
        {
            Indexing.TryRemove(name, out _);
        }
    }

    private static IEnumerable<string> Strings(ToolCall call, string name) =>
        call.Args.TryGet(name, out var list) ? [.. list.Items().Select(i => i.AsString())] : [];

    private static Task<ToolOutput> WatcherStatus(ToolCall call)
    {
        call.Call.Access.Demand(AccessLevel.Read, null);
        var host = call.Services.GetService<FileWatcherHost>();
        var snapshot = host?.Snapshot() ?? new WatcherSnapshot(false, false, false, [], 0, new FileWatcherStats());
        var status = OpsApi.WatcherStatus(snapshot);
        var structured = JsonSerializer.SerializeToNode(status, ApiJson.Default.WatcherStatus)!.AsObject();
        return Task.FromResult(new ToolOutput(structured, !status.Enabled
            ? "The file watcher is off (file_watcher.enabled is false" + (host is null ? ", or this MCP server runs without the server" : "") + ")."
            : $"The file watcher is {(status.Running ? "running" : "stopped")} on {string.Join(", ", status.Paths)}: {status.FilesIndexed} files indexed, {status.FilesSkipped} skipped, {status.FilesFailed} failed, {status.QueueDepth} queued."));
    }
}
