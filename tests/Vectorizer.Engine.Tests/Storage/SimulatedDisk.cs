using Vectorizer.Engine.Storage;

namespace Vectorizer.Engine.Tests;

/// <summary>
/// A simulated device for power-cut tests (in the spirit of FoundationDB's simulator and Garnet's simulated devices):
/// an in-memory file system that keeps, for every file, what was fsynced apart from what was only written, and for
/// every directory, which names were synced apart from which were only created, renamed or deleted.
/// <para>
/// <see cref="PowerCut"/> builds what a disk could hold after losing power: each directory keeps its synced names
/// (or, with <see cref="VolatileDirectoryChance"/>, its current ones: a journal may commit a rename nobody synced);
/// each file keeps its fsynced contents plus a random prefix of the writes made since, the last of them optionally
/// torn at a random byte. <see cref="Crash"/> is a killed process: nothing is lost (the page cache survives), but
/// nothing becomes durable either. Either way the old process's handles and views die: every call on them throws
/// <see cref="IOException"/>, as a dead device would. <see cref="Boot"/> gives the next process its view.
/// </para>
/// <para>
/// <see cref="ArmPowerCut"/> cuts the power just before the n-th mutating call (write, truncate, fsync, create,
/// rename, delete, directory sync), so a cut lands anywhere inside a checkpoint, a rotation or an atomic replace.
/// </para>
/// </summary>
public sealed class SimulatedDisk
{
    private readonly object gate = new();
    private readonly DirNode root = new();
    private int generation;
    private long armedAt = -1;
    private bool armedCrash;
    private long mutations;

    /// <summary>The probability that a directory keeps its unsynced names through a power cut.</summary>
    public double VolatileDirectoryChance { get; set; } = 0.25;

    /// <summary>Whether the last surviving unsynced write of a file may be torn.</summary>
    public bool Tear { get; set; } = true;

    /// <summary>Whether unsynced writes may reach the platter before the cut (a random prefix of them); else none do.</summary>
    public bool UnsyncedWritesMaySurvive { get; set; } = true;

    public Random Random { get; set; } = new(1);

    /// <summary>True once the current generation's power was cut (or it crashed): its views and handles are dead.</summary>
    public bool IsDown { get; private set; }

    /// <summary>Mutating calls made on the current generation.</summary>
    public long Mutations => Interlocked.Read(ref mutations);

    /// <summary>How many fsyncs and directory syncs were made in total (to tell a test that syncing happened).</summary>
    public long Syncs { get; private set; }

    /// <summary>Files created (not opened) whose name ends in <c>.wal</c>: WAL segments, so a test can tell rotations happened.</summary>
    public long WalSegmentsCreated { get; private set; }

    /// <summary>A view of the disk for a new process.</summary>
    public IStorage Boot()
    {
        lock (gate)
        {
            generation++;
            IsDown = false;
            armedAt = -1;
            mutations = 0;
            return new View(this, generation);
        }
    }

    /// <summary>Cuts the power just before the <paramref name="calls"/>-th mutating call from now.</summary>
    public void ArmPowerCut(long calls)
    {
        lock (gate)
        {
            armedAt = mutations + calls;
            armedCrash = false;
        }
    }

    /// <summary>Kills the process (see <see cref="Crash"/>) just before the <paramref name="calls"/>-th mutating call from now.</summary>
    public void ArmCrash(long calls)
    {
        lock (gate)
        {
            armedAt = mutations + calls;
            armedCrash = true;
        }
    }

    /// <summary>A killed process: its handles die; everything it wrote stays (and stays unsynced).</summary>
    public void Crash()
    {
        lock (gate)
        {
            IsDown = true;
        }
    }

    /// <summary>Loses power now: only what was made durable survives (plus what the disk happened to write).</summary>
    public void PowerCut()
    {
        lock (gate)
        {
            CutLocked();
        }
    }

    private void CutLocked()
    {
        if (IsDown)
        {
            return;
        }

        IsDown = true;
        var seen = new HashSet<Node>(ReferenceEqualityComparer.Instance);
        Settle(root, seen);
    }

