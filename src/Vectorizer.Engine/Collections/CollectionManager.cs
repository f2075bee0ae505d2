using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Storage;

namespace Vectorizer.Engine.Collections;

/// <summary>
/// All collections and aliases under one data directory (Qdrant's "table of contents"): creation, deletion,
/// lookup by name or alias, and the background maintenance loop (auto-save checkpoints, vacuum).
/// <para>
/// It never deletes a folder that may hold acknowledged data. A collection that cannot be opened is kept as a
/// <see cref="FailedCollection"/>: reported (<see cref="Failed"/>, the log), not served, and its name cannot be
/// created, deleted or aliased over until an operator acts (<c>vectorizer collection check|repair|quarantine</c>).
/// The only folders it removes are its own: <c>trash/</c> (collections deleted on request), a folder it created in a
/// <see cref="Create"/> that failed, and a folder that provably holds no data (no <c>collection.json</c> and no files
/// but <c>collection.json.tmp</c>: a create interrupted before the config was in place, so before any write).
/// </para>
/// </summary>
public sealed partial class CollectionManager : IDisposable
{
    private readonly ConcurrentDictionary<string, Collection> collections = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, FailedCollection> failed = new(StringComparer.Ordinal);
    private readonly IStorage storage;
    private readonly object metaLock = new();
    private readonly ILoggerFactory loggerFactory;
    private readonly ILogger logger;
    private readonly CancellationTokenSource shutdown = new();
    private Dictionary<string, string> aliases = new(StringComparer.Ordinal);
    private readonly ChangeFeedHolder feed = new();
    private Task maintenanceTask = Task.CompletedTask;
    private bool disposed;

    private CollectionManager(EngineOptions options, ILoggerFactory loggerFactory, IStorage storage)
    {
        Options = options;
        this.storage = storage;
        this.loggerFactory = loggerFactory;
        logger = loggerFactory.CreateLogger<CollectionManager>();
        DataDirectory = Path.GetFullPath(options.DataDir);
    }

    public EngineOptions Options { get; }

    /// <summary>
    /// Receives every committed change of every collection, in commit order (see <see cref="IChangeFeed"/>); null for
    /// none. Set it before the changes it must see (the server sets it before it takes writes).
    /// </summary>
    public IChangeFeed? ChangeFeed
    {
        get => feed.Feed;
        set => feed.Feed = value;
    }

    /// <summary>Takes a collection into the set, sharing the manager's change feed.</summary>
    private Collection Track(Collection collection)
    {
        collection.FeedHolder = feed;
        return collection;
    }

    public string DataDirectory { get; }

    private string CollectionsDirectory => Path.Combine(DataDirectory, "collections");

    private string AliasesFile => Path.Combine(DataDirectory, "aliases.json");

    private string TrashDirectory => Path.Combine(DataDirectory, "trash");

    /// <summary>Opens every collection under the data directory and starts background maintenance.</summary>
    public static CollectionManager Open(EngineOptions options, ILoggerFactory loggerFactory) => Open(options, loggerFactory, PhysicalStorage.Instance);

    /// <summary>Opens every collection under the data directory, through <paramref name="storage"/> (tests: a simulated device).</summary>
    public static CollectionManager Open(EngineOptions options, ILoggerFactory loggerFactory, IStorage storage)
    {
        var manager = new CollectionManager(options, loggerFactory, storage);
        manager.Load();
        manager.maintenanceTask = Task.Run(() => manager.MaintenanceLoopAsync(manager.shutdown.Token));
        return manager;
    }

    private void Load()
    {
        FileUtil.CreateDirectoryDurable(storage, CollectionsDirectory);
        storage.DeleteDirectory(TrashDirectory);
        storage.DeleteDirectory(StagingDirectory);
        foreach (var directory in storage.ListDirectories(CollectionsDirectory))
        {
            var name = Path.GetFileName(directory);
            var paths = new CollectionPaths(directory);
            if (!storage.FileExists(paths.ConfigFile))
            {
                if (HoldsNoData(directory))
                {
                    logger.LogWarning("Removing {Directory}: a create interrupted before collection.json was in place (it holds no data)", directory);
                    storage.DeleteDirectory(directory);
                    storage.SyncDirectory(CollectionsDirectory);
                }
                else
                {
                    MarkFailed(name, directory, "no collection.json, but the folder holds other files (WAL or checkpoints)", null);
                }

                continue;
            }

            try
            {
                collections[name] = Track(Collection.Open(name, paths, Options, loggerFactory.CreateLogger($"Vectorizer.Collection.{name}"), storage));
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Whatever the cause, even a bug: report it, leave the files alone, serve the others.
                MarkFailed(name, directory, Describe(e), e);
            }
        }

        if (storage.FileExists(AliasesFile))
        {
            var stored = JsonSerializer.Deserialize<Dictionary<string, string>>(storage.ReadAllBytes(AliasesFile)) ?? [];
            aliases = new Dictionary<string, string>(stored, StringComparer.Ordinal);
        }
    }

