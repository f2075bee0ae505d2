using Microsoft.Extensions.Logging;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Errors;
using Vectorizer.Ingestion;
using Vectorizer.Ingestion.Embeddings;
using Vectorizer.Ingestion.Files;
using Vectorizer.Server.Configuration;

namespace Vectorizer.Server.Application;

/// <summary>One file of a <c>/files</c> request: with its text to be indexed, or without it to ask whether it changed.</summary>
public sealed record FileUpload(string Path, string Hash, string? Text, DateTimeOffset Mtime);

/// <summary>
/// <c>POST /collections/{c}/files</c>: files read by a client (<c>vectorizer index --url</c>), under the client's
/// <paramref name="Root"/> (an absolute path on the client's machine, kept in each chunk's <c>watch_root</c>, so the
/// points are those a local run over the same directory makes). <paramref name="MaxCost"/> and
/// <paramref name="SpentCost"/>: the client's run budget (0: none).
/// </summary>
public sealed record FilesRequest(string Root, IReadOnlyList<FileUpload> Files, double MaxCost, double SpentCost);

/// <summary>What happened to one file: indexed, unchanged, changed (send it again with its text), skipped, failed.</summary>
public sealed record FileOutcomeInfo(string Path, string Outcome, int Chunks, string? Reason);

public sealed record FilesResult(IReadOnlyList<FileOutcomeInfo> Files, long Tokens, double Cost);

/// <summary>
/// Indexing into a running server: the same file indexer as <c>vectorizer index</c> and the watcher (hash-skip,
/// chunking, the collection's embedders, old versions' chunks replaced), fed with files the client read. A missing
/// collection is created (manage rights) with the server's <c>embedding:</c> section, else the default embedders
/// (local + bm25); an existing one keeps its own.
/// </summary>
public sealed class FilesService(CollectionsService collections, IngestionService ingestion, VectorizerSettings settings, ILoggerFactory loggers)
{
    private readonly ILogger logger = loggers.CreateLogger("Vectorizer.Files");

    public async Task<Served<FilesResult>> IndexAsync(CallContext call, string collection, FilesRequest request, CancellationToken cancellationToken)
    {
        var target = Target(call, collection, create: true);
        var indexer = Indexer(target, request.Root);
        var results = new FileOutcomeInfo?[request.Files.Count];
        var sent = new List<SentFile>();
        var positions = new List<int>();
        for (var i = 0; i < request.Files.Count; i++)
        {
            var file = request.Files[i];
            if (FileIndexer.IsUnchanged(target, request.Root, file.Path, file.Hash))
            {
                results[i] = new FileOutcomeInfo(file.Path, "unchanged", 0, null);
            }
            else if (file.Text is null)
            {
                results[i] = new FileOutcomeInfo(file.Path, "changed", 0, null);
            }
            else
            {
                sent.Add(new SentFile(file.Path, file.Hash, file.Text, file.Mtime));
                positions.Add(i);
            }
        }

        long tokens = 0;
        double cost = 0;
        if (sent.Count > 0)
        {
            var budget = request.MaxCost > 0 ? new RunBudget(request.MaxCost, new EmbeddingSpend(0, request.SpentCost)) : null;
            var batch = await indexer.IndexTextsAsync(request.Root, sent, budget, cancellationToken).ConfigureAwait(false);
            for (var j = 0; j < batch.Files.Count; j++)
            {
                var outcome = batch.Files[j];
                results[positions[j]] = new FileOutcomeInfo(sent[j].Relative, outcome.Outcome.ToString().ToLowerInvariant(), outcome.Chunks, outcome.Reason);
            }

            (tokens, cost) = (batch.Tokens, batch.Cost);
        }

        return new(target, new FilesResult([.. results.Select(r => r!)], tokens, cost));
    }

    /// <summary>
    /// <c>POST /collections/{c}/files/prune</c>: after a full run, removes the chunks of the client's files under
    /// <paramref name="root"/> that it did not report (deleted, now excluded). Only in this collection.
    /// </summary>
    public async Task<Served<int>> PruneAsync(CallContext call, string collection, string root, IReadOnlyCollection<string> present, CancellationToken cancellationToken)
    {
        var target = Target(call, collection, create: false);
        var seen = present.Select(p => (target.Name, p)).ToHashSet();
        var removed = await Indexer(target, root).RemoveMissingAsync(root, seen, cancellationToken, only: target).ConfigureAwait(false);
        return new(target, removed);
    }

    private Collection Target(CallContext call, string name, bool create)
    {
        if (!create || collections.Exists(call, name))
        {
            return collections.Resolve(call, name, AccessLevel.Write);
        }

        return TextCollections.CreateOrGet(
            settings.Embedding.ToEmbeddingConfig() ?? FileIndexerOptions.DefaultEmbedding,
            collections.Manager.Options.HnswDefaults,
            config => collections.Create(call, name, config),
            () => collections.Resolve(call, name, AccessLevel.Write));
    }

    private FileIndexer Indexer(Collection target, string root) =>
        new(collections.Manager, ingestion, new FileIndexerOptions { Roots = [root], DefaultCollection = target.Name, DataDirectory = collections.Manager.DataDirectory }, logger)
        {
            WaitForSync = true,
        };

    /// <summary>Checks a request's paths: relative, with <c>/</c>, no <c>..</c>, no empty part; the root absolute.</summary>
    public static void Validate(FilesRequest request)
    {
        if (!request.Root.StartsWith('/') || request.Root.Length > 4096 || request.Root.Contains('\0', StringComparison.Ordinal))
        {
            throw VectorizerException.BadRequest($"root: `{request.Root}` is not an absolute path");
        }

        foreach (var file in request.Files)
        {
            ValidatePath(file.Path);
            if (file.Hash.Length != 64 || !file.Hash.All(char.IsAsciiHexDigitLower))
            {
                throw VectorizerException.BadRequest($"files: `{file.Path}`: hash must be the SHA-256 of the file's bytes, 64 lowercase hex digits");
            }
        }

        if (request.MaxCost < 0 || request.SpentCost < 0 || !double.IsFinite(request.MaxCost) || !double.IsFinite(request.SpentCost))
        {
            throw VectorizerException.BadRequest("max_cost and spent_cost must be 0 or more");
        }
    }

    public static void ValidatePath(string path)
    {
        if (path.Length is 0 or > 4096 || path.StartsWith('/') || path.Contains('\\', StringComparison.Ordinal) || path.Contains('\0', StringComparison.Ordinal)
            || path.Split('/').Any(part => part is "" or "." or ".."))
        {
            throw VectorizerException.BadRequest($"files: `{path}` is not a relative path with `/` separators (no `.`, `..` or empty parts)");
        }
    }
}
