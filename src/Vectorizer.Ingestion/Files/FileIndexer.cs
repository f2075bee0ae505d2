using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Filters;
using Vectorizer.Engine.Operations;
using Vectorizer.Engine.Payload;
using Vectorizer.Engine.Points;
using Vectorizer.Ingestion.Chunking;
using Vectorizer.Ingestion.Embeddings;

namespace Vectorizer.Ingestion.Files;

/// <summary>A file read by a client (<c>vectorizer index --url</c>): its path relative to the root (with <c>/</c>), SHA-256 of its bytes, text, modification time.</summary>
public sealed record SentFile(string Relative, string Hash, string Text, DateTimeOffset Mtime);

/// <summary>What happened to one file (or removed path).</summary>
public enum FileOutcome
{
    /// <summary>New or changed: chunked, embedded, its points replaced.</summary>
    Indexed,

    /// <summary>Its SHA-256 is what is already stored for it: nothing to do.</summary>
    Unchanged,

    /// <summary>Gone from disk (deleted, renamed away): its points were deleted.</summary>
    Removed,

    /// <summary>Not indexable (binary, too large, unreadable, a symlink loop, outside the roots, empty): see the reason.</summary>
    Skipped,

    /// <summary>Not wanted: excluded by a pattern, an extension not included, a directory.</summary>
    Ignored,

    /// <summary>Indexing failed (embedding provider, storage); the file is tried again on its next change or scan.</summary>
    Failed,
}

/// <summary>One file's outcome: its full path, where it belongs (root-relative path, collection), chunks written, why.</summary>
public sealed record FileIndexResult(string Path, FileOutcome Outcome, string? RelativePath = null, string? Collection = null, int Chunks = 0, string? Reason = null);

/// <summary>The outcomes of a batch, with what embedding it cost (paid providers report tokens and cost).</summary>
public sealed record FileBatchResult(IReadOnlyList<FileIndexResult> Files, long Tokens, double Cost);

/// <summary>
/// Indexes files into collections, one file's chunks at a time, so that a search never sees a file with no chunks:
/// <list type="number">
/// <item>skip what cannot be indexed, with a reason (binary: a NUL byte in the first 8 KB; larger than
/// <see cref="FileIndexerOptions.MaxFileSize"/>; unreadable; a symlink loop; a path or symlink target outside the roots);</item>
/// <item>hash the bytes (SHA-256): when the points stored for the file all carry that <c>file_hash</c>, skip it;</item>
/// <item>else chunk (by extension), embed with the collection's embedders, upsert the chunks under ids derived from
/// the file's full path and the chunk index, then delete the file's points whose <c>file_hash</c> differs (the
/// chunks of the old version beyond the new chunk count). Each step is one WAL operation.</item>
/// </list>
/// A file is identified by <c>watch_root</c> (its root's full path) and <c>file_path</c> (relative to the root, with
/// <c>/</c>), both in every chunk's payload. <c>file_path</c> has a keyword index, so the lookups by file start from
/// its few points and never scan the collection (<c>watch_root</c> has none on purpose: the planner would copy the
/// posting list of every point of the root to compare sizes). A deleted or renamed-away path loses its points (a
/// directory: every file below it).
/// </summary>
public sealed class FileIndexer
{
    public const string FilePathKey = "file_path";
    public const string FileHashKey = "file_hash";
    public const string WatchRootKey = "watch_root";

    /// <summary>Points per upsert: files are packed into batches of about this many chunks.</summary>
    private const int ChunksPerUpsert = 256;

    private static readonly JsonPath FilePath = JsonPath.Parse(FilePathKey);
    private static readonly JsonPath FileHash = JsonPath.Parse(FileHashKey);
    private static readonly JsonPath WatchRoot = JsonPath.Parse(WatchRootKey);

    private readonly CollectionManager manager;
    private readonly IngestionService ingestion;
    private readonly ILogger logger;
    private readonly ConcurrentDictionary<string, Collection> prepared = new(StringComparer.Ordinal);
    private readonly object createLock = new();