    private void Settle(DirNode directory, HashSet<Node> seen)
    {
        var kept = Random.NextDouble() < VolatileDirectoryChance ? directory.Entries : directory.Durable;
        var survivors = new SortedDictionary<string, Node>(StringComparer.Ordinal);
        foreach (var (name, node) in kept)
        {
            if (!seen.Add(node))
            {
                continue; // one node under two names (a rename across directories, half kept): keep the first
            }

            survivors[name] = node;
            switch (node)
            {
                case DirNode child:
                    Settle(child, seen);
                    break;
                case FileNode file:
                    SettleFile(file);
                    break;
            }
        }

        directory.Entries = survivors;
        directory.Durable = new SortedDictionary<string, Node>(survivors, StringComparer.Ordinal);
    }

    private void SettleFile(FileNode file)
    {
        var content = new Bytes(file.Durable);
        var applied = UnsyncedWritesMaySurvive ? Random.Next(0, file.Pending.Count + 1) : 0;
        for (var i = 0; i < applied; i++)
        {
            var pending = file.Pending[i];
            if (pending.Data is { } data)
            {
                var length = data.Length;
                if (Tear && i == applied - 1 && Random.Next(2) == 0)
                {
                    length = Random.Next(0, data.Length + 1);
                }

                Apply(content, pending.Offset, data.AsSpan(0, length));
            }
            else
            {
                content.Resize((int)pending.Offset);
            }
        }

        file.Durable = content.ToArray();
        file.Data = content;
        file.Pending.Clear();
    }

    private static void Apply(Bytes content, long offset, ReadOnlySpan<byte> data)
    {
        if (offset + data.Length > content.Length)
        {
            content.Resize((int)(offset + data.Length));
        }

        data.CopyTo(content.Span[(int)offset..]);
    }

    /// <summary>A growable byte array (a file's current contents).</summary>
    private sealed class Bytes(byte[] initial)
    {
        private byte[] buffer = (byte[])initial.Clone();

        public int Length { get; private set; } = initial.Length;

        public Span<byte> Span => buffer.AsSpan(0, Length);

        public void Resize(int length)
        {
            if (length > buffer.Length)
            {
                Array.Resize(ref buffer, Math.Max(length, buffer.Length * 2));
            }

            if (length > Length)
            {
                buffer.AsSpan(Length, length - Length).Clear();
            }

            Length = length;
        }

        public byte[] ToArray() => Span.ToArray();
    }

    /// <summary>Every file's path and current contents (for tests of the simulator itself).</summary>
    public IReadOnlyDictionary<string, byte[]> Files()
    {
        lock (gate)
        {
            var files = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
            Collect(root, "", files);
            return files;
        }
    }

    private static void Collect(DirNode directory, string prefix, SortedDictionary<string, byte[]> files)
    {
        foreach (var (name, node) in directory.Entries)
        {
            var path = prefix + "/" + name;
            if (node is DirNode child)
            {
                Collect(child, path, files);
            }
            else
            {
                files[path] = ((FileNode)node).Data.ToArray();
            }
        }
    }

    // ------------------------------------------------------------------ nodes

    private abstract class Node;

    private sealed class DirNode : Node
    {
        public SortedDictionary<string, Node> Entries { get; set; } = new(StringComparer.Ordinal);

        public SortedDictionary<string, Node> Durable { get; set; } = new(StringComparer.Ordinal);
    }

    /// <summary>A write since the last fsync (<see cref="Data"/> set), or a truncation to <see cref="Offset"/> bytes.</summary>
    private readonly record struct PendingWrite(long Offset, byte[]? Data);

    private sealed class FileNode : Node
    {
        public byte[] Durable { get; set; } = [];

        public Bytes Data { get; set; } = new([]);

        public List<PendingWrite> Pending { get; } = [];
    }

    // ------------------------------------------------------------------ the view a process gets

    private static string[] Split(string path) =>
        Path.GetFullPath(path).Split('/', StringSplitOptions.RemoveEmptyEntries);

