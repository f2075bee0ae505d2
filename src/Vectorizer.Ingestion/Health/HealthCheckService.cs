using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Points;

namespace Vectorizer.Ingestion.Health;

public sealed record HealthCheckRequest
{
    /// <summary>A collection name or alias; null or <c>all</c> checks every collection that has an <c>embedding</c> section.</summary>
    public string? Collection { get; init; }

    /// <summary>The source root; null uses the one stored with each collection (<see cref="SourceRoot"/>).</summary>
    public string? Root { get; init; }

    /// <summary>Delete orphans, index missing files, re-index stale and damaged ones, then check again.</summary>
    public bool Fix { get; init; }

    /// <summary>Examples listed per check, at most.</summary>
    public int MaxExamples { get; init; } = 10;
}

/// <summary>
/// Checks collections' stored chunks against their source files (orphaned and missing embeddings, content sync,
/// vector integrity, metadata completeness) and optionally fixes what it found. The application service behind
/// <c>vectorizer health-check</c> and <c>/api/health-check</c>.
/// </summary>
public sealed class HealthCheckService(IngestionService ingestion)
{
    public const string AllCollections = "all";

    public async Task<HealthReport> RunAsync(CollectionManager manager, HealthCheckRequest request, CancellationToken cancellationToken)
    {
        if (request.MaxExamples < 0)
        {
            throw VectorizerException.BadRequest("examples: must be 0 or larger");
        }

        var results = new List<CollectionHealth>();
        if (request.Collection is not (null or AllCollections))
        {
            var collection = manager.Get(request.Collection);
            var root = request.Root ?? SourceRoot.Read(collection) ?? throw VectorizerException.BadRequest(
                $"Collection `{collection.Name}` has no stored source root: give one (--root PATH, or root= over HTTP)");
            if (request.Fix && collection.Config.Embedding is null)
            {
                throw VectorizerException.BadRequest($"Collection `{collection.Name}` has no `embedding` configuration, so --fix cannot embed files into it");
            }

            results.Add(await CheckAsync(manager, collection, root, request, cancellationToken).ConfigureAwait(false));
        }
        else
        {
            foreach (var name in manager.List())
            {
                if (manager.TryGet(name) is not { } collection)
                {
                    continue;
                }

                var root = request.Root ?? SourceRoot.Read(collection);
                results.Add(collection.Config.Embedding is null
                    ? new CollectionHealth(name, HealthStatus.Info, "skipped: no `embedding` section, not a text collection")
                    : root is null
                        ? new CollectionHealth(name, HealthStatus.Error, "no stored source root: give one with --root PATH (root= over HTTP)")
                        : await CheckAsync(manager, collection, root, request, cancellationToken).ConfigureAwait(false));
            }
        }

        return new HealthReport(HealthReport.Worst(results.Select(r => r.Status)), DateTimeOffset.UtcNow, request.Fix, results);
    }

    private async Task<CollectionHealth> CheckAsync(CollectionManager manager, Collection collection, string root, HealthCheckRequest request, CancellationToken cancellationToken)
    {
        root = Path.GetFullPath(root);
        if (!Directory.Exists(root))
        {
            // Never treat a vanished (or unmounted) root as "every file was deleted": --fix would empty the collection.
            return new CollectionHealth(collection.Name, HealthStatus.Error, $"source root {root} is not a directory") { SourceRoot = root };
        }

        var scan = CollectionScan.Run(collection, root, manager.DataDirectory, request.MaxExamples, cancellationToken);
        var before = Summarize(collection, root, scan);
        if (!request.Fix)
        {
            return before;
        }

        var fix = await FixAsync(collection, root, scan, cancellationToken).ConfigureAwait(false);
        var after = Summarize(collection, root, CollectionScan.Run(collection, root, manager.DataDirectory, request.MaxExamples, cancellationToken));
        return after with { Before = before, Fix = fix };
    }

    private async Task<FixSummary> FixAsync(Collection collection, string root, CollectionScan scan, CancellationToken cancellationToken)
    {
        var fixer = new HealthFixer(ingestion);
        var orphans = new List<PointId>();
        foreach (var group in scan.Files)
        {
            if (!group.Exists)
            {
                orphans.AddRange(group.Ids);
            }
        }

        await HealthFixer.DeletePointsAsync(collection, orphans, cancellationToken).ConfigureAwait(false);
        var skipped = new List<HealthExample>();
        long written = 0;
        var indexed = 0;
        foreach (var path in scan.MissingFiles)
        {
            if (await TryIndexAsync(new SourceFileToIndex(path, SourceFiles.Relative(root, path), [])) is { } points)
            {
                written += points;
                indexed++;
            }
        }

        var reindexed = 0;
        foreach (var group in scan.Files.Where(g => g.Exists && (g.OutOfSync || g.NeedsRepair)).OrderBy(g => g.FullPath, StringComparer.Ordinal))
        {
            if (await TryIndexAsync(new SourceFileToIndex(group.FullPath, group.PreferredPath, group.StoredPaths)) is { } points)
            {
                written += points;
                reindexed++;
            }
        }

        if (scan.UnattributedIssues > 0)
        {
            skipped.Add(new HealthExample(null, null, $"{scan.UnattributedIssues} point(s) with invalid vectors or metadata have no file_path to re-index them from"));
        }

        SourceRoot.Save(collection, root);
        return new FixSummary(orphans.Count, indexed, reindexed, written, skipped);

        async Task<int?> TryIndexAsync(SourceFileToIndex file)
        {
            try
            {
                return await fixer.IndexFileAsync(collection, file, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                skipped.Add(new HealthExample(file.StoredPath, null, "cannot read the file: " + e.Message));
                return null;
            }
        }
    }

    private static CollectionHealth Summarize(Collection collection, string root, CollectionScan scan)
    {
        var failed = scan.Checks.Where(c => c.Status == HealthStatus.Fail).Select(c => c.Name).ToList();
        var message = $"{Plural(scan.Files.Count, "indexed file")}, {Plural(scan.Points, "point")}: "
            + (failed.Count == 0 ? "no check failed" : "failed " + string.Join(", ", failed));
        return new CollectionHealth(collection.Name, scan.Status, message) { SourceRoot = root, Points = scan.Points, Checks = scan.Checks };
    }

    private static string Plural(long count, string noun) => count == 1 ? $"1 {noun}" : $"{count} {noun}s";
}
