using Vectorizer.Engine.Storage;

namespace Vectorizer.Engine.Tests;

public class PhysicalStorageTests
{
    [Fact]
    public void DirectorySyncReachesTheKernel()
    {
        // .NET will not open a directory as a file: the old FileUtil.SyncDirectory caught that (and any IOException)
        // and never synced anything. A missing directory now fails like any failed syscall would.
        using var dir = new TempDirectory();
        PhysicalStorage.Instance.SyncDirectory(dir.Path);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Throws<DirectoryNotFoundException>(() => PhysicalStorage.Instance.SyncDirectory(Path.Combine(dir.Path, "missing")));
        }
    }

    [Fact]
    public void AtomicWriteReplacesTheFileAndLeavesNoTemporary()
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "a.json");
        FileUtil.WriteAtomic(PhysicalStorage.Instance, path, "{\"v\":1}"u8);
        FileUtil.WriteAtomic(PhysicalStorage.Instance, path, "{\"v\":2}"u8);
        Assert.Equal("{\"v\":2}", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void DurableDirectoriesAreCreatedWithTheirParents()
    {
        using var dir = new TempDirectory();
        var deep = Path.Combine(dir.Path, "a", "b", "c");
        FileUtil.CreateDirectoryDurable(PhysicalStorage.Instance, deep);
        Assert.True(Directory.Exists(deep));
        FileUtil.CreateDirectoryDurable(PhysicalStorage.Instance, deep);
    }

    [Fact]
    public void PositionalFilesReadWriteTruncateAndList()
    {
        using var dir = new TempDirectory();
        var storage = PhysicalStorage.Instance;
        var path = Path.Combine(dir.Path, "f.bin");
        using (var file = storage.OpenFile(path, StorageOpenMode.Create))
        {
            file.Write([1, 2, 3, 4], 0);
            file.Write([9], 10);
            Assert.Equal(11, file.Length);
            file.SetLength(3);
            file.Flush();
            var buffer = new byte[8];
            Assert.Equal(3, file.Read(buffer, 0));
            Assert.Equal(new byte[] { 1, 2, 3 }, buffer[..3]);
        }

        Assert.Equal([path], storage.ListFiles(dir.Path));
        Assert.Empty(storage.ListFiles(Path.Combine(dir.Path, "none")));
        storage.MoveFile(path, path + ".2");
        Assert.False(storage.FileExists(path));
        Assert.Equal(3, storage.GetFileLength(path + ".2"));
    }
}
