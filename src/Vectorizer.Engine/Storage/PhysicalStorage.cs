using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Vectorizer.Engine.Storage;

/// <summary>The real file system: positional I/O on <see cref="SafeFileHandle"/>s (<c>pwrite</c>, <c>fsync</c>).</summary>
public sealed class PhysicalStorage : IStorage
{
    public static readonly PhysicalStorage Instance = new();

    private PhysicalStorage()
    {
    }

    public IStorageFile OpenFile(string path, StorageOpenMode mode) =>
        new PhysicalFile(File.OpenHandle(path, mode == StorageOpenMode.Create ? FileMode.Create : FileMode.Open, FileAccess.ReadWrite, FileShare.Read));

    public byte[] ReadAllBytes(string path) => File.ReadAllBytes(path);

    public bool FileExists(string path) => File.Exists(path);

    public bool DirectoryExists(string path) => Directory.Exists(path);

    public long GetFileLength(string path) => new FileInfo(path).Length;

    public IReadOnlyList<string> ListFiles(string directory) => Sorted(Directory.Exists(directory) ? Directory.GetFiles(directory) : []);

    public IReadOnlyList<string> ListDirectories(string directory) => Sorted(Directory.Exists(directory) ? Directory.GetDirectories(directory) : []);

    private static string[] Sorted(string[] paths)
    {
        Array.Sort(paths, StringComparer.Ordinal);
        return paths;
    }

    public void CreateDirectory(string path) => Directory.CreateDirectory(path);

    public void DeleteFile(string path) => File.Delete(path);

    public void DeleteDirectory(string path)
    {
        if (Directory.Exists(path))
        {
            Directory.Delete(path, recursive: true);
        }
    }

    public void MoveFile(string source, string destination) => File.Move(source, destination, overwrite: true);

    public void MoveDirectory(string source, string destination) => Directory.Move(source, destination);

    /// <summary>
    /// fsyncs a directory through <c>open(2)</c> and <c>fsync(2)</c>: .NET refuses to open a directory as a file
    /// (<see cref="UnauthorizedAccessException"/> on Unix), which made the engine's directory syncs silent no-ops.
    /// </summary>
    public void SyncDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return; // NTFS journals renames; there is no directory handle to flush.
        }

        const int OpenReadOnly = 0;
        const int LinuxCloseOnExec = 0x80000;
        var fd = Posix.Open(path, OperatingSystem.IsLinux() ? OpenReadOnly | LinuxCloseOnExec : OpenReadOnly);
        if (fd < 0)
        {
            var error = Marshal.GetLastPInvokeError();
            if (error is Posix.EACCES or Posix.EPERM)
            {
                return; // a directory above the data that this user may not read: not ours to make durable
            }

            throw error == Posix.ENOENT
                ? new DirectoryNotFoundException($"Could not find a part of the path '{path}'.")
                : new IOException($"open({path}) for a directory fsync failed: errno {error}", error);
        }

        try
        {
            if (Posix.Fsync(fd) != 0)
            {
                var error = Marshal.GetLastPInvokeError();
                if (error != Posix.EINVAL)
                {
                    // EINVAL: the file system cannot sync directories (its renames are synchronous).
                    throw new IOException($"fsync({path}) failed: errno {error}", error);
                }
            }
        }
        finally
        {
            _ = Posix.Close(fd);
        }
    }

    private sealed class PhysicalFile(SafeFileHandle handle) : IStorageFile
    {
        public long Length => RandomAccess.GetLength(handle);

        public void Write(ReadOnlySpan<byte> data, long offset) => RandomAccess.Write(handle, data, offset);

        public int Read(Span<byte> buffer, long offset) => RandomAccess.Read(handle, buffer, offset);

        public void SetLength(long length) => RandomAccess.SetLength(handle, length);

        public void Flush() => RandomAccess.FlushToDisk(handle);

        public void Dispose() => handle.Dispose();
    }
}

internal static partial class Posix
{
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int EACCES = 13;
    public const int EINVAL = 22;

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    public static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);
}
