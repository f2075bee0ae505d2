using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Vectorizer.Engine.Collections.Checkpoints;
using Vectorizer.Engine.Storage;

namespace Vectorizer.Engine.Collections;

/// <summary>
/// What an operator does with a collection that failed to open (see <see cref="FailedCollection"/>), on the files
/// directly, with the data directory's lock held and no server running (<c>vectorizer collection check|repair|quarantine</c>):
/// <list type="bullet">
/// <item><see cref="Check"/> runs the same recovery as an open, changing nothing, and says what it finds.</item>
/// <item><see cref="Repair"/> makes the collection open again: a new <c>collection.json</c> from the operator, or, with the
/// operator's consent to lose them, the operations after the last one that can be replayed; a copy of the folder is
/// kept in <c>quarantine/</c> first.</item>
/// <item><see cref="Quarantine"/> moves the folder to <c>quarantine/NAME-TIMESTAMP</c> (the name is free again; nothing is
/// deleted).</item>
/// </list>
/// </summary>
public static class CollectionDoctor
{
    public const string QuarantineDirectoryName = "quarantine";

    /// <summary>Runs a read-only recovery of <paramref name="name"/> and reports what it found.</summary>
    public static CollectionCheck Check(EngineOptions options, string name, IStorage? storage = null)
    {
        storage ??= PhysicalStorage.Instance;
        var paths = PathsOf(options, name);
        var findings = new List<string>();
        if (!storage.DirectoryExists(paths.Root))
        {
            return new CollectionCheck(name, paths.Root, CollectionProblem.Missing, $"no folder {paths.Root}", findings, 0, 0, 0, 0);
        }

        CollectionConfig config;
        try
        {
            config = CollectionConfigFile.Read(storage, paths.ConfigFile);
            findings.Add($"collection.json: ok ({config.Vectors.Count} dense vector(s), {config.SparseVectors.Count} sparse)");
        }
        catch (CorruptDataException e)
        {
            return new CollectionCheck(name, paths.Root, CollectionProblem.ConfigDamaged, e.Message, findings, 0, 0, 0, 0);
        }
        catch (UnsupportedFormatException e)
        {
            return new CollectionCheck(name, paths.Root, CollectionProblem.NewerFormat, e.Message, findings, 0, 0, 0, 0);
        }

        // As an open does: the schema the replay ends with (a damaged WAL is reported by the replay below).
        var changes = VectorChanges.None;
        try
        {
            changes = VectorChanges.Scan(storage, paths.WalDirectory, (Collection.WalStart(storage, paths) ?? 1) - 1);
            config = changes.Apply(config);
        }
        catch (Exception e) when (e is CorruptDataException or UnsupportedFormatException)
        {
            changes = VectorChanges.None;
        }

        var store = new CheckpointStore(name, paths, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, storage);
        CollectionState? state;
        long checkpointLsn;
        try
        {
            (state, checkpointLsn) = store.LoadNewest(config, readOnly: true, damaged: (lsn, reason) => findings.Add($"checkpoint {lsn}: damaged ({reason}); an older one is used"));
        }
        catch (UnsupportedFormatException e)
        {
            return new CollectionCheck(name, paths.Root, CollectionProblem.NewerFormat, e.Message, findings, 0, 0, 0, 0);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return new CollectionCheck(name, paths.Root, CollectionProblem.Bug, CollectionManager.Describe(e), findings, 0, 0, 0, 0);
        }

        findings.Add(state is null ? "checkpoints: none usable (the whole WAL is replayed)" : $"checkpoint {checkpointLsn}: ok ({state.LiveCount} points)");
        state ??= new CollectionState(config, 0, null);
        var walFirst = Collection.WalStart(storage, paths) ?? 0;
        var lastGood = checkpointLsn;
        var replayed = 0L;
        try
        {
            var scan = WriteAheadLog.Scan(storage, paths.WalDirectory, checkpointLsn, record =>
            {
                Collection.ApplyRecord(state, record, changes, config, null);
                lastGood = record.Lsn;
                replayed++;
            });
            findings.Add($"WAL: {scan.Segments.Count} segment(s), LSN {scan.FirstLsn}..{scan.LastLsn}, {replayed} record(s) after the checkpoint replayed");
            if (scan.TornTail is { } torn)
            {
                findings.Add($"WAL: torn tail after LSN {torn.LastLsn} ({torn.DroppedBytes} bytes never acknowledged as durable); an open cuts it");
            }

            return new CollectionCheck(name, paths.Root, CollectionProblem.None, "opens", findings, state.LiveCount, checkpointLsn, Math.Max(scan.LastLsn, checkpointLsn), 0);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            var problem = e switch
            {
                UnsupportedFormatException => CollectionProblem.NewerFormat,
                CorruptDataException when walFirst > checkpointLsn + 1 && replayed == 0 => CollectionProblem.MissingOperations,
                CorruptDataException => CollectionProblem.WalDamaged,
                InvalidOperationException { InnerException: not null } => CollectionProblem.WalDamaged,
                _ => CollectionProblem.Bug,
            };
            return new CollectionCheck(name, paths.Root, problem, CollectionManager.Describe(e), findings, state.LiveCount, checkpointLsn, lastGood, replayed);
        }
    }

