using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Errors;
using Vectorizer.Server.Api.Qdrant;
using Vectorizer.Server.Backups;
using Vectorizer.Server.Security;

namespace Vectorizer.Server.Application;

/// <summary>A backup or snapshot file, as listed.</summary>
public sealed record BackupDescription(
    string Id, string Name, string Type, string? Parent, IReadOnlyList<string> Chain, DateTimeOffset CreatedAt, long Size, string? Sha256,
    IReadOnlyList<string> Collections, long Points, string Origin, bool AllCollections, string Path);

/// <summary>One collection a restore put in place.</summary>
public sealed record RestoredCollection(string Name, string From, long Points, long Lsn, IReadOnlyList<string> Aliases, bool Replaced);

/// <summary>What a restore did; <see cref="SafetyBackups"/> hold what it replaced.</summary>
public sealed record RestoreResult(string BackupId, IReadOnlyList<RestoredCollection> Collections, IReadOnlyList<BackupDescription> SafetyBackups, double Seconds);

/// <summary>A verified backup: every archive of its chain read through, every file's SHA-256 checked.</summary>
public sealed record VerifyResult(string Id, IReadOnlyList<string> Chain, int Files, long Bytes, double Seconds);

/// <summary>What to back up: one collection (or alias), or every collection with the aliases.</summary>
public sealed record BackupRequest(string? Collection = null, bool Incremental = false, string? Output = null, string Origin = "backup");

/// <summary>Bytes done of the total, per phase (<c>backup</c>, <c>verify</c>, <c>restore</c>): for progress bars.</summary>
public delegate void BackupProgress(string phase, long done, long total);

/// <summary>
/// Backups and Qdrant snapshots: the one implementation behind <c>/api/backups</c>, Qdrant's snapshot routes, the
/// <c>vectorizer backup</c> command (in-process or over HTTP), the schedule and gRPC. Both faces make and read the same
/// archives (<see cref="BackupArchive"/>) from each collection's <see cref="Collection.CaptureSnapshot"/>, and restore
/// through <see cref="CollectionManager.SwapIn"/>. Backups live in <c>backup.directory</c> (<c>ID.tar.gz</c>, with a
/// <c>.sha256</c> of the whole file beside it); snapshots in <c>backup.snapshots_directory</c> (<c>COLLECTION/NAME.snapshot</c>
/// and, for all collections, <c>NAME.snapshot</c>). Everything needs manage access. One operation runs at a time.
/// </summary>
public sealed class BackupsService
{
    private readonly CollectionManager manager;
    private readonly BackupSection settings;
    private readonly TimeProvider time;
    private readonly ILogger logger;
    private readonly SemaphoreSlim gate = new(1, 1);

    public BackupsService(CollectionManager manager, BackupSection settings, TimeProvider time, ILoggerFactory loggerFactory)
    {
        this.manager = manager;
        this.settings = settings;
        this.time = time;
        logger = loggerFactory.CreateLogger<BackupsService>();
        BackupsDirectory = settings.BackupsPath(manager.DataDirectory);
        SnapshotsDirectory = settings.SnapshotsPath(manager.DataDirectory);
    }

    public string BackupsDirectory { get; }

    public string SnapshotsDirectory { get; }

    /// <summary>Outcomes and the running operation's progress (metrics, <c>GET /api/backups/progress</c>).</summary>
    public BackupActivity Activity { get; } = new();

    /// <summary>The file name endings of backup archives, by compression.</summary>
    private static readonly string[] Extensions = [".tar.gz", ".tar.zst", ".tar"];

    private string Extension => settings.Compression switch
    {
        "gzip" => ".tar.gz",
        "zstd" => ".tar.zst",
        _ => ".tar",
    };

    /// <summary>Whether a file name in the backup directory is an archive's (<c>ID.tar.gz</c>, <c>ID.tar.zst</c>, <c>ID.tar</c>).</summary>
    public static bool IsArchiveName(string name) => Extensions.Any(e => name.EndsWith(e, StringComparison.Ordinal));

    // ------------------------------------------------------------------ backups (our API, the CLI, the schedule)

