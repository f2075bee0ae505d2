namespace Vectorizer.Engine.Storage;

/// <summary>
/// Durable file helpers over an <see cref="IStorage"/>: atomic replace (write temp, fsync, rename, fsync directory),
/// whole-file writes, and directories whose names survive a power cut. The overloads without a storage use the real
/// file system.
/// </summary>
public static class FileUtil
{
    /// <summary>Writes <paramref name="contents"/> to <paramref name="path"/> so a crash leaves the old or the new file, never a mix.</summary>
    public static void WriteAtomic(string path, ReadOnlySpan<byte> contents) => WriteAtomic(PhysicalStorage.Instance, path, contents);

    /// <summary>
    /// Writes <paramref name="contents"/> to <paramref name="path"/> so a crash leaves the old or the new file, never a
    /// mix, and the new one once this returns (its directory is synced after the rename).
    /// </summary>
    public static void WriteAtomic(IStorage storage, string path, ReadOnlySpan<byte> contents)
    {
        var temp = path + ".tmp";
        WriteDurable(storage, temp, contents);
        storage.MoveFile(temp, path);
        storage.SyncDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
    }

    /// <summary>Writes a whole file and fsyncs it (no rename).</summary>
    public static void WriteDurable(string path, ReadOnlySpan<byte> contents) => WriteDurable(PhysicalStorage.Instance, path, contents);

    /// <summary>Writes a whole file and fsyncs it (no rename; its name is durable once its directory is synced).</summary>
    public static void WriteDurable(IStorage storage, string path, ReadOnlySpan<byte> contents)
    {
        using var file = storage.OpenFile(path, StorageOpenMode.Create);
        file.Write(contents, 0);
        file.Flush();
    }

    /// <summary>fsyncs a directory so renames and creations inside it survive a crash.</summary>
    public static void SyncDirectory(string directory) => PhysicalStorage.Instance.SyncDirectory(directory);

    /// <summary>
    /// Creates <paramref name="path"/> and its missing parents so that they survive a power cut: each new directory's
    /// parent is synced after it is created (a directory's name lives in its parent). When <paramref name="path"/>
    /// already exists its parent is synced anyway: a process killed between creating it and syncing leaves a name that
    /// is only in the page cache, and whoever builds on it must make it durable first.
    /// </summary>
    public static void CreateDirectoryDurable(IStorage storage, string path)
    {
        path = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        var parent = Path.GetDirectoryName(path);
        if (!storage.DirectoryExists(path))
        {
            if (parent is not null)
            {
                CreateDirectoryDurable(storage, parent);
            }

            storage.CreateDirectory(path);
        }

        if (parent is not null)
        {
            storage.SyncDirectory(parent);
        }
    }

    /// <summary>
    /// <see cref="CreateDirectoryDurable"/> for every level of <paramref name="relative"/> below <paramref name="root"/>
    /// (<c>vectors/g3/v-61</c>: each of the three names is made durable in its parent, whoever created it).
    /// </summary>
    public static void CreateDirectoriesDurable(IStorage storage, string root, string relative)
    {
        var path = root;
        foreach (var part in relative.Split('/', '\\', StringSplitOptions.RemoveEmptyEntries))
        {
            path = Path.Combine(path, part);
            CreateDirectoryDurable(storage, path);
        }
    }
}
