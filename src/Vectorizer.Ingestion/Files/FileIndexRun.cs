using System.Diagnostics;

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

    public long Tokens { get; init; }

    public double Cost { get; init; }

    public TimeSpan Elapsed { get; init; }

    /// <summary>Files handled by this run per second (resumed files excluded).</summary>
    public double FilesPerSecond => Elapsed.TotalSeconds > 0 ? (DoneFiles - ResumedFiles) / Elapsed.TotalSeconds : 0;

    public double ChunksPerSecond => Elapsed.TotalSeconds > 0 ? Chunks / Elapsed.TotalSeconds : 0;

    public TimeSpan? Eta => FilesPerSecond > 0 ? TimeSpan.FromSeconds((TotalFiles - DoneFiles) / FilesPerSecond) : null;
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
        foreach (var file in files)
        {
            var relative = indexer.Locate(file)!.Value.Relative;
            if (checkpoint.Completed.Contains(relative))
            {
                present.Add((indexer.CollectionNameFor(relative), relative));
            }
            else
            {
                todo.Add(file);
            }
        }

        var progress = new IndexRunProgress { TotalFiles = files.Count, ResumedFiles = files.Count - todo.Count, DoneFiles = files.Count - todo.Count };
        Progress?.Invoke(progress);
        var sinceCheckpoint = 0;
        try
        {
            for (var start = 0; start < todo.Count; start += BatchFiles)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var batch = await indexer.IndexFilesAsync(todo.GetRange(start, Math.Min(BatchFiles, todo.Count - start)), cancellationToken).ConfigureAwait(false);
                progress = Count(progress, batch, present, checkpoint) with { Elapsed = clock.Elapsed };
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
            checkpoint.Save(checkpointPath);
            throw;
        }

        var removed = await indexer.RemoveMissingAsync(normalizedRoot, present, cancellationToken).ConfigureAwait(false);
        File.Delete(checkpointPath);
        progress = progress with { Removed = removed, Elapsed = clock.Elapsed };
        Progress?.Invoke(progress);
        return progress;
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
            Tokens = progress.Tokens + batch.Tokens,
            Cost = progress.Cost + batch.Cost,
        };
    }
}