    public FileIndexer(CollectionManager manager, IngestionService ingestion, FileIndexerOptions options, ILogger logger)
    {
        this.manager = manager;
        this.ingestion = ingestion;
        this.logger = logger;
        Options = options with
        {
            Roots = [.. options.Roots.Select(FileIndexerOptions.NormalizeRoot).Distinct(StringComparer.Ordinal)],
            DataDirectory = options.DataDirectory ?? manager.DataDirectory,
        };
        Selector = new FileSelector(Options);
    }

    public FileIndexerOptions Options { get; }

    /// <summary>Which files are indexed: the one definition the health check uses too.</summary>
    public FileSelector Selector { get; }

    /// <summary>Whether writes wait for the WAL fsync (false: acknowledged once in the OS, which survives a process crash).</summary>
    public bool WaitForSync { get; init; }

    // ------------------------------------------------------------------ where a path belongs

    /// <summary>The root that contains <paramref name="fullPath"/> (the deepest when roots nest) and the path relative to it, with <c>/</c>.</summary>
    public (string Root, string Relative)? Locate(string fullPath) => Selector.Locate(fullPath);

    /// <summary>The first exclude pattern matching the path or a directory above it, or null.</summary>
    public Glob? ExcludedBy(string relativePath) => Selector.ExcludedBy(relativePath);

    /// <summary>The collection a root-relative path goes to: the first matching mapping, else the default.</summary>
    public string CollectionNameFor(string relativePath)
    {
        foreach (var (pattern, collection) in Options.CollectionMapping)
        {
            if (pattern.IsMatch(relativePath))
            {
                return collection;
            }
        }

        return Options.DefaultCollection;
    }

    /// <summary>
    /// The collection, created with <see cref="FileIndexerOptions.NewCollectionEmbedding"/> when missing, with a keyword
    /// index on <c>file_path</c> (added to an existing collection when it lacks it).
    /// </summary>
    public Collection EnsureCollection(string name)
    {
        if (prepared.TryGetValue(name, out var known) && manager.TryGet(name) == known)
        {
            return known;
        }

        lock (createLock)
        {
            var collection = manager.TryGet(name);
            if (collection is null)
            {
                collection = TextCollections.CreateOrGet(
                    Options.NewCollectionEmbedding,
                    manager.Options.HnswDefaults,
                    config =>
                    {
                        var created = manager.Create(name, config);
                        logger.LogInformation("Created collection {Collection} for indexed files", name);
                        return created;
                    },
                    () => manager.Get(name));
            }

            _ = ingestion.For(collection); // 400 now, before any file is read, when it has no `embedding` section
            if (!collection.Config.PayloadSchema.ContainsKey(FilePathKey))
            {
                collection.CreatePayloadIndex(FilePathKey, new PayloadFieldSchema(PayloadSchemaType.Keyword));
            }

            prepared[name] = collection;
            return collection;
        }
    }

    /// <summary>Collections that hold indexed files: those with an <c>embedding</c> section and a <c>file_path</c> index.</summary>
    private IEnumerable<Collection> FileCollections()
    {
        foreach (var collection in manager.All)
        {
            if (collection.Config.Embedding is not null && collection.Config.PayloadSchema.ContainsKey(FilePathKey))
            {
                yield return collection;
            }
        }
    }

    // ------------------------------------------------------------------ walking a root

    /// <inheritdoc cref="FileSelector.EnumerateFiles"/>
    public List<string> EnumerateFiles(string directory, Action<FileIndexResult>? skipped = null) => Selector.EnumerateFiles(directory, result =>
    {
        logger.LogInformation("Skipped {Path}: {Reason}", result.Path, result.Reason);
        skipped?.Invoke(result);
    });

    // ------------------------------------------------------------------ indexing

    public async Task<FileIndexResult> IndexFileAsync(string path, CancellationToken cancellationToken) =>
        (await IndexFilesAsync([path], cancellationToken).ConfigureAwait(false)).Files[0];

