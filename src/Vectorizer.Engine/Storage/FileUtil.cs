using Microsoft.Win32.SafeHandles;

namespace Vectorizer.Engine.Storage;

/// <summary>Durable file helpers: atomic replace (write temp, fsync, rename, fsync directory).</summary>
public static class FileUtil
{
    /// <summary>Writes <paramref name="contents"/> to <paramref name="path"/> so a crash leaves the old or the new file, never a mix.</summary>
    public static void WriteAtomic(string path, ReadOnlySpan<byte> contents)
    {
        var temp = path + ".tmp";
        using (var handle = File.OpenHandle(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            RandomAccess.Write(handle, contents, 0);
            RandomAccess.FlushToDisk(handle);
        }

        File.Move(temp, path, overwrite: true);
        SyncDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
    }

    /// <summary>Writes a whole file and fsyncs it (no rename).</summary>
    public static void WriteDurable(string path, ReadOnlySpan<byte> contents)
    {
        using var handle = File.OpenHandle(path, FileMode.Create, FileAccess.Write, FileShare.None);
        RandomAccess.Write(handle, contents, 0);
        RandomAccess.FlushToDisk(handle);
    }

    /// <summary>fsyncs a directory so renames and creations inside it survive a crash (no-op where unsupported).</summary>
    public static void SyncDirectory(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        try
        {
            using SafeFileHandle handle = File.OpenHandle(directory, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            RandomAccess.FlushToDisk(handle);
        }
        catch (UnauthorizedAccessException)
        {
            // Some file systems refuse to open directories; the rename is still atomic there.
        }
        catch (IOException)
        {
        }
    }
}