    /// <summary>
    /// Repairs <paramref name="name"/> so it opens: with <paramref name="config"/>, writes it as the collection's
    /// <c>collection.json</c>; with <paramref name="acceptDataLoss"/>, removes the WAL records after the last one that
    /// can be replayed (or replays past missing operations), then checkpoints. Every file is first copied to
    /// <c>quarantine/NAME-TIMESTAMP-before-repair</c> unless <paramref name="backup"/> is false.
    /// </summary>
    public static CollectionRepair Repair(
        EngineOptions options, string name, ILoggerFactory loggers, bool acceptDataLoss, string? config = null, bool backup = true, IStorage? storage = null, DateTimeOffset? now = null)
    {
        storage ??= PhysicalStorage.Instance;
        var paths = PathsOf(options, name);
        var before = Check(options, name, storage);
        var done = new List<string>();
        if (before.Problem == CollectionProblem.None && config is null)
        {
            return new CollectionRepair(before, Check(options, name, storage), done, null);
        }

        switch (before.Problem)
        {
            case CollectionProblem.Missing:
            case CollectionProblem.NewerFormat:
            case CollectionProblem.Bug:
                return new CollectionRepair(before, before, done, before.Problem switch
                {
                    CollectionProblem.NewerFormat => "written by a newer Vectorizer: upgrade instead of repairing (nothing was changed)",
                    CollectionProblem.Bug => "the failure is not damage in the files but an error in Vectorizer: please report it; `quarantine` frees the name (nothing was changed)",
                    _ => "there is no such collection",
                });
            case CollectionProblem.ConfigDamaged when config is null:
                return new CollectionRepair(before, before, done, "collection.json is damaged: give a good copy with --config-file (from a backup, or rewritten by hand); nothing was changed");
            case CollectionProblem.WalDamaged or CollectionProblem.MissingOperations when !acceptDataLoss:
                return new CollectionRepair(before, before, done, $"repairing loses acknowledged operations after LSN {before.LastLsn}: run again with --accept-data-loss to go ahead; nothing was changed");
        }

        var backupPath = backup ? Copy(storage, options, paths.Root, name, now ?? DateTimeOffset.UtcNow, "before-repair") : null;
        if (backupPath is not null)
        {
            done.Add($"copied {paths.Root} to {backupPath}");
        }

        if (config is not null)
        {
            var parsed = CollectionConfigFile.Read(storage, config);
            CollectionConfigFile.Write(storage, paths.ConfigFile, parsed);
            done.Add($"wrote collection.json from {config}");
            before = Check(options, name, storage) with { Findings = before.Findings };
        }

        if (before.Problem is CollectionProblem.WalDamaged && acceptDataLoss)
        {
            var removed = WriteAheadLog.TruncateAfter(storage, paths.WalDirectory, before.LastLsn);
            done.Add($"cut the WAL after LSN {before.LastLsn} ({removed} record(s) and anything unreadable after them removed)");
        }

        if (before.Problem is CollectionProblem.WalDamaged or CollectionProblem.MissingOperations or CollectionProblem.None)
        {
            using var collection = Collection.Open(name, paths, options, loggers.CreateLogger($"Vectorizer.Collection.{name}"), storage, acceptGap: acceptDataLoss);
            collection.Checkpoint();
            done.Add($"opened and checkpointed at LSN {collection.CheckpointLsn} ({collection.GetInfo().PointsCount} points)");
        }

        var after = Check(options, name, storage);
        return new CollectionRepair(before, after, done, after.Problem == CollectionProblem.None ? null : after.Reason);
    }

    /// <summary>
    /// Moves <paramref name="name"/>'s folder to <c>quarantine/NAME-TIMESTAMP</c> and removes the aliases that pointed at
    /// it (listed, with the reason given, in the moved folder's <c>quarantine.json</c>, so it can be put back by hand).
    /// </summary>
    public static CollectionQuarantine Quarantine(EngineOptions options, string name, string reason, IStorage? storage = null, DateTimeOffset? now = null)
    {
        storage ??= PhysicalStorage.Instance;
        var paths = PathsOf(options, name);
        if (!storage.DirectoryExists(paths.Root))
        {
            throw new DirectoryNotFoundException($"no collection folder {paths.Root}");
        }

        var dataDir = Path.GetFullPath(options.DataDir);
        var aliasesFile = Path.Combine(dataDir, "aliases.json");
        var aliases = storage.FileExists(aliasesFile)
            ? JsonSerializer.Deserialize<Dictionary<string, string>>(storage.ReadAllBytes(aliasesFile)) ?? []
            : [];
        var removed = aliases.Where(a => a.Value == name).Select(a => a.Key).Order(StringComparer.Ordinal).ToList();
        var at = now ?? DateTimeOffset.UtcNow;
        var target = Target(storage, dataDir, name, at, null);
        FileUtil.CreateDirectoryDurable(storage, Path.GetDirectoryName(target)!);
        storage.MoveDirectory(paths.Root, target);
        storage.SyncDirectory(Path.GetDirectoryName(target)!);
        storage.SyncDirectory(Path.GetDirectoryName(paths.Root)!);
        var note = JsonSerializer.SerializeToUtf8Bytes(
            new Dictionary<string, object> { ["name"] = name, ["quarantined_at"] = at.ToString("o", CultureInfo.InvariantCulture), ["reason"] = reason, ["aliases"] = removed },
            new JsonSerializerOptions { WriteIndented = true });
        FileUtil.WriteAtomic(storage, Path.Combine(target, "quarantine.json"), note);
        if (removed.Count > 0)
        {
            var remaining = new SortedDictionary<string, string>(aliases.Where(a => a.Value != name).ToDictionary(), StringComparer.Ordinal);
            FileUtil.WriteAtomic(storage, aliasesFile, JsonSerializer.SerializeToUtf8Bytes(remaining));
        }

        return new CollectionQuarantine(name, paths.Root, target, removed);
    }

