namespace Vectorizer.Engine.Storage;

/// <summary>
/// The file I/O that durability depends on: the WAL, checkpoints and the atomically replaced files
/// (<c>collection.json</c>, <c>aliases.json</c>). <see cref="PhysicalStorage"/> is the real file system. Tests swap in
/// a simulated device that keeps what was not fsynced in a volatile layer and drops it on a simulated power cut, so a
/// missing <see cref="IStorageFile.Flush"/> or <see cref="SyncDirectory"/> shows up as lost data in a test instead of in
/// production (the page cache survives a killed process, so <c>kill -9</c> tests cannot find one).
/// <para>
/// The contract is POSIX's: file contents and length are durable after <see cref="IStorageFile.Flush"/>; a created,
/// renamed or deleted name is durable only after <see cref="SyncDirectory"/> of the directory holding it (a new
/// directory's own name lives in its parent). Memory-mapped scratch files (<c>on_disk</c> vectors and payloads) are
/// not durable state and do not go through here.
/// </para>
/// </summary>
public interface IStorage
{
    /// <summary>Opens a file for reading and writing.</summary>
    IStorageFile OpenFile(string path, StorageOpenMode mode);

    byte[] ReadAllBytes(string path);

    bool FileExists(string path);

    bool DirectoryExists(string path);

    long GetFileLength(string path);

    /// <summary>The files directly in <paramref name="directory"/> (full paths, ordinal order); empty when it does not exist.</summary>
    IReadOnlyList<string> ListFiles(string directory);

    /// <summary>The directories directly in <paramref name="directory"/> (full paths, ordinal order); empty when it does not exist.</summary>
    IReadOnlyList<string> ListDirectories(string directory);

    /// <summary>Creates a directory and its missing parents (each name durable only once its parent is synced).</summary>
    void CreateDirectory(string path);

    /// <summary>Deletes a file; no error when it does not exist.</summary>
    void DeleteFile(string path);

    /// <summary>Deletes a directory and everything below it; no error when it does not exist.</summary>
    void DeleteDirectory(string path);

    /// <summary>Renames a file atomically, replacing <paramref name="destination"/> when it exists.</summary>
    void MoveFile(string source, string destination);

    /// <summary>Renames a directory atomically; <paramref name="destination"/> must not exist.</summary>
    void MoveDirectory(string source, string destination);

    /// <summary>fsyncs a directory: the names created, renamed or deleted in it become durable.</summary>
    void SyncDirectory(string path);
}

public enum StorageOpenMode
{
    /// <summary>Creates the file, or truncates it when it exists.</summary>
    Create,

    /// <summary>Opens an existing file (an error when it does not exist).</summary>
    Open,
}

/// <summary>An open file: positional reads and writes, and an fsync.</summary>
public interface IStorageFile : IDisposable
{
    long Length { get; }

    void Write(ReadOnlySpan<byte> data, long offset);

    int Read(Span<byte> buffer, long offset);

    void SetLength(long length);

    /// <summary>fsync: the contents and length written so far are on stable storage when this returns.</summary>
    void Flush();
}
