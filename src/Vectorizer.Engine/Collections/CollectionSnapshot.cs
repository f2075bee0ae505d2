namespace Vectorizer.Engine.Collections;

/// <summary>
/// One file of a <see cref="CollectionSnapshot"/>: its path relative to the collection's folder, and either the file
/// on disk that holds it (immutable while the snapshot is held) or its contents, read when the snapshot was taken.
/// </summary>
public sealed record SnapshotFile(string RelativePath, string? SourcePath, byte[]? Contents)
{
    /// <summary>Opens the file's contents for reading.</summary>
    public Stream OpenRead() => Contents is { } bytes
        ? new MemoryStream(bytes, writable: false)
        : new FileStream(SourcePath!, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16, FileOptions.SequentialScan);

    public long Length => Contents?.LongLength ?? new FileInfo(SourcePath!).Length;
}

/// <summary>
/// A consistent point-in-time copy of one collection (<see cref="Collection.CaptureSnapshot"/>): its config, the
/// checkpoint at <see cref="Lsn"/> and the vector chunks it uses, and the ingestion layer's files. A folder holding
/// exactly these files (at their relative paths) opens as the collection at <see cref="Lsn"/>. Holds the collection's
/// maintenance gate until disposed: copy the files, then dispose.
/// </summary>
public sealed class CollectionSnapshot : IDisposable
{
    private SemaphoreSlim? gate;

    internal CollectionSnapshot(string name, long lsn, long points, IReadOnlyList<SnapshotFile> files, SemaphoreSlim gate)
    {
        Name = name;
        Lsn = lsn;
        Points = points;
        Files = files;
        this.gate = gate;
    }

    public string Name { get; }

    /// <summary>The LSN of the last operation the snapshot holds.</summary>
    public long Lsn { get; }

    /// <summary>Live points at that LSN.</summary>
    public long Points { get; }

    public IReadOnlyList<SnapshotFile> Files { get; }

    public void Dispose() => Interlocked.Exchange(ref gate, null)?.Release();
}
