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
    /// parent is synced after it is created (a directory's name lives in its parent).
    /// </summary>
    public static void CreateDirectoryDurable(IStorage storage, string path)
    {
        path = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        if (storage.DirectoryExists(path))
        {
            return;
        }

        var parent = Path.GetDirectoryName(path);
        if (parent is not null)
        {
            CreateDirectoryDurable(storage, parent);
        }

        storage.CreateDirectory(path);
        if (parent is not null)
        {
            storage.SyncDirectory(parent);
        }
    }
}