    /// <summary>
    /// Brings the points of each path up to date with the disk: indexes new and changed files, skips unchanged ones,
    /// removes the points of paths that no longer exist. Never throws for one file's problem; returns one result per path.
    /// </summary>
    public Task<FileBatchResult> IndexFilesAsync(IReadOnlyList<string> paths, CancellationToken cancellationToken) =>
        IndexFilesAsync(paths, null, cancellationToken);

    /// <inheritdoc cref="IndexFilesAsync(IReadOnlyList{string}, CancellationToken)"/>
    /// <param name="budget">
    /// A run's cap on embedding cost, held to besides the ingestion service's own: when the next embedding request
    /// would pass it (or the service's own cap), <see cref="IngestionErrorCode.CostLimitReached"/> is thrown, after the
    /// files already written, instead of being reported as failed files (as it is without a run's budget: the watcher).
    /// </param>
    public async Task<FileBatchResult> IndexFilesAsync(IReadOnlyList<string> paths, IEmbeddingBudget? budget, CancellationToken cancellationToken)
    {
        var results = new FileIndexResult?[paths.Count];
        var reads = new ReadFile?[paths.Count];
        await Parallel.ForAsync(0, paths.Count, new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellationToken }, (i, _) =>
        {
            (results[i], reads[i]) = Read(paths[i]);
            return ValueTask.CompletedTask;
        }).ConfigureAwait(false);

        for (var i = 0; i < paths.Count; i++)
        {
            if (results[i] is { Outcome: FileOutcome.Removed, RelativePath: { } relative } gone)
            {
                results[i] = await RemoveAsync(gone.Path, cancellationToken).ConfigureAwait(false);
            }
            else if (results[i] is { Outcome: FileOutcome.Skipped, RelativePath: { } skippedPath } skipped && reads[i] is { } stale)
            {
                // A file that became binary, too large or empty loses the points of its indexable past.
                await DeletePointsAsync(stale.Root, skippedPath, null, cancellationToken).ConfigureAwait(false);
                results[i] = skipped;
            }
        }

