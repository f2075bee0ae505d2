using Vectorizer.Engine.Storage;

namespace Vectorizer.Engine.Tests;

/// <summary>An <see cref="IStorage"/> that forwards to another; tests override what they want to break.</summary>
public class DelegatingStorage(IStorage inner) : IStorage
{
    public virtual IStorageFile OpenFile(string path, StorageOpenMode mode) => inner.OpenFile(path, mode);

    public virtual byte[] ReadAllBytes(string path) => inner.ReadAllBytes(path);

    public virtual bool FileExists(string path) => inner.FileExists(path);

    public virtual bool DirectoryExists(string path) => inner.DirectoryExists(path);

    public virtual long GetFileLength(string path) => inner.GetFileLength(path);

    public virtual IReadOnlyList<string> ListFiles(string directory) => inner.ListFiles(directory);

    public virtual IReadOnlyList<string> ListDirectories(string directory) => inner.ListDirectories(directory);

    public virtual void CreateDirectory(string path) => inner.CreateDirectory(path);

    public virtual void DeleteFile(string path) => inner.DeleteFile(path);

    public virtual void DeleteDirectory(string path) => inner.DeleteDirectory(path);

    public virtual void MoveFile(string source, string destination) => inner.MoveFile(source, destination);

    public virtual void MoveDirectory(string source, string destination) => inner.MoveDirectory(source, destination);

    public virtual void SyncDirectory(string path) => inner.SyncDirectory(path);
}