    private sealed class View(SimulatedDisk disk, int generation) : IStorage
    {
        public void CountSync() => disk.Syncs++;

        /// <summary>Takes the disk's lock after checking this view is alive; counts (and maybe cuts at) a mutation.</summary>
        private void Enter(bool mutation)
        {
            if (disk.generation != generation || disk.IsDown)
            {
                throw new IOException("Input/output error (simulated device is down)");
            }

            if (mutation)
            {
                disk.mutations++;
                if (disk.armedAt >= 0 && disk.mutations >= disk.armedAt)
                {
                    if (disk.armedCrash)
                    {
                        disk.IsDown = true;
                        throw new IOException("Input/output error (simulated process kill)");
                    }

                    disk.CutLocked();
                    throw new IOException("Input/output error (simulated power cut)");
                }
            }
        }

        private T Run<T>(bool mutation, Func<T> action)
        {
            lock (disk.gate)
            {
                Enter(mutation);
                return action();
            }
        }

        private void Run(bool mutation, Action action)
        {
            lock (disk.gate)
            {
                Enter(mutation);
                action();
            }
        }

        private DirNode? FindDirectory(string[] parts, int count)
        {
            var node = disk.root;
            for (var i = 0; i < count; i++)
            {
                if (!node.Entries.TryGetValue(parts[i], out var child) || child is not DirNode directory)
                {
                    return null;
                }

                node = directory;
            }

            return node;
        }

        private Node? Find(string path)
        {
            var parts = Split(path);
            if (parts.Length == 0)
            {
                return disk.root;
            }

            var parent = FindDirectory(parts, parts.Length - 1);
            return parent is not null && parent.Entries.TryGetValue(parts[^1], out var node) ? node : null;
        }

        private (DirNode Parent, string Name) Parent(string path)
        {
            var parts = Split(path);
            var parent = FindDirectory(parts, parts.Length - 1) ?? throw new DirectoryNotFoundException($"Could not find a part of the path '{path}'.");
            return (parent, parts[^1]);
        }

        public IStorageFile OpenFile(string path, StorageOpenMode mode) => Run(mode == StorageOpenMode.Create, () =>
        {
            var (parent, name) = Parent(path);
            if (parent.Entries.TryGetValue(name, out var existing))
            {
                var file = existing as FileNode ?? throw new UnauthorizedAccessException($"Access to the path '{path}' is denied.");
                if (mode == StorageOpenMode.Create)
                {
                    file.Data.Resize(0);
                    file.Pending.Add(new PendingWrite(0, null));
                }

                return (IStorageFile)new Handle(this, file);
            }

            if (mode == StorageOpenMode.Open)
            {
                throw new FileNotFoundException($"Could not find file '{path}'.", path);
            }

            var created = new FileNode();
            parent.Entries[name] = created;
            if (name.EndsWith(".wal", StringComparison.Ordinal))
            {
                disk.WalSegmentsCreated++;
            }

            return new Handle(this, created);
        });

        public byte[] ReadAllBytes(string path) => Run(false, () =>
            Find(path) is FileNode file ? file.Data.ToArray() : throw new FileNotFoundException($"Could not find file '{path}'.", path));

        public bool FileExists(string path) => Run(false, () => Find(path) is FileNode);

        public bool DirectoryExists(string path) => Run(false, () => Find(path) is DirNode);

        public long GetFileLength(string path) => Run(false, () =>
            Find(path) is FileNode file ? (long)file.Data.Length : throw new FileNotFoundException($"Could not find file '{path}'.", path));

        public IReadOnlyList<string> ListFiles(string directory) => Run(false, () => List(directory, files: true));

        public IReadOnlyList<string> ListDirectories(string directory) => Run(false, () => List(directory, files: false));

