using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Storage;

namespace Vectorizer.Engine.Collections;

/// <summary>
/// All collections and aliases under one data directory (Qdrant's "table of contents"): creation, deletion,
/// lookup by name or alias, and the background maintenance loop (auto-save checkpoints, vacuum).
/// </summary>
public sealed class CollectionManager : IDisposable
{
    private readonly ConcurrentDictionary<string, Collection> collections = new(StringComparer.Ordinal);
    private readonly object metaLock = new();
    private readonly ILoggerFactory loggerFactory;
    private readonly ILogger logger;
    private readonly CancellationTokenSource shutdown = new();
    private Dictionary<string, string> aliases = new(StringComparer.Ordinal);
    private Task maintenanceTask = Task.CompletedTask;
    private bool disposed;

    private CollectionManager(EngineOptions options, ILoggerFactory loggerFactory)
    {
        Options = options;
        this.loggerFactory = loggerFactory;
        logger = loggerFactory.CreateLogger<CollectionManager>();
        DataDirectory = Path.GetFullPath(options.DataDir);
    }

    public EngineOptions Options { get; }

    public string DataDirectory { get; }

    private string CollectionsDirectory => Path.Combine(DataDirectory, "collections");

    private string AliasesFile => Path.Combine(DataDirectory, "aliases.json");

    private string TrashDirectory => Path.Combine(DataDirectory, "trash");

    /// <summary>Opens every collection under the data directory and starts background maintenance.</summary>
    public static CollectionManager Open(EngineOptions options, ILoggerFactory loggerFactory)
    {
        var manager = new CollectionManager(options, loggerFactory);
        manager.Load();
        manager.maintenanceTask = Task.Run(() => manager.MaintenanceLoopAsync(manager.shutdown.Token));
        return manager;
    }

    private void Load()
    {
        Directory.CreateDirectory(CollectionsDirectory);
        if (Directory.Exists(TrashDirectory))
        {
            Directory.Delete(TrashDirectory, recursive: true);
        }

        foreach (var directory in Directory.EnumerateDirectories(CollectionsDirectory))
        {
            var name = Path.GetFileName(directory);
            var paths = new CollectionPaths(directory);
            if (!File.Exists(paths.ConfigFile))
            {
                logger.LogWarning("Ignoring {Directory}: no collection.json (an interrupted create?)", directory);
                continue;
            }

            try
            {
                collections[name] = Collection.Open(name, paths, Options, loggerFactory.CreateLogger($"Vectorizer.Collection.{name}"));
            }
            catch (Exception e) when (e is IOException or VectorizerException or JsonException or InvalidDataException or UnauthorizedAccessException)
            {
                logger.LogError(e, "Collection {Name} could not be opened and is not served", name);
            }
        }

        if (File.Exists(AliasesFile))
        {
            var stored = JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllBytes(AliasesFile)) ?? [];
            aliases = new Dictionary<string, string>(stored, StringComparer.Ordinal);
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

    /// <summary>Finds a collection by name or alias; throws 404 when neither exists.</summary>
    public Collection Get(string nameOrAlias) =>
        TryGet(nameOrAlias) ?? throw VectorizerException.CollectionNotFound(nameOrAlias);

    public Collection? TryGet(string nameOrAlias)
    {
        if (collections.TryGetValue(nameOrAlias, out var collection))
        {
            return collection;
        }

        var map = Volatile.Read(ref aliases);
        return map.TryGetValue(nameOrAlias, out var target) && collections.TryGetValue(target, out collection) ? collection : null;
    }

    public bool Exists(string nameOrAlias) => TryGet(nameOrAlias) is not null;

    public Collection Create(string name, CollectionConfig config)
    {
        CollectionNames.Validate(name);
        config.Validate(Options.MaxVectorSize);
        lock (metaLock)
        {
            ThrowIfDisposed();
            if (collections.ContainsKey(name))
            {
                throw new VectorizerException(ErrorCode.CollectionAlreadyExists, $"Collection `{name}` already exists!");
            }

            if (aliases.ContainsKey(name))
            {
                throw VectorizerException.BadRequest($"Can't create collection with name {name}. Alias with the same name already exists");
            }

            var paths = new CollectionPaths(Path.Combine(CollectionsDirectory, name));
            if (Directory.Exists(paths.Root))
            {
                // Left over from a crash between creating the folder and writing collection.json.
                Directory.Delete(paths.Root, recursive: true);
            }

            var collection = Collection.Create(name, paths, config, Options, loggerFactory.CreateLogger($"Vectorizer.Collection.{name}"));
            FileUtil.SyncDirectory(CollectionsDirectory);
            collections[name] = collection;
            return collection;
        }
    }

    /// <summary>Deletes a collection, its files and its aliases. Returns false when it did not exist.</summary>
    public bool Delete(string name)
    {
        Collection? collection;
        lock (metaLock)
        {
            ThrowIfDisposed();
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
                SaveAliases(remaining);
            }

            collection.Close(checkpoint: false);
            Directory.CreateDirectory(TrashDirectory);
            var trash = Path.Combine(TrashDirectory, Guid.NewGuid().ToString("N"));
            Directory.Move(collection.Paths.Root, trash);
            FileUtil.SyncDirectory(CollectionsDirectory);
            Directory.Delete(trash, recursive: true);
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
                        if (!collections.ContainsKey(create.CollectionName))
                        {
                            throw VectorizerException.CollectionNotFound(create.CollectionName);
                        }

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

    private void SaveAliases(Dictionary<string, string> next)
    {
        FileUtil.WriteAtomic(AliasesFile, JsonSerializer.SerializeToUtf8Bytes(new SortedDictionary<string, string>(next, StringComparer.Ordinal)));
        Volatile.Write(ref aliases, next);
    }

    /// <summary>All aliases, or those of one collection, sorted by alias name.</summary>
    public IReadOnlyList<AliasDescription> ListAliases(string? collectionName = null)
    {
        if (collectionName is not null && !collections.ContainsKey(collectionName))
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
