using Vectorizer.Engine.Errors;

namespace Vectorizer.Engine.Storage;

/// <summary>
/// One process at a time per data directory: <c>data_dir/.lock</c> opened with <see cref="FileShare.None"/>
/// (an exclusive <c>flock</c> on Unix, a sharing lock on Windows) for as long as the engine is open. The
/// operating system drops it when the process exits, even after <c>kill -9</c>, so a stale file never blocks.
/// Taken by the server and by in-process CLI commands, not by <c>CollectionManager</c> itself, so tests can
/// reopen a directory after simulating a crash.
/// </summary>
public sealed class DataDirectoryLock : IDisposable
{
    public const string FileName = ".lock";

    private readonly FileStream stream;

    private DataDirectoryLock(FileStream stream)
    {
        this.stream = stream;
    }

    /// <summary>Takes the lock of <paramref name="dataDirectory"/> (created when missing), or throws <see cref="ErrorCode.DataDirectoryInUse"/>.</summary>
    public static DataDirectoryLock Acquire(string dataDirectory)
    {
        var directory = Path.GetFullPath(dataDirectory);
        Directory.CreateDirectory(directory);
        try
        {
            return new DataDirectoryLock(new FileStream(Path.Combine(directory, FileName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
        }
        catch (IOException e)
        {
            throw new VectorizerException(
                ErrorCode.DataDirectoryInUse,
                $"data directory {directory} is in use by another Vectorizer process (a running `vectorizer serve`?): stop it first, or use its HTTP API ({e.Message})",
                e);
        }
    }

    public void Dispose() => stream.Dispose();
}