        private IReadOnlyList<string> List(string directory, bool files)
        {
            if (Find(directory) is not DirNode node)
            {
                return [];
            }

            var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory));
            return [.. node.Entries.Where(e => e.Value is FileNode == files).Select(e => full + "/" + e.Key)];
        }

        public void CreateDirectory(string path) => Run(true, () =>
        {
            var node = disk.root;
            foreach (var part in Split(path))
            {
                if (!node.Entries.TryGetValue(part, out var child))
                {
                    child = new DirNode();
                    node.Entries[part] = child;
                }

                node = child as DirNode ?? throw new IOException($"'{path}': a file is in the way");
            }
        });

        public void DeleteFile(string path) => Run(true, () =>
        {
            var parts = Split(path);
            var parent = FindDirectory(parts, parts.Length - 1);
            if (parent is not null && parent.Entries.TryGetValue(parts[^1], out var node) && node is FileNode)
            {
                parent.Entries.Remove(parts[^1]);
            }
        });

        public void DeleteDirectory(string path) => Run(true, () =>
        {
            var parts = Split(path);
            var parent = FindDirectory(parts, parts.Length - 1);
            if (parent is not null && parent.Entries.TryGetValue(parts[^1], out var node) && node is DirNode)
            {
                parent.Entries.Remove(parts[^1]);
            }
        });

        public void MoveFile(string source, string destination) => Run(true, () =>
        {
            var (from, fromName) = Parent(source);
            if (!from.Entries.TryGetValue(fromName, out var node) || node is not FileNode)
            {
                throw new FileNotFoundException($"Could not find file '{source}'.", source);
            }

            var (to, toName) = Parent(destination);
            if (to.Entries.TryGetValue(toName, out var existing) && existing is DirNode)
            {
                throw new IOException($"'{destination}' is a directory");
            }

            from.Entries.Remove(fromName);
            to.Entries[toName] = node;
        });

        public void MoveDirectory(string source, string destination) => Run(true, () =>
        {
            var (from, fromName) = Parent(source);
            if (!from.Entries.TryGetValue(fromName, out var node) || node is not DirNode)
            {
                throw new DirectoryNotFoundException($"Could not find a part of the path '{source}'.");
            }

            var (to, toName) = Parent(destination);
            if (to.Entries.ContainsKey(toName))
            {
                throw new IOException($"Cannot create '{destination}' because a file or directory with the same name already exists.");
            }

            from.Entries.Remove(fromName);
            to.Entries[toName] = node;
        });

        public void SyncDirectory(string path) => Run(true, () =>
        {
            var node = Find(path) as DirNode ?? throw new DirectoryNotFoundException($"Could not find a part of the path '{path}'.");
            node.Durable = new SortedDictionary<string, Node>(node.Entries, StringComparer.Ordinal);
            disk.Syncs++;
        });

        private sealed class Handle(View view, FileNode file) : IStorageFile
        {
            private bool disposed;

            public long Length => view.Run(false, () => { Alive(); return (long)file.Data.Length; });

            public void Write(ReadOnlySpan<byte> data, long offset)
            {
                var copy = data.ToArray();
                view.Run(true, () =>
                {
                    Alive();
                    Apply(file.Data, offset, copy);
                    file.Pending.Add(new PendingWrite(offset, copy));
                });
            }

            public int Read(Span<byte> buffer, long offset)
            {
                var wanted = buffer.Length;
                var bytes = view.Run(false, () =>
                {
                    Alive();
                    return offset >= file.Data.Length ? [] : file.Data.Span.Slice((int)offset, (int)Math.Min(wanted, file.Data.Length - offset)).ToArray();
                });
                bytes.CopyTo(buffer);
                return bytes.Length;
            }

            public void SetLength(long length) => view.Run(true, () =>
            {
                Alive();
                file.Data.Resize((int)length);
                file.Pending.Add(new PendingWrite(length, null));
            });

            public void Flush() => view.Run(true, () =>
            {
                Alive();
                file.Durable = file.Data.ToArray();
                file.Pending.Clear();
                view.CountSync();
            });

            private void Alive() => ObjectDisposedException.ThrowIf(disposed, this);

            public void Dispose() => disposed = true;
        }
    }
}