        return await IndexReadAsync(reads, results, budget, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Files read by someone else (the client of <c>vectorizer index --url</c>, which walks and reads its own disk):
    /// their paths relative to <paramref name="root"/>, content hashes and texts, indexed as <see cref="IndexFilesAsync(IReadOnlyList{string}, IEmbeddingBudget?, CancellationToken)"/>
    /// indexes files it reads (hash-skip, chunking, the collection's embedders, older versions' chunks removed).
    /// </summary>
    public Task<FileBatchResult> IndexTextsAsync(string root, IReadOnlyList<SentFile> files, IEmbeddingBudget? budget, CancellationToken cancellationToken)
    {
        var reads = new ReadFile?[files.Count];
        for (var i = 0; i < files.Count; i++)
        {
            var file = files[i];
            reads[i] = new ReadFile(root + "/" + file.Relative, root, file.Relative, CollectionNameFor(file.Relative), file.Hash, file.Text, file.Mtime);
        }

        return IndexReadAsync(reads, new FileIndexResult?[files.Count], budget, cancellationToken);
    }

    /// <summary>Whether <paramref name="collection"/> holds the chunks of exactly this version of the file (hash-skip).</summary>
    public static bool IsUnchanged(Collection collection, string root, string relative, string hash)
    {
        var existing = collection.Count(Identity(root, relative));
        return existing > 0 && collection.Count(Identity(root, relative, withHash: hash)) == existing;
    }

    private async Task<FileBatchResult> IndexReadAsync(ReadFile?[] reads, FileIndexResult?[] results, IEmbeddingBudget? budget, CancellationToken cancellationToken)
    {
        long tokens = 0;
        double cost = 0;
        var byCollection = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        for (var i = 0; i < reads.Length; i++)
        {
            if (results[i] is null && reads[i] is { } read)
            {
                if (!byCollection.TryGetValue(read.Collection, out var list))
                {
                    byCollection[read.Collection] = list = [];
                }

                list.Add(i);
            }
        }

        foreach (var (name, indexes) in byCollection)
        {
            Collection collection;
            try
            {
                collection = EnsureCollection(name);
            }
            catch (VectorizerException e)
            {
                foreach (var i in indexes)
                {
                    results[i] = Fail(reads[i]!, $"collection `{name}`: {e.Message}");
                }

                continue;
            }

            var batch = new List<(int Index, ReadFile File, IReadOnlyList<Chunk> Chunks, bool Replaces)>();
            var batchChunks = 0;
            foreach (var i in indexes)
            {
                var read = reads[i]!;
                var existing = collection.Count(Identity(read.Root, read.Relative));
                if (IsUnchanged(collection, read.Root, read.Relative, read.Hash))
                {
                    results[i] = new FileIndexResult(read.FullPath, FileOutcome.Unchanged, read.Relative, name);
                    continue;
                }

                var chunks = ChunkerPicker.ChunkText(read.Text, read.Relative, read.Mtime, Options.Chunking);
                batch.Add((i, read, [.. chunks.Select(c => c with { FileHash = read.Hash })], existing > 0));
                batchChunks += chunks.Count;
                if (batchChunks >= ChunksPerUpsert)
                {
                    (tokens, cost) = Add(await WriteAsync(collection, batch, results, budget, cancellationToken).ConfigureAwait(false), tokens, cost);
                    batch.Clear();
                    batchChunks = 0;
                }
            }

            if (batch.Count > 0)
            {
                (tokens, cost) = Add(await WriteAsync(collection, batch, results, budget, cancellationToken).ConfigureAwait(false), tokens, cost);
            }
        }

        return new FileBatchResult(results.Select(r => r!).ToList(), tokens, cost);

        static (long, double) Add((long Tokens, double Cost) usage, long tokens, double cost) => (tokens + usage.Tokens, cost + usage.Cost);
    }

    private int Parallelism => Options.Parallelism > 0 ? Options.Parallelism : Environment.ProcessorCount;

    /// <summary>Upserts the chunks of several files at once, then deletes each replaced file's chunks of older versions.</summary>
    private async Task<(long Tokens, double Cost)> WriteAsync(
        Collection collection, List<(int Index, ReadFile File, IReadOnlyList<Chunk> Chunks, bool Replaces)> batch, FileIndexResult?[] results, IEmbeddingBudget? budget,
        CancellationToken cancellationToken)
    {
        var points = new List<ChunkPoint>();
        var pages = new List<PagePoint>();
        var withPages = ingestion.For(collection).Config.Page is not null;
        foreach (var (_, file, chunks, _) in batch)
        {
            var metadata = JsonSerializer.SerializeToElement(new Dictionary<string, string> { [WatchRootKey] = file.Root });
            foreach (var chunk in chunks)
            {
                points.Add(new ChunkPoint(ChunkId(file.Root, file.Relative, chunk.ChunkIndex), chunk, metadata));
            }

            // The page point carries the file's identity and hash, so hash-skip, re-indexing (overwritten in place,
            // or deleted with the older version's chunks when the new one has no title) and removal treat it as a chunk.
            if (withPages && chunks.Count > 0 && ChunkerPicker.PageText(file.Text, file.Relative) is { } pageText)
            {
                pages.Add(new PagePoint(PageId(file.Root, file.Relative), pageText, metadata, file.Relative, file.Hash));
            }
        }

        try
        {
            IngestResult? added = null;
            if (points.Count > 0)
            {
                added = await ingestion.AddChunksAsync(collection, points, pages, batch.Count, WaitForSync, budget, cancellationToken).ConfigureAwait(false);
            }

            foreach (var (index, file, chunks, replaces) in batch)
            {
                if (replaces)
                {
                    await DeletePointsAsync(file.Root, file.Relative, file.Hash, cancellationToken, collection).ConfigureAwait(false);
                }

                results[index] = chunks.Count == 0
                    ? Skip(file.FullPath, file.Relative, "empty: no text to index") with { Collection = collection.Name }
                    : new FileIndexResult(file.FullPath, FileOutcome.Indexed, file.Relative, collection.Name, chunks.Count);
                if (chunks.Count > 0)
                {
                    logger.LogDebug("Indexed {Path} into {Collection}: {Chunks} chunks", file.FullPath, collection.Name, chunks.Count);
                }
            }

            return (added?.Usage?.Tokens ?? 0, added?.Usage?.Cost ?? 0);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is not OutOfMemoryException
            && (budget is null || e is not IngestionException { Code: IngestionErrorCode.CostLimitReached }))
        {
            foreach (var (index, file, _, _) in batch)
            {
                results[index] = Fail(file, e.Message);
            }

            return (0, 0);
        }
    }

    /// <summary>
    /// The id of a chunk: derived from the file's full path (root and relative path) and the chunk index, so a new
    /// version of a file overwrites its old chunks in place, and one relative path under two roots never shares points.
    /// </summary>
    public static PointId ChunkId(string root, string relative, int chunkIndex) => IngestionService.ChunkId(root + "/" + relative, chunkIndex);

    /// <summary>The id of a file's page point (<see cref="PageVectorConfig"/>), derived like its chunks' ids.</summary>
    public static PointId PageId(string root, string relative) => IngestionService.PageId(root + "/" + relative);

    /// <summary>
    /// Deletes the points of a path that no longer exists: of the file, else of every file below it (a directory).
    /// Every collection holding indexed files is cleaned, whichever the mapping sends the path to now.
    /// </summary>
    public async Task<FileIndexResult> RemoveAsync(string path, CancellationToken cancellationToken)
    {
        var fullPath = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        if (Locate(fullPath) is not { } located)
        {
            return Skip(fullPath, null, "outside the watch roots");
        }

        var removed = await DeletePointsAsync(located.Root, located.Relative, null, cancellationToken).ConfigureAwait(false);
        if (removed == 0)
        {
            removed = await DeletePointsAsync(located.Root, located.Relative + "/", null, cancellationToken, prefix: true).ConfigureAwait(false);
        }

        if (removed > 0)
        {
            logger.LogDebug("Removed {Path}: {Points} points", fullPath, removed);
        }

        return new FileIndexResult(fullPath, removed > 0 ? FileOutcome.Removed : FileOutcome.Ignored, located.Relative, Chunks: (int)removed,
            Reason: removed > 0 ? null : "nothing indexed at this path");
    }

    /// <summary>
    /// After a full scan of <paramref name="root"/>: deletes the points of files of that root that were not seen
    /// (deleted while nobody watched, now excluded, or now mapped to another collection).
    /// </summary>
    /// <param name="only">Only this collection (a client's run into one collection of a server); null: every file collection.</param>
    public async Task<int> RemoveMissingAsync(string root, IReadOnlySet<(string Collection, string Relative)> present, CancellationToken cancellationToken, Collection? only = null)
    {
        var removed = 0;
        var rootFilter = new Filter { Must = [Match(WatchRoot, root)] };
        foreach (var collection in only is null ? FileCollections().ToList() : [only])
        {
            var missing = new HashSet<string>(StringComparer.Ordinal);
            PointId? offset = null;
            do
            {
                var page = collection.Scroll(new ScrollRequest { Filter = rootFilter, Limit = 1024, Offset = offset, WithPayload = new PayloadSelector(true, [FilePath]) });
                foreach (var point in page.Points)
                {
                    if (point.Payload?.Root.TryGetProperty(FilePathKey, out var value) == true && value.ValueKind == JsonValueKind.String
                        && !present.Contains((collection.Name, value.GetString()!)))
                    {
                        missing.Add(value.GetString()!);
                    }
                }

                offset = page.NextPageOffset;
            }
            while (offset is not null);

            foreach (var relative in missing)
            {
                await collection.UpdateAsync(new DeletePointsOperation(PointSelector.ForFilter(Identity(root, relative))), WaitForSync, cancellationToken).ConfigureAwait(false);
                logger.LogDebug("Removed {Root}/{Path} from {Collection}: no longer present", root, relative, collection.Name);
            }

            removed += missing.Count;
        }

        return removed;
    }

    /// <summary>Deletes a file's points (all, or those whose hash is not <paramref name="keepHash"/>) from one or every file collection.</summary>
    private async Task<long> DeletePointsAsync(string root, string relative, string? keepHash, CancellationToken cancellationToken, Collection? only = null, bool prefix = false)
    {
        long removed = 0;
        var filter = Identity(root, relative, exceptHash: keepHash, prefix: prefix);
        foreach (var collection in only is null ? FileCollections().ToList() : [only])
        {
            var count = collection.Count(filter);
            if (count > 0)
            {
                await collection.UpdateAsync(new DeletePointsOperation(PointSelector.ForFilter(filter)), WaitForSync, cancellationToken).ConfigureAwait(false);
                removed += count;
            }
        }

        return removed;
    }

    /// <summary>
    /// The points of a file: all of them, those of the version <paramref name="withHash"/>, or those of every version but
    /// <paramref name="exceptHash"/>; with <paramref name="prefix"/>, of every file whose path starts with <paramref name="relative"/>.
    /// </summary>
    private static Filter Identity(string root, string relative, string? withHash = null, string? exceptHash = null, bool prefix = false)
    {
        var path = prefix ? new FieldCondition(FilePath) { Match = new MatchCondition { Kind = MatchKind.Prefix, Text = relative } } : Match(FilePath, relative);
        return new Filter
        {
            Must = withHash is null ? [Match(WatchRoot, root), path] : [Match(WatchRoot, root), path, Match(FileHash, withHash)],
            MustNot = exceptHash is null ? null : [Match(FileHash, exceptHash)],
        };
    }

    private static FieldCondition Match(JsonPath key, string value) =>
        new(key) { Match = new MatchCondition { Kind = MatchKind.Value, Value = MatchValue.Of(value) } };

    // ------------------------------------------------------------------ reading a file

    /// <summary>A file read and hashed, ready to chunk.</summary>
    private sealed record ReadFile(string FullPath, string Root, string Relative, string Collection, string Hash, string Text, DateTimeOffset Mtime);

    /// <summary>Reads one path: a result when it needs no indexing (skipped, ignored, gone), else the file.</summary>
    private (FileIndexResult? Result, ReadFile? File) Read(string path)
    {
        var (result, file) = Selector.Inspect(path);
        if (result is not null)
        {
            if (result.Outcome == FileOutcome.Skipped)
            {
                logger.LogInformation("Skipped {Path}: {Reason}", result.Path, result.Reason);
            }

            // A file that became binary, too large or empty keeps no points of its indexable past.
            var stale = result is { Outcome: FileOutcome.Skipped, RelativePath: { } relative } && Locate(result.Path) is { } located && !result.Reason!.StartsWith("unreadable", StringComparison.Ordinal)
                ? new ReadFile(result.Path, located.Root, relative, CollectionNameFor(relative), "", "", default)
                : null;
            return (result, stale);
        }

        return (null, new ReadFile(file!.FullPath, file.Root, file.Relative, CollectionNameFor(file.Relative), file.Hash, file.Text, file.Mtime));
    }

    private FileIndexResult Skip(string fullPath, string? relative, string reason)
    {
        logger.LogInformation("Skipped {Path}: {Reason}", fullPath, reason);
        return new FileIndexResult(fullPath, FileOutcome.Skipped, relative, Reason: reason);
    }

    private FileIndexResult Fail(ReadFile file, string reason)
    {
        logger.LogWarning("Indexing {Path} into {Collection} failed: {Reason}", file.FullPath, file.Collection, reason);
        return new FileIndexResult(file.FullPath, FileOutcome.Failed, file.Relative, file.Collection, Reason: reason);
    }
}