    /// <summary>Creates a full or incremental backup of one collection, or of all collections and their aliases.</summary>
    public async Task<BackupDescription> CreateAsync(CallContext call, BackupRequest request, BackupProgress? progress = null, CancellationToken cancellationToken = default)
    {
        call.Access.Demand(AccessLevel.Manage, null);
        return await TrackedAsync(call, "create", request.Incremental ? "incremental" : "full", progress, cancellationToken, tracked => Create(request, tracked), created => created.Size)
            .ConfigureAwait(false);
    }

    private BackupDescription Create(BackupRequest request, BackupProgress? progress)
    {
        var collections = Targets(request.Collection);
        var all = request.Collection is null;
        BackupManifest? parent = null;
        if (request.Incremental)
        {
            var names = collections.Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
            parent = ListManifests(BackupsDirectory)
                .Where(m => m.Manifest.AllCollections == all && (all || m.Manifest.Collections.Select(c => c.Name).ToHashSet(StringComparer.Ordinal).SetEquals(names)))
                .OrderByDescending(m => m.Manifest.CreatedAt)
                .Select(m => m.Manifest)
                .FirstOrDefault()
                ?? throw VectorizerException.BadRequest(
                    $"No earlier backup of {(all ? "all collections" : $"`{request.Collection}`")} in {BackupsDirectory} to build an incremental on: create a full backup first");
        }

        var now = time.GetUtcNow();
        var id = NewId(now, parent is null ? "full" : "incr");
        var path = request.Output ?? Path.Combine(BackupsDirectory, id + Extension);
        var manifest = Write(path, id, now, collections, all, parent, request.Origin, progress);
        logger.LogInformation("Backup {Id} ({Type}) of {Collections} written to {Path}", id, manifest.Type, string.Join(", ", manifest.Collections.Select(c => c.Name)), path);
        return Describe(path, manifest);
    }

    /// <summary>Every backup in the backup directory, newest first.</summary>
    public IReadOnlyList<BackupDescription> List(CallContext call)
    {
        call.Access.Demand(AccessLevel.Manage, null);
        return [.. ListManifests(BackupsDirectory).OrderByDescending(m => m.Manifest.CreatedAt).Select(m => Describe(m.Path, m.Manifest))];
    }

    /// <summary>
    /// Reads a backup (an id in the backup directory, or, for the CLI, a file) and every backup of its chain through,
    /// checking every checksum and that the chain is complete; throws, saying what is wrong, when anything is.
    /// </summary>
    public async Task<VerifyResult> VerifyAsync(CallContext call, string idOrFile, BackupProgress? progress = null, CancellationToken cancellationToken = default)
    {
        call.Access.Demand(AccessLevel.Manage, null);
        return await TrackedAsync(call, "verify", "backup", progress, cancellationToken, tracked =>
        {
            var started = time.GetTimestamp();
            var path = Locate(idOrFile);
            var (chain, files, bytes) = VerifyChain(path, tracked);
            return new VerifyResult(chain[0].Manifest.Id, [.. chain.Skip(1).Select(c => c.Manifest.Id)], files, bytes, time.GetElapsedTime(started).TotalSeconds);
        }).ConfigureAwait(false);
    }

    /// <summary>
    /// Restores a backup: every collection it holds, or <paramref name="collection"/> (its name in the backup) only,
    /// optionally as <paramref name="asName"/>. Verified first (nothing changes when it does not verify); each
    /// collection it replaces is backed up first (the result names those backups).
    /// </summary>
    public async Task<RestoreResult> RestoreAsync(CallContext call, string idOrFile, string? collection = null, string? asName = null, BackupProgress? progress = null, CancellationToken cancellationToken = default)
    {
        call.Access.Demand(AccessLevel.Manage, null);
        return await TrackedAsync(call, "restore", "backup", progress, cancellationToken, tracked => Restore(Locate(idOrFile), collection, asName, tracked)).ConfigureAwait(false);
    }

