using System.Diagnostics;
using Vectorizer.Ingestion.Embeddings;

namespace Vectorizer.Ingestion.Files;

/// <summary>Where a full indexing run stands (reported after every batch).</summary>
public sealed record IndexRunProgress
{
    public int TotalFiles { get; init; }

    /// <summary>Files handled in an interrupted earlier run and not looked at again.</summary>
    public int ResumedFiles { get; init; }

    /// <summary>Files handled so far, resumed ones included.</summary>
    public int DoneFiles { get; init; }

    public int Indexed { get; init; }

    public int Unchanged { get; init; }

    public int Skipped { get; init; }

    public int Failed { get; init; }

    /// <summary>Files whose points were removed because they are gone from the root.</summary>
    public int Removed { get; init; }

    public long Chunks { get; init; }

    /// <summary>Bytes of all the files of the run (resumed ones included).</summary>
    public long TotalBytes { get; init; }

    /// <summary>Bytes of the files handled so far, resumed ones included.</summary>
    public long DoneBytes { get; init; }

    /// <summary>Bytes of the files resumed from the checkpoint.</summary>
    public long ResumedBytes { get; init; }

    /// <summary>Embedding tokens of the whole run, earlier runs it resumes included.</summary>
    public long Tokens { get; init; }

    /// <summary>Embedding cost of the whole run, earlier runs it resumes included.</summary>
    public double Cost { get; init; }

    /// <summary>Set when the run stopped because the next embedding request would pass <c>max_cost</c>: why.</summary>
    public string? StoppedByCost { get; init; }

    public TimeSpan Elapsed { get; init; }

    /// <summary>Files handled by this run per second (resumed files excluded).</summary>
    public double FilesPerSecond => Elapsed.TotalSeconds > 0 ? (DoneFiles - ResumedFiles) / Elapsed.TotalSeconds : 0;

    public double ChunksPerSecond => Elapsed.TotalSeconds > 0 ? Chunks / Elapsed.TotalSeconds : 0;

    /// <summary>Bytes of files handled by this run per second (resumed files excluded).</summary>
    public double BytesPerSecond => Elapsed.TotalSeconds > 0 ? (DoneBytes - ResumedBytes) / Elapsed.TotalSeconds : 0;

    /// <summary>
    /// What is left at this run's pace, by bytes rather than files: embedding time follows the amount of text (a
    /// transformer's cost is per token), and files differ in size by orders of magnitude, so a file count makes a
    /// directory of small files look fast until the large ones come. None before the first batch.
    /// </summary>
    public TimeSpan? Eta => BytesPerSecond > 0 && DoneBytes > ResumedBytes ? TimeSpan.FromSeconds((TotalBytes - DoneBytes) / BytesPerSecond) : null;
}

/// <summary>
/// A full indexing run over one root (what <c>vectorizer index</c> does before it watches): walks the root, skips
/// the files an interrupted run already handled (<see cref="IndexCheckpoint"/>), indexes the rest in batches (hash-skip
/// makes unchanged files cheap), writes the checkpoint every <see cref="CheckpointEvery"/> files, then removes the
/// points of files that are gone and deletes the checkpoint.
/// </summary>
public sealed class FileIndexRun(FileIndexer indexer, string root, string checkpointPath)
{
    /// <summary>Files between two checkpoint writes.</summary>
    public int CheckpointEvery { get; init; } = 100;

    /// <summary>Files per <see cref="FileIndexer.IndexFilesAsync"/> call (and progress report).</summary>
    public int BatchFiles { get; init; } = 32;

    /// <summary>The collection named in the checkpoint (the one the run targets).</summary>
    public string Collection { get; init; } = indexer.Options.DefaultCollection;

    /// <summary>Called after every batch, on the run's thread.</summary>
    public Action<IndexRunProgress>? Progress { get; init; }

    /// <summary>Called for every file skipped or failed (with its reason).</summary>
    public Action<FileIndexResult>? Problem { get; init; }

    /// <summary>
    /// Most money the run's embedding may cost, resumes included (<c>embedding.max_cost</c>, <c>--max-cost</c>; 0: no
    /// limit). When the next request would pass it, the run stops: the checkpoint (with the tokens and cost so far) is
    /// written and the result has <see cref="IndexRunProgress.StoppedByCost"/>.
    /// </summary>
    public double MaxCost { get; init; }