    /// <summary>Why an open failed, in words; exceptions that are not about the data are called what they are.</summary>
    public static string Describe(Exception e) => e switch
    {
        CorruptDataException or UnsupportedFormatException or VectorizerException or IOException or UnauthorizedAccessException or JsonException => e.Message,
        _ => $"{e.GetType().Name}: {e.Message} (an error in Vectorizer itself, not in the data: please report it)",
    };

    private FailedCollection MarkFailed(string name, string directory, string reason, Exception? exception)
    {
        var entry = new FailedCollection(name, directory, reason, DateTimeOffset.UtcNow);
        failed[name] = entry;
        logger.LogError(
            exception,
            "Collection {Name} could not be opened and is not served: {Reason}. Its files in {Directory} are kept as they are; stop the server and run `vectorizer collection check {Name}`",
            name, reason, directory, name);
        return entry;
    }

    /// <summary>
    /// True when <paramref name="directory"/> holds nothing but empty folders and <c>collection.json.tmp</c>: all a
    /// create leaves before collection.json is in place (no operation is accepted before that).
    /// </summary>
    private bool HoldsNoData(string directory)
    {
        foreach (var file in storage.ListFiles(directory))
        {
            if (Path.GetFileName(file) != CollectionConfigFile.FileName + ".tmp" || Path.GetDirectoryName(file) != Path.TrimEndingDirectorySeparator(directory))
            {
                return false;
            }
        }

        foreach (var child in storage.ListDirectories(directory))
        {
            if (storage.ListFiles(child).Count > 0 || !HoldsNoData(child))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Collections that could not be opened (not served; see <see cref="FailedCollection"/>), sorted by name.</summary>
    public IReadOnlyList<FailedCollection> Failed
    {
        get
        {
            var list = new List<FailedCollection>(failed.Values);
            list.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
            return list;
        }
    }

    /// <summary>Collection names, sorted.</summary>
    public IReadOnlyList<string> List()
    {
        var names = new List<string>(collections.Keys);
        names.Sort(StringComparer.Ordinal);
        return names;
    }

    public IEnumerable<Collection> All => collections.Values;

    /// <summary>Finds a collection by name or alias; throws 404 when neither exists, and 409 for a failed collection.</summary>
    public Collection Get(string nameOrAlias) =>
        TryGet(nameOrAlias) ?? throw (FailedFor(nameOrAlias) is { } f ? VectorizerException.CollectionFailed(f) : VectorizerException.CollectionNotFound(nameOrAlias));

    /// <summary>The failed collection a name or alias refers to, if any.</summary>
    public FailedCollection? FailedFor(string nameOrAlias) =>
        failed.TryGetValue(nameOrAlias, out var entry) ||
        (Volatile.Read(ref aliases).TryGetValue(nameOrAlias, out var target) && failed.TryGetValue(target, out entry))
            ? entry
            : null;

    public Collection? TryGet(string nameOrAlias)
    {
        if (collections.TryGetValue(nameOrAlias, out var collection))
        {
            return collection;
        }

        var map = Volatile.Read(ref aliases);
        return map.TryGetValue(nameOrAlias, out var target) && collections.TryGetValue(target, out collection) ? collection : null;
    }

    /// <summary>True for a served collection or alias, and for a failed collection (its name is taken).</summary>
    public bool Exists(string nameOrAlias) => TryGet(nameOrAlias) is not null || FailedFor(nameOrAlias) is not null;

    public Collection Create(string name, CollectionConfig config)
    {
        CollectionNames.Validate(name);
        config.Validate(Options.MaxVectorSize);
        lock (metaLock)
        {
            ThrowIfDisposed();
            if (failed.TryGetValue(name, out var broken))
            {
                throw VectorizerException.CollectionFailed(broken);
            }

            if (collections.ContainsKey(name))
            {
                throw new VectorizerException(ErrorCode.CollectionAlreadyExists, $"Collection `{name}` already exists!");
            }

            if (aliases.ContainsKey(name))
            {
                throw VectorizerException.BadRequest($"Can't create collection with name {name}. Alias with the same name already exists");
            }

            var paths = new CollectionPaths(Path.Combine(CollectionsDirectory, name));
            if (storage.DirectoryExists(paths.Root))
            {
                if (storage.FileExists(paths.ConfigFile) || !HoldsNoData(paths.Root))
                {
                    // Not ours to replace: copied in while the server ran, or a collection it never opened.
                    throw VectorizerException.CollectionFailed(MarkFailed(
                        name, paths.Root, "its folder exists but is not a collection this server opened (copied in while it ran?)", null));
                }

                storage.DeleteDirectory(paths.Root);
            }

            Collection collection;
            try
            {
                collection = Collection.Create(name, paths, config, Options, loggerFactory.CreateLogger($"Vectorizer.Collection.{name}"), storage);
                storage.SyncDirectory(CollectionsDirectory);
            }
            catch
            {
                // The folder is ours and nothing was acknowledged in it: remove what this call made.
                TryDelete(paths.Root);
                throw;
            }

            collections[name] = Track(collection);
            feed.Feed?.Changed(new CollectionCreated(name, CollectionConfigFile.ToUtf8(collection.Config)));
            return collection;
        }
    }

    private void TryDelete(string directory)
    {
        try
        {
            storage.DeleteDirectory(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            logger.LogWarning(e, "Could not remove {Directory} after a failed create", directory);
        }
    }

    /// <summary>Deletes a collection, its files and its aliases. Returns false when it did not exist.</summary>
    public bool Delete(string name)
    {
        Collection? collection;
        lock (metaLock)
        {
            ThrowIfDisposed();
            if (failed.TryGetValue(name, out var broken))
            {
                throw VectorizerException.CollectionFailed(broken);
            }

            if (!collections.TryRemove(name, out collection))
            {
                return false;
            }

            var remaining = new Dictionary<string, string>(aliases, StringComparer.Ordinal);
            foreach (var (alias, target) in aliases)
            {
                if (target == name)
                {
                    remaining.Remove(alias);
                }
            }

            if (remaining.Count != aliases.Count)
            {
                SaveAliases(remaining, emit: false); // a follower's delete drops them too
            }

            collection.Close(checkpoint: false);
            storage.CreateDirectory(TrashDirectory);
            var trash = Path.Combine(TrashDirectory, Guid.NewGuid().ToString("N"));
            storage.MoveDirectory(collection.Paths.Root, trash);
            storage.SyncDirectory(CollectionsDirectory);
            storage.DeleteDirectory(trash);
            feed.Feed?.Changed(new CollectionDeleted(name));
        }

        return true;
    }

    /// <summary>Applies alias actions as one unit: all succeed, or none is applied.</summary>
    public void UpdateAliases(IReadOnlyList<AliasOperation> operations)
    {
        lock (metaLock)
        {
            ThrowIfDisposed();
            var next = new Dictionary<string, string>(aliases, StringComparer.Ordinal);
            foreach (var operation in operations)
            {
                switch (operation)
                {
                    case CreateAlias create:
                        CollectionNames.Validate(create.AliasName, "alias name");
                        ThrowIfFailed(create.CollectionName);
                        if (!collections.ContainsKey(create.CollectionName))
                        {
                            throw VectorizerException.CollectionNotFound(create.CollectionName);
                        }

                        ThrowIfFailed(create.AliasName);
                        if (collections.ContainsKey(create.AliasName))
                        {
                            throw new VectorizerException(ErrorCode.CollectionAlreadyExists, $"Collection `{create.AliasName}` already exists!");
                        }

                        next[create.AliasName] = create.CollectionName;
                        break;
                    case DeleteAlias delete:
                        // As in Qdrant, deleting an alias that does not exist is not an error.
                        next.Remove(delete.AliasName);
                        break;
                    case RenameAlias rename:
                        CollectionNames.Validate(rename.NewAliasName, "alias name");
                        if (!next.Remove(rename.OldAliasName, out var target))
                        {
                            throw new VectorizerException(ErrorCode.AliasNotFound, $"Alias {rename.OldAliasName} does not exists!");
                        }

                        ThrowIfFailed(rename.NewAliasName);
                        if (collections.ContainsKey(rename.NewAliasName))
                        {
                            throw new VectorizerException(ErrorCode.CollectionAlreadyExists, $"Collection `{rename.NewAliasName}` already exists!");
                        }

                        next[rename.NewAliasName] = target;
                        break;
                }
            }

            SaveAliases(next);
        }
    }

    private void ThrowIfFailed(string name)
    {
        if (failed.TryGetValue(name, out var broken))
        {
            throw VectorizerException.CollectionFailed(broken);
        }
    }

    private void SaveAliases(Dictionary<string, string> next, bool emit = true)
    {
        FileUtil.WriteAtomic(storage, AliasesFile, JsonSerializer.SerializeToUtf8Bytes(new SortedDictionary<string, string>(next, StringComparer.Ordinal)));
        Volatile.Write(ref aliases, next);
        if (emit)
        {
            feed.Feed?.Changed(new AliasesChanged(new SortedDictionary<string, string>(next, StringComparer.Ordinal)));
        }
    }

    /// <summary>Replication: makes the alias map exactly <paramref name="map"/> (aliases naming no collection are dropped).</summary>
    public void ReplaceAliases(IReadOnlyDictionary<string, string> map)
    {
        lock (metaLock)
        {
            ThrowIfDisposed();
            var next = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (alias, target) in map)
            {
                if (collections.ContainsKey(target) && !collections.ContainsKey(alias))
                {
                    next[alias] = target;
                }
            }

            SaveAliases(next);
        }
    }

    /// <summary>The alias map now (alias → collection).</summary>
    public IReadOnlyDictionary<string, string> AliasMap() => new SortedDictionary<string, string>(Volatile.Read(ref aliases), StringComparer.Ordinal);

    /// <summary>All aliases, or those of one collection, sorted by alias name.</summary>
    public IReadOnlyList<AliasDescription> ListAliases(string? collectionName = null)
    {
        if (collectionName is not null && !collections.ContainsKey(collectionName) && !failed.ContainsKey(collectionName))
        {
            throw VectorizerException.CollectionNotFound(collectionName);
        }

        var result = new List<AliasDescription>();
        foreach (var (alias, target) in Volatile.Read(ref aliases))
        {
            if (collectionName is null || target == collectionName)
            {
                result.Add(new AliasDescription(alias, target));
            }
        }

        result.Sort((a, b) => string.CompareOrdinal(a.AliasName, b.AliasName));
        return result;
    }

    /// <summary>Runs auto-save checkpoints and vacuum in the background.</summary>
    private async Task MaintenanceLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(Options.MaintenanceInterval, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            foreach (var collection in collections.Values)
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    return;
                }

                try
                {
                    if (collection.VacuumDue)
                    {
                        collection.Vacuum();
                    }

                    if (collection.CheckpointDue(Options.AutoSave, DateTime.UtcNow))
                    {
                        collection.Checkpoint();
                    }
                }
                catch (Exception e) when (e is IOException or VectorizerException or UnauthorizedAccessException or ObjectDisposedException)
                {
                    logger.LogError(e, "Maintenance of collection {Name} failed", collection.Name);
                }
            }
        }
    }

    /// <summary>Checkpoints every collection now (used by graceful shutdown and the CLI).</summary>
    public void CheckpointAll()
    {
        foreach (var collection in collections.Values)
        {
            collection.Checkpoint();
        }
    }

    private void ThrowIfDisposed()
    {
        if (disposed)
        {
            throw new VectorizerException(ErrorCode.ShuttingDown, "The server is shutting down");
        }
    }

    /// <summary>Stops maintenance, then checkpoints and closes every collection.</summary>
    public void Dispose()
    {
        lock (metaLock)
        {
            if (disposed)
            {
                return;
            }

            disposed = true;
        }

        shutdown.Cancel();
        try
        {
            maintenanceTask.Wait(TimeSpan.FromSeconds(60));
        }
        catch (AggregateException)
        {
        }

        foreach (var collection in collections.Values)
        {
            collection.Close(checkpoint: true);
        }
    }
}
