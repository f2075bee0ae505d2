using System.Globalization;
using Microsoft.Extensions.Logging;
using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Storage;

namespace Vectorizer.Engine.Collections;

/// <summary>Restoring a collection from a staged folder (a backup, a snapshot), swapped in atomically.</summary>
public sealed partial class CollectionManager
{
    /// <summary>Where restores stage collection folders (on the data directory's file system, so the swap is a rename); emptied at start.</summary>
    private string StagingDirectory => Path.Combine(DataDirectory, "staging");

    private string QuarantineDirectory => Path.Combine(DataDirectory, "quarantine");

    /// <summary>A new, empty folder to stage a collection in before <see cref="SwapIn"/>.</summary>
    public string CreateStagingFolder()
    {
        ThrowIfDisposed();
        var folder = Path.Combine(StagingDirectory, Guid.NewGuid().ToString("N"));
        FileUtil.CreateDirectoryDurable(storage, folder);
        return folder;
    }

    /// <summary>Removes a staging folder that was not swapped in (a failed restore).</summary>
    public void DiscardStagingFolder(string folder)
    {
        if (AllowedStaging(folder))
        {
            storage.DeleteDirectory(folder);
        }
    }

    private bool AllowedStaging(string folder) =>
        Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder))) == StagingDirectory;

    /// <summary>
    /// Makes the collection folder staged in <paramref name="stagedFolder"/> (from <see cref="CreateStagingFolder"/>;
    /// its files durable) the collection <paramref name="name"/>, and points <paramref name="aliases"/> at it (an alias
    /// that names a collection, or another collection's alias, is left alone and not returned).
    /// <para>
    /// With <paramref name="replace"/> an existing collection of that name is replaced: it stops taking writes (they
    /// are refused as <see cref="ErrorCode.ShuttingDown"/> for the moment the swap takes), keeps answering reads from
    /// memory while the restored one opens, and is then replaced in one step, so a reader sees the old collection or the
    /// new one, never a mixture and never neither. The replaced folder waits in <c>quarantine/</c> until the new
    /// collection has opened, then is deleted; if the new one does not open, the old one is put back and reopened, and
    /// the error is thrown. Without <paramref name="replace"/> an existing name is an error.
    /// </para>
    /// </summary>
    /// <returns>The aliases set.</returns>
    public IReadOnlyList<string> SwapIn(string name, string stagedFolder, bool replace, IReadOnlyList<string> aliases)
    {
        CollectionNames.Validate(name);
        if (!AllowedStaging(stagedFolder) || !storage.FileExists(Path.Combine(stagedFolder, CollectionConfigFile.FileName)))
        {
            throw VectorizerException.BadRequest($"`{stagedFolder}` is not a staged collection folder");
        }

        lock (metaLock)
        {
            ThrowIfDisposed();
            ThrowIfFailed(name);
            if (this.aliases.ContainsKey(name))
            {
                throw VectorizerException.BadRequest($"Can't restore collection with name {name}. Alias with the same name already exists");
            }

            collections.TryGetValue(name, out var old);
            if (old is not null && !replace)
            {
                throw new VectorizerException(ErrorCode.CollectionAlreadyExists, $"Collection `{name}` already exists!");
            }

            var target = Path.Combine(CollectionsDirectory, name);
            if (old is null && storage.DirectoryExists(target))
            {
                throw VectorizerException.CollectionFailed(MarkFailed(
                    name, target, "its folder exists but is not a collection this server opened (copied in while it ran?)", null));
            }

            string? aside = null;
            if (old is not null)
            {
                old.Close(checkpoint: false);
                FileUtil.CreateDirectoryDurable(storage, QuarantineDirectory);
                aside = Path.Combine(QuarantineDirectory, $"{name}-{DateTime.UtcNow.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture)}-replaced-by-restore-{Guid.NewGuid().ToString("N")[..8]}");
                storage.MoveDirectory(target, aside);
                storage.SyncDirectory(QuarantineDirectory);
            }

            storage.MoveDirectory(stagedFolder, target);
            storage.SyncDirectory(CollectionsDirectory);
            storage.SyncDirectory(StagingDirectory);

            Collection fresh;
            try
            {
                fresh = Collection.Open(name, new CollectionPaths(target), Options, loggerFactory.CreateLogger($"Vectorizer.Collection.{name}"), storage);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                logger.LogError(e, "Restored collection {Name} did not open; putting the previous state back", name);
                storage.MoveDirectory(target, stagedFolder);
                storage.SyncDirectory(CollectionsDirectory);
                if (aside is not null)
                {
                    storage.MoveDirectory(aside, target);
                    storage.SyncDirectory(CollectionsDirectory);
                    collections[name] = Track(Collection.Open(name, new CollectionPaths(target), Options, loggerFactory.CreateLogger($"Vectorizer.Collection.{name}"), storage));
                }

                throw VectorizerException.BadRequest($"The restored collection `{name}` does not open ({Describe(e)}); nothing was changed");
            }

            collections[name] = Track(fresh);
            feed.Feed?.Changed(new CollectionReplaced(name));
            var set = new List<string>();
            var next = new Dictionary<string, string>(this.aliases, StringComparer.Ordinal);
            foreach (var alias in aliases)
            {
                if (alias != name && !collections.ContainsKey(alias) && !failed.ContainsKey(alias) &&
                    (!next.TryGetValue(alias, out var current) || current == name || !collections.ContainsKey(current)))
                {
                    next[alias] = name;
                    set.Add(alias);
                }
            }

            if (set.Count > 0)
            {
                SaveAliases(next);
            }

            if (aside is not null)
            {
                storage.DeleteDirectory(aside);
                storage.SyncDirectory(QuarantineDirectory);
            }

            return set;
        }
    }
}