    /// <summary>
    /// Runs to the end, or until <paramref name="cancellationToken"/> fires: then the checkpoint is written and
    /// <see cref="OperationCanceledException"/> thrown (a rerun resumes).
    /// </summary>
    public async Task<IndexRunProgress> RunAsync(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var normalizedRoot = FileIndexerOptions.NormalizeRoot(root);
        var files = indexer.EnumerateFiles(normalizedRoot, r => Problem?.Invoke(r));
        var checkpoint = IndexCheckpoint.Load(checkpointPath, normalizedRoot, Collection)
            ?? new IndexCheckpoint { Root = normalizedRoot, Collection = Collection };
        var present = new HashSet<(string, string)>();
        var todo = new List<string>(files.Count);
        var sizes = new List<long>(files.Count);
        long totalBytes = 0, resumedBytes = 0;
        foreach (var file in files)
        {
            var relative = indexer.Locate(file)!.Value.Relative;
            var size = SizeOf(file);
            totalBytes += size;
            if (checkpoint.Completed.Contains(relative))
            {
                present.Add((indexer.CollectionNameFor(relative), relative));
                resumedBytes += size;
            }
            else
            {
                todo.Add(file);
                sizes.Add(size);
            }
        }

        var budget = new RunBudget(MaxCost, new EmbeddingSpend(checkpoint.Tokens, checkpoint.Cost));
        var progress = new IndexRunProgress
        {
            TotalFiles = files.Count,
            ResumedFiles = files.Count - todo.Count,
            DoneFiles = files.Count - todo.Count,
            TotalBytes = totalBytes,
            ResumedBytes = resumedBytes,
            DoneBytes = resumedBytes,
            Tokens = checkpoint.Tokens,
            Cost = checkpoint.Cost,
        };
        Progress?.Invoke(progress);
        var sinceCheckpoint = 0;
        try
        {
            for (var start = 0; start < todo.Count; start += BatchFiles)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var count = Math.Min(BatchFiles, todo.Count - start);
                var batch = await indexer.IndexFilesAsync(todo.GetRange(start, count), budget, cancellationToken).ConfigureAwait(false);
                progress = Count(progress, batch, present, checkpoint) with
                {
                    Elapsed = clock.Elapsed,
                    DoneBytes = progress.DoneBytes + sizes.GetRange(start, count).Sum(),
                };
                progress = Spent(progress, budget, checkpoint);
                sinceCheckpoint += batch.Files.Count;
                if (sinceCheckpoint >= CheckpointEvery)
                {
                    checkpoint.Save(checkpointPath);
                    sinceCheckpoint = 0;
                }

                Progress?.Invoke(progress);
            }
        }
        catch (OperationCanceledException)
        {
            Spent(progress, budget, checkpoint);
            checkpoint.Save(checkpointPath);
            throw;
        }
        catch (IngestionException e) when (e.Code == IngestionErrorCode.CostLimitReached)
        {
            // The files of the interrupted batch that were written before the refusal are not in the checkpoint; the
            // resumed run finds them unchanged (hash-skip) and pays nothing for them. Their cost is in the budget.
            progress = Spent(progress, budget, checkpoint) with { Elapsed = clock.Elapsed, StoppedByCost = e.Message };
            checkpoint.Save(checkpointPath);
            Progress?.Invoke(progress);
            return progress;
        }

        // Without a collection mapping every file of the run goes to its one collection, and only that collection is
        // cleaned: indexing the same directory into a second collection must not empty the first.
        var only = indexer.Options.CollectionMapping.Count == 0 ? indexer.EnsureCollection(Collection) : null;
        var removed = await indexer.RemoveMissingAsync(normalizedRoot, present, cancellationToken, only).ConfigureAwait(false);
        File.Delete(checkpointPath);
        progress = progress with { Removed = removed, Elapsed = clock.Elapsed };
        Progress?.Invoke(progress);
        return progress;
    }

    /// <summary>The budget's totals (the whole run's) into the progress and the checkpoint.</summary>
    private static IndexRunProgress Spent(IndexRunProgress progress, RunBudget budget, IndexCheckpoint checkpoint)
    {
        var spent = budget.Spent;
        checkpoint.Tokens = spent.Tokens;
        checkpoint.Cost = spent.Cost;
        return progress with { Tokens = spent.Tokens, Cost = spent.Cost };
    }

    private static long SizeOf(string path)
    {
        try
        {
            return new FileInfo(path).Length;
        }
        catch (IOException)
        {
            return 0;
        }
        catch (UnauthorizedAccessException)
        {
            return 0;
        }
    }

    private IndexRunProgress Count(IndexRunProgress progress, FileBatchResult batch, HashSet<(string, string)> present, IndexCheckpoint checkpoint)
    {
        int indexed = 0, unchanged = 0, skipped = 0, failed = 0;
        long chunks = 0;
        foreach (var file in batch.Files)
        {
            switch (file.Outcome)
            {
                case FileOutcome.Indexed:
                    indexed++;
                    chunks += file.Chunks;
                    break;
                case FileOutcome.Unchanged:
                    unchanged++;
                    break;
                case FileOutcome.Skipped:
                    skipped++;
                    Problem?.Invoke(file);
                    break;
                case FileOutcome.Failed:
                    failed++;
                    Problem?.Invoke(file);
                    break;
                case FileOutcome.Removed:
                case FileOutcome.Ignored:
                    break;
            }

            if (file.RelativePath is { } relative)
            {
                if (file.Outcome != FileOutcome.Failed)
                {
                    checkpoint.Completed.Add(relative);
                }

                if (file is { Outcome: FileOutcome.Indexed or FileOutcome.Unchanged or FileOutcome.Failed, Collection: { } collection })
                {
                    present.Add((collection, relative));
                }
            }
        }

        return progress with
        {
            DoneFiles = progress.DoneFiles + batch.Files.Count,
            Indexed = progress.Indexed + indexed,
            Unchanged = progress.Unchanged + unchanged,
            Skipped = progress.Skipped + skipped,
            Failed = progress.Failed + failed,
            Chunks = progress.Chunks + chunks,
        };
    }
}