    /// <summary>Deletes a backup; refused while a backup that is kept builds on it.</summary>
    public async Task DeleteAsync(CallContext call, string id, CancellationToken cancellationToken = default)
    {
        call.Access.Demand(AccessLevel.Manage, null);
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var path = Locate(id, allowFile: false);
            var manifest = BackupArchive.ReadManifest(path);
            var children = ListManifests(BackupsDirectory).Where(m => m.Manifest.Chain.Contains(manifest.Id)).Select(m => m.Manifest.Id).ToList();
            if (children.Count > 0)
            {
                throw VectorizerException.BadRequest($"Backup {manifest.Id} is needed by {string.Join(", ", children)} (incrementals build on it): delete those first");
            }

            DeleteArchive(path);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// Retention of scheduled backups: deletes those older than <c>retention_days</c> and beyond the newest
    /// <c>retention_count</c>, except any a kept backup builds on. Returns the ids deleted.
    /// </summary>
    public async Task<IReadOnlyList<string>> ApplyRetentionAsync(CancellationToken cancellationToken = default)
    {
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var scheduled = ListManifests(BackupsDirectory).Where(m => m.Manifest.Origin == "schedule").OrderByDescending(m => m.Manifest.CreatedAt).ToList();
            var now = time.GetUtcNow();
            var keep = new List<(string Path, BackupManifest Manifest)>();
            var drop = new List<(string Path, BackupManifest Manifest)>();
            for (var i = 0; i < scheduled.Count; i++)
            {
                var tooMany = settings.RetentionCount > 0 && i >= settings.RetentionCount;
                var tooOld = settings.RetentionDays > 0 && now - scheduled[i].Manifest.CreatedAt > TimeSpan.FromDays(settings.RetentionDays);
                (tooMany || tooOld ? drop : keep).Add(scheduled[i]);
            }

            var needed = keep.SelectMany(k => k.Manifest.Chain).ToHashSet(StringComparer.Ordinal);
            var deleted = new List<string>();
            foreach (var (path, manifest) in drop)
            {
                if (!needed.Contains(manifest.Id))
                {
                    DeleteArchive(path);
                    deleted.Add(manifest.Id);
                }
            }

            if (deleted.Count > 0)
            {
                logger.LogInformation("Backup retention deleted {Ids}", string.Join(", ", deleted));
            }

            return deleted;
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>The scheduled backups' chain: how many incrementals follow the newest full scheduled backup.</summary>
    internal (BackupManifest? Latest, int IncrementalsSinceFull) ScheduledChain()
    {
        var scheduled = ListManifests(BackupsDirectory).Where(m => m.Manifest.Origin == "schedule" && m.Manifest.AllCollections)
            .OrderByDescending(m => m.Manifest.CreatedAt).Select(m => m.Manifest).ToList();
        var count = 0;
        foreach (var manifest in scheduled)
        {
            if (manifest.Type == "full")
            {
                break;
            }

            count++;
        }

        return (scheduled.FirstOrDefault(), count);
    }

    // ------------------------------------------------------------------ Qdrant's snapshot API

    /// <summary>A snapshot of one collection (Qdrant's <c>POST /collections/{c}/snapshots</c>).</summary>
    public async Task<BackupDescription> CreateSnapshotAsync(CallContext call, string? collection, CancellationToken cancellationToken = default)
    {
        call.Access.Demand(AccessLevel.Manage, collection);
        var targets = Targets(collection);
        return await TrackedAsync(call, "create", "snapshot", null, cancellationToken, tracked =>
        {
            var now = time.GetUtcNow();
            var stamp = now.ToString("yyyy-MM-dd-HH-mm-ss", CultureInfo.InvariantCulture) + "-" + RandomSuffix();
            var name = (collection is null ? "full-snapshot-" : targets[0].Name + "-") + stamp + ".snapshot";
            var folder = SnapshotFolder(collection is null ? null : targets[0].Name);
            var manifest = Write(Path.Combine(folder, name), Path.GetFileNameWithoutExtension(name), now, targets, collection is null, null, "snapshot", tracked);
            return Describe(Path.Combine(folder, name), manifest);
        }, created => created.Size).ConfigureAwait(false);
    }

    /// <summary>Snapshots of one collection, or the full-storage ones (<paramref name="collection"/> null), newest first.</summary>
    public IReadOnlyList<BackupDescription> ListSnapshots(CallContext call, string? collection)
    {
        call.Access.Demand(AccessLevel.Manage, collection);
        var folder = collection is null ? SnapshotsDirectory : Path.Combine(SnapshotsDirectory, Targets(collection)[0].Name);
        var list = new List<BackupDescription>();
        foreach (var path in Directory.Exists(folder) ? Directory.GetFiles(folder, "*.snapshot") : [])
        {
            try
            {
                list.Add(Describe(path, BackupArchive.ReadManifest(path)));
            }
            catch (VectorizerException e)
            {
                logger.LogWarning("Snapshot {Path} is unreadable: {Error}", path, e.Message);
            }
        }

        return [.. list.OrderByDescending(d => d.CreatedAt)];
    }

    /// <summary>The file of a snapshot, for download.</summary>
    public string SnapshotPath(CallContext call, string? collection, string name)
    {
        call.Access.Demand(AccessLevel.Manage, collection);
        var path = Path.Combine(SnapshotFolder(collection is null ? null : Targets(collection)[0].Name, create: false), SnapshotFileName(name));
        return File.Exists(path) ? path : throw new VectorizerException(ErrorCode.SnapshotNotFound, $"Snapshot {name} not found");
    }

    public async Task DeleteSnapshotAsync(CallContext call, string? collection, string name, CancellationToken cancellationToken = default)
    {
        var path = SnapshotPath(call, collection, name);
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            DeleteArchive(path);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// Qdrant's <c>PUT /collections/{c}/snapshots/recover</c>: <paramref name="location"/> is a <c>file://</c> URL inside the
    /// snapshots directory (else 403) or an <c>http(s)://</c> URL (downloaded first); the snapshot's one collection
    /// becomes <paramref name="collection"/>. <paramref name="checksum"/>, when given, must be the file's SHA-256.
    /// </summary>
    public async Task<RestoreResult> RecoverSnapshotAsync(CallContext call, string collection, string location, string? checksum, string? apiKey, CancellationToken cancellationToken = default)
    {
        call.Access.Demand(AccessLevel.Manage, collection);
        CollectionNames.Validate(collection);
        if (!Uri.TryCreate(location, UriKind.Absolute, out var uri))
        {
            throw VectorizerException.BadRequest($"location `{location}` is not a URL (file:// or http(s)://)");
        }

        string path;
        string? downloaded = null;
        if (uri.Scheme == Uri.UriSchemeFile)
        {
            path = new AllowedPaths([SnapshotsDirectory]).Confine(uri.LocalPath, "snapshot location");
            if (!File.Exists(path))
            {
                throw new VectorizerException(ErrorCode.SnapshotNotFound, $"Snapshot file {uri.LocalPath} does not exist");
            }
        }
        else if (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
        {
            downloaded = path = await DownloadAsync(uri, apiKey, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            throw VectorizerException.BadRequest($"location scheme `{uri.Scheme}` is not supported: use file:// (inside {SnapshotsDirectory}) or http(s)://");
        }

        try
        {
            return await RecoverFileAsync(call, path, collection, checksum, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (downloaded is not null)
            {
                File.Delete(downloaded);
            }
        }
    }

    /// <summary>Qdrant's <c>POST /collections/{c}/snapshots/upload</c>: the uploaded snapshot is kept in the collection's snapshot folder, then recovered.</summary>
    public async Task<RestoreResult> UploadSnapshotAsync(CallContext call, string collection, Stream content, string? fileName, string? checksum, CancellationToken cancellationToken = default)
    {
        call.Access.Demand(AccessLevel.Manage, collection);
        CollectionNames.Validate(collection);
        var folder = SnapshotFolder(collection);
        var name = fileName is { Length: > 0 } given && given.EndsWith(".snapshot", StringComparison.Ordinal) ? SnapshotFileName(Path.GetFileName(given)) : $"{collection}-uploaded-{RandomSuffix()}.snapshot";
        var path = Path.Combine(folder, name);
        var temporary = path + ".upload";
        await using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
        {
            await content.CopyToAsync(file, cancellationToken).ConfigureAwait(false);
        }

        File.Move(temporary, path, overwrite: true);
        return await RecoverFileAsync(call, path, collection, checksum, cancellationToken).ConfigureAwait(false);
    }

    private async Task<RestoreResult> RecoverFileAsync(CallContext call, string path, string collection, string? checksum, CancellationToken cancellationToken)
    {
        if (checksum is not null)
        {
            string actual;
            await using (var file = File.OpenRead(path))
            {
                actual = Convert.ToHexStringLower(await SHA256.HashDataAsync(file, cancellationToken).ConfigureAwait(false));
            }

            if (!string.Equals(actual, checksum.Trim(), StringComparison.OrdinalIgnoreCase))
            {
                throw VectorizerException.BadRequest($"Snapshot checksum mismatch: expected {checksum}, got {actual}");
            }
        }

        return await TrackedAsync(call, "restore", "snapshot", null, cancellationToken, tracked =>
        {
            var manifest = BackupArchive.ReadManifest(path);
            if (manifest.Collections.Count != 1)
            {
                throw VectorizerException.BadRequest($"Snapshot {Path.GetFileName(path)} holds {manifest.Collections.Count} collections; a collection is recovered from a snapshot of one collection");
            }

            return Restore(path, manifest.Collections[0].Name, collection, tracked);
        }).ConfigureAwait(false);
    }

    private async Task<string> DownloadAsync(Uri uri, string? apiKey, CancellationToken cancellationToken)
    {
        var folder = Path.Combine(SnapshotsDirectory, ".downloads");
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, RandomSuffix() + ".snapshot");
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(30) };
        using var message = new HttpRequestMessage(HttpMethod.Get, uri);
        if (apiKey is not null)
        {
            message.Headers.Add("api-key", apiKey);
        }

        try
        {
            using var response = await http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw VectorizerException.BadRequest($"Downloading the snapshot from {uri} failed: HTTP {(int)response.StatusCode}");
            }

            await using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
            await response.Content.CopyToAsync(file, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            File.Delete(path);
            throw VectorizerException.BadRequest($"Downloading the snapshot from {uri} failed: {e.Message}");
        }

        return path;
    }

    // ------------------------------------------------------------------ the shared machinery

    /// <summary>
    /// Runs <paramref name="run"/> alone (the gate), as the running operation (its progress readable by others), and
    /// records its outcome, duration and, for an archive written, its size (<paramref name="size"/>). A cancelled
    /// operation is not counted.
    /// </summary>
    private async Task<T> TrackedAsync<T>(
        CallContext call, string operation, string kind, BackupProgress? progress, CancellationToken cancellationToken, Func<BackupProgress, T> run, Func<T, long>? size = null)
    {
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        var started = time.GetTimestamp();
        try
        {
            var result = run(Activity.Begin(operation, kind, call.RequestId, time.GetUtcNow(), progress));
            Activity.End(operation, kind, succeeded: true, time.GetUtcNow(), time.GetElapsedTime(started).TotalSeconds, size?.Invoke(result));
            return result;
        }
        catch (OperationCanceledException)
        {
            Activity.Abandon();
            throw;
        }
        catch
        {
            Activity.End(operation, kind, succeeded: false, time.GetUtcNow(), time.GetElapsedTime(started).TotalSeconds, null);
            throw;
        }
        finally
        {
            gate.Release();
        }
    }

    private List<Collection> Targets(string? collection)
    {
        if (collection is null)
        {
            return [.. manager.List().Select(manager.TryGet).OfType<Collection>()];
        }

        return [manager.Get(collection)];
    }

    private BackupManifest Write(string path, string id, DateTimeOffset now, IReadOnlyList<Collection> collections, bool all, BackupManifest? parent, string origin, BackupProgress? progress)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(directory);
        if (File.Exists(path))
        {
            throw new VectorizerException(ErrorCode.CollectionAlreadyExists, $"`{path}` already exists");
        }

        var manifest = new BackupManifest
        {
            Id = id,
            Type = parent is null ? "full" : "incremental",
            Parent = parent?.Id,
            Chain = parent is null ? [] : [parent.Id, .. parent.Chain],
            CreatedAt = now,
            ServerVersion = ServiceApi.Version,
            Compression = settings.Compression,
            Origin = origin,
            AllCollections = all,
        };
        var members = new List<(string, SnapshotFile, BackupFile)>();
        var snapshots = new List<CollectionSnapshot>();
        try
        {
            foreach (var collection in collections)
            {
                CollectionSnapshot snapshot;
                try
                {
                    snapshot = collection.CaptureSnapshot();
                }
                catch (VectorizerException e) when (e.Code == ErrorCode.ShuttingDown && !all)
                {
                    throw VectorizerException.BadRequest($"Collection `{collection.Name}` was closed (deleted or replaced) while the backup started; try again");
                }
                catch (VectorizerException e) when (e.Code == ErrorCode.ShuttingDown)
                {
                    continue; // deleted while the backup ran: not part of "all" any more
                }

                snapshots.Add(snapshot);
                var parentFiles = parent?.Collections.FirstOrDefault(c => c.Name == collection.Name)?.Files.ToDictionary(f => f.Path, StringComparer.Ordinal);
                var entry = new BackupCollection
                {
                    Name = collection.Name,
                    Points = snapshot.Points,
                    Lsn = snapshot.Lsn,
                    ParentLsn = parent?.Collections.FirstOrDefault(c => c.Name == collection.Name)?.Lsn,
                };
                foreach (var source in snapshot.Files)
                {
                    string sha;
                    long size;
                    using (var stream = source.OpenRead())
                    {
                        (sha, size) = BackupArchive.Hash(stream);
                    }

                    var file = new BackupFile { Path = source.RelativePath, Size = size, Sha256 = sha };
                    if (parentFiles is not null && parentFiles.TryGetValue(source.RelativePath, out var before) && before.Sha256 == sha && before.Size == size)
                    {
                        file.From = before.From ?? parent!.Id;
                    }
                    else
                    {
                        members.Add((BackupArchive.Member(collection.Name, source.RelativePath), source, file));
                    }

                    if (source.RelativePath == CollectionConfigFile.FileName && source.Contents is { } config)
                    {
                        using var document = JsonDocument.Parse(config);
                        entry.Config = document.RootElement.Clone();
                    }

                    entry.Files.Add(file);
                }

                manifest.Collections.Add(entry);
            }

            var names = manifest.Collections.Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
            foreach (var alias in manager.ListAliases())
            {
                if (names.Contains(alias.CollectionName))
                {
                    manifest.Aliases[alias.AliasName] = alias.CollectionName;
                }
            }

            var total = members.Sum(m => m.Item3.Size);
            long done = 0;
            var sha256 = BackupArchive.Write(path, manifest, members, bytes =>
            {
                done += bytes;
                progress?.Invoke("backup", done, total);
            });
            File.WriteAllText(path + ".sha256", sha256 + "  " + Path.GetFileName(path) + "\n");
            return manifest;
        }
        finally
        {
            foreach (var snapshot in snapshots)
            {
                snapshot.Dispose();
            }
        }
    }

    /// <summary>Reads <paramref name="path"/> and its chain (ancestors in the same folder) through; the first is the backup itself.</summary>
    private (List<(string Path, BackupManifest Manifest)> Chain, int Files, long Bytes) VerifyChain(string path, BackupProgress? progress)
    {
        var head = BackupArchive.ReadManifest(path);
        var chain = new List<(string Path, BackupManifest Manifest)> { (path, head) };
        var folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        // By id; a file named after its id wins over a copy under another name.
        var known = new Dictionary<string, (string Path, BackupManifest Manifest)>(StringComparer.Ordinal);
        foreach (var found in ListManifests(folder).OrderByDescending(m => Path.GetFileName(m.Path).StartsWith(m.Manifest.Id + ".", StringComparison.Ordinal)))
        {
            known.TryAdd(found.Manifest.Id, found);
        }

        foreach (var ancestor in head.Chain)
        {
            if (!known.TryGetValue(ancestor, out var found))
            {
                throw VectorizerException.BadRequest($"Backup {head.Id} is incomplete: it builds on {ancestor}, which is not in {folder}. Nothing was changed");
            }

            chain.Add(found);
        }

        // Every file taken from an ancestor must be stored there, with the same checksum.
        var byId = chain.ToDictionary(c => c.Manifest.Id, c => c.Manifest, StringComparer.Ordinal);
        foreach (var collection in head.Collections)
        {
            foreach (var file in collection.Files.Where(f => f.From is not null))
            {
                var stored = byId[file.From!].Collections.FirstOrDefault(c => c.Name == collection.Name)?.Files.FirstOrDefault(f => f.Path == file.Path && f.From is null);
                if (stored is null || stored.Sha256 != file.Sha256)
                {
                    throw VectorizerException.BadRequest($"Backup {head.Id} is incomplete: {collection.Name}/{file.Path} should be in {file.From}, which does not hold it. Nothing was changed");
                }
            }
        }

        var total = chain.Sum(c => c.Manifest.Collections.Sum(x => x.Files.Where(f => f.From is null).Sum(f => f.Size)));
        long done = 0;
        var files = 0;
        foreach (var (archive, expected) in chain)
        {
            var manifest = BackupArchive.Verify(archive, bytes =>
            {
                files++;
                done += bytes;
                progress?.Invoke("verify", done, total);
            });
            if (manifest.Id != expected.Id)
            {
                throw VectorizerException.BadRequest($"Backup {archive} changed while it was verified. Nothing was changed");
            }
        }

        return (chain, files, done);
    }

    private RestoreResult Restore(string path, string? only, string? asName, BackupProgress? progress)
    {
        var started = time.GetTimestamp();
        var (chain, _, _) = VerifyChain(path, progress);
        var head = chain[0].Manifest;
        var selected = only is null ? head.Collections : head.Collections.Where(c => c.Name == only).ToList();
        if (selected.Count == 0)
        {
            throw VectorizerException.BadRequest($"Backup {head.Id} holds no collection `{only}` (it holds {string.Join(", ", head.Collections.Select(c => c.Name))})");
        }

        if (asName is not null && selected.Count != 1)
        {
            throw VectorizerException.BadRequest("`as` renames one collection: name it (`collection`)");
        }

        var targets = selected.Select(c => (Source: c, Target: asName ?? c.Name)).ToList();
        foreach (var (_, target) in targets)
        {
            CollectionNames.Validate(target);
            if (manager.FailedFor(target) is { } failed)
            {
                throw VectorizerException.CollectionFailed(failed);
            }
        }

        // Safe restore: what is about to be replaced is backed up first.
        var safety = new List<BackupDescription>();
        foreach (var (_, target) in targets)
        {
            if (manager.TryGet(target) is { } live && live.Name == target)
            {
                safety.Add(Create(new BackupRequest(target, Origin: "safety"), null));
            }
        }

        var restored = new List<RestoredCollection>();
        var total = targets.Sum(t => t.Source.Files.Sum(f => f.Size));
        long done = 0;
        foreach (var (source, target) in targets)
        {
            var staging = manager.CreateStagingFolder();
            try
            {
                // This archive's own files, then each ancestor's: every file of the collection exactly once.
                foreach (var (archive, manifest) in chain)
                {
                    var wanted = source.Files.Where(f => (f.From ?? head.Id) == manifest.Id).Select(f => f.Path).ToHashSet(StringComparer.Ordinal);
                    if (wanted.Count == 0)
                    {
                        continue;
                    }

                    BackupArchive.Extract(
                        archive,
                        (collection, file) => collection == source.Name && wanted.Contains(file) ? staging : null,
                        bytes =>
                        {
                            done += bytes;
                            progress?.Invoke("restore", done, total);
                        });
                }

                // Its aliases come back with it under its own name (a copy under another name takes none).
                var aliases = target == source.Name ? head.Aliases.Where(a => a.Value == source.Name).Select(a => a.Key).ToList() : [];
                var replaced = manager.TryGet(target) is { } existing && existing.Name == target;
                var set = manager.SwapIn(target, staging, replace: true, aliases);
                var collection = manager.Get(target);
                restored.Add(new RestoredCollection(target, source.Name, collection.GetInfo().PointsCount, source.Lsn, set, replaced));
                logger.LogInformation("Restored collection {Target} from backup {Id} ({Source}, LSN {Lsn})", target, head.Id, source.Name, source.Lsn);
            }
            catch
            {
                manager.DiscardStagingFolder(staging);
                throw;
            }
        }

        return new RestoreResult(head.Id, restored, safety, time.GetElapsedTime(started).TotalSeconds);
    }

    private static IEnumerable<(string Path, BackupManifest Manifest)> ListManifests(string folder)
    {
        if (!Directory.Exists(folder))
        {
            yield break;
        }

        foreach (var path in Directory.GetFiles(folder))
        {
            if (!(IsArchiveName(path) || path.EndsWith(".snapshot", StringComparison.Ordinal)))
            {
                continue;
            }

            BackupManifest manifest;
            try
            {
                manifest = BackupArchive.ReadManifest(path);
            }
            catch (VectorizerException)
            {
                continue; // unreadable files are not backups we can list; verify names what is wrong with one
            }

            yield return (path, manifest);
        }
    }

    /// <summary>An id in the backup directory, or (the CLI, in-process) a path to an archive.</summary>
    private string Locate(string idOrFile, bool allowFile = true)
    {
        if (idOrFile.Length == 0)
        {
            throw VectorizerException.BadRequest("backup_id must not be empty");
        }

        if (idOrFile.IndexOfAny(['/', '\\']) < 0 && idOrFile is not ("." or ".."))
        {
            foreach (var extension in (string[])[.. Extensions, ""])
            {
                var candidate = Path.Combine(BackupsDirectory, idOrFile + extension);
                if (File.Exists(candidate) && (extension.Length > 0 || IsArchiveName(candidate)))
                {
                    return candidate;
                }
            }
        }

        if (allowFile && File.Exists(idOrFile))
        {
            return Path.GetFullPath(idOrFile);
        }

        throw new VectorizerException(ErrorCode.SnapshotNotFound, $"Backup {idOrFile} not found in {BackupsDirectory}");
    }

    private string SnapshotFolder(string? collection, bool create = true)
    {
        var folder = collection is null ? SnapshotsDirectory : Path.Combine(SnapshotsDirectory, collection);
        if (create)
        {
            Directory.CreateDirectory(folder);
        }

        return folder;
    }

    private static string SnapshotFileName(string name) =>
        name.Length == 0 || name.IndexOfAny(['/', '\\', '\0']) >= 0 || name is "." or ".." || !name.EndsWith(".snapshot", StringComparison.Ordinal)
            ? throw new VectorizerException(ErrorCode.SnapshotNotFound, $"Snapshot {name} not found")
            : name;

    private static void DeleteArchive(string path)
    {
        File.Delete(path);
        File.Delete(path + ".sha256");
    }

    private static BackupDescription Describe(string path, BackupManifest manifest)
    {
        var size = new FileInfo(path).Length;
        string? sha = null;
        if (File.Exists(path + ".sha256"))
        {
            sha = File.ReadAllText(path + ".sha256").Split(' ', 2)[0].Trim();
        }

        return new BackupDescription(
            manifest.Id, Path.GetFileName(path), manifest.Type, manifest.Parent, manifest.Chain, manifest.CreatedAt, size, sha,
            [.. manifest.Collections.Select(c => c.Name)], manifest.Collections.Sum(c => c.Points), manifest.Origin, manifest.AllCollections, path);
    }

    private static string NewId(DateTimeOffset now, string type) =>
        now.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture) + "-" + type + "-" + RandomSuffix();

    private static string RandomSuffix() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));
}