    private static CollectionPaths PathsOf(EngineOptions options, string name)
    {
        CollectionNames.Validate(name);
        return new CollectionPaths(Path.Combine(Path.GetFullPath(options.DataDir), "collections", name));
    }

    private static string Target(IStorage storage, string dataDir, string name, DateTimeOffset at, string? suffix)
    {
        var stem = Path.Combine(dataDir, QuarantineDirectoryName, $"{name}-{at.UtcDateTime:yyyyMMdd'T'HHmmss'Z'}{(suffix is null ? "" : "-" + suffix)}");
        var target = stem;
        for (var n = 2; storage.DirectoryExists(target); n++)
        {
            target = stem + "-" + n.ToString(CultureInfo.InvariantCulture);
        }

        return target;
    }

    /// <summary>Copies a folder (durably) into <c>quarantine/</c>; returns where.</summary>
    private static string Copy(IStorage storage, EngineOptions options, string source, string name, DateTimeOffset at, string suffix)
    {
        var target = Target(storage, Path.GetFullPath(options.DataDir), name, at, suffix);
        CopyDirectory(storage, source, target);
        return target;
    }

    private static void CopyDirectory(IStorage storage, string source, string target)
    {
        FileUtil.CreateDirectoryDurable(storage, target);
        foreach (var file in storage.ListFiles(source))
        {
            FileUtil.WriteDurable(storage, Path.Combine(target, Path.GetFileName(file)), storage.ReadAllBytes(file));
        }

        foreach (var directory in storage.ListDirectories(source))
        {
            CopyDirectory(storage, directory, Path.Combine(target, Path.GetFileName(directory)));
        }

        storage.SyncDirectory(target);
    }
}

/// <summary>What stops a collection from opening, as far as a repair is concerned.</summary>
public enum CollectionProblem
{
    /// <summary>It opens (a torn WAL tail, which an open cuts, is not a problem).</summary>
    None,

    /// <summary>No such folder.</summary>
    Missing,

    /// <summary><c>collection.json</c> is missing or damaged: a good copy is needed.</summary>
    ConfigDamaged,

    /// <summary>A file was written by a newer Vectorizer.</summary>
    NewerFormat,

    /// <summary>A WAL record that cannot be replayed, or damage before the WAL's end: repairing loses what follows.</summary>
    WalDamaged,

    /// <summary>Operations are in neither a checkpoint nor the WAL: repairing replays what follows them.</summary>
    MissingOperations,

    /// <summary>An exception that is not about the data: a bug to report.</summary>
    Bug,
}

/// <summary>The result of <see cref="CollectionDoctor.Check"/>.</summary>
/// <param name="Name">The collection.</param>
/// <param name="Path">Its folder.</param>
/// <param name="Problem">What stops it from opening.</param>
/// <param name="Reason">In words (<c>opens</c> when nothing does).</param>
/// <param name="Findings">What was read: config, each checkpoint, the WAL.</param>
/// <param name="Points">Live points after the recovery (as far as it got).</param>
/// <param name="CheckpointLsn">The checkpoint recovery starts from (0: none).</param>
/// <param name="LastLsn">The last operation that replays.</param>
/// <param name="Replayed">WAL records replayed after the checkpoint.</param>
public sealed record CollectionCheck(
    string Name, string Path, CollectionProblem Problem, string Reason, IReadOnlyList<string> Findings, long Points, long CheckpointLsn, long LastLsn, long Replayed);

/// <summary>The result of <see cref="CollectionDoctor.Repair"/>: the check before and after, what was done, and why not (null when it opens).</summary>
public sealed record CollectionRepair(CollectionCheck Before, CollectionCheck After, IReadOnlyList<string> Done, string? NotRepaired);

/// <summary>The result of <see cref="CollectionDoctor.Quarantine"/>.</summary>
public sealed record CollectionQuarantine(string Name, string From, string To, IReadOnlyList<string> RemovedAliases);
