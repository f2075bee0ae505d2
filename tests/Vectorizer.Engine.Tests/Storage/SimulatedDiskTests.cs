using Vectorizer.Engine.Storage;

namespace Vectorizer.Engine.Tests;

/// <summary>The simulated device keeps exactly what POSIX promises through a power cut, and no more.</summary>
public class SimulatedDiskTests
{
    private static SimulatedDisk Strict() => new() { VolatileDirectoryChance = 0, UnsyncedWritesMaySurvive = false, Tear = false };

    private static void WriteFile(IStorage storage, string path, byte[] data, bool fsync)
    {
        using var file = storage.OpenFile(path, StorageOpenMode.Create);
        file.Write(data, 0);
        if (fsync)
        {
            file.Flush();
        }
    }

    [Fact]
    public void OnlyFsyncedContentsAndSyncedNamesSurvive()
    {
        var disk = Strict();
        var storage = disk.Boot();
        FileUtil.CreateDirectoryDurable(storage, "/data/d");
        WriteFile(storage, "/data/d/synced", [1, 2, 3], fsync: true);
        WriteFile(storage, "/data/d/unsynced", [4, 5], fsync: false);
        storage.SyncDirectory("/data/d");
        WriteFile(storage, "/data/d/unnamed", [6], fsync: true); // fsynced, but its name was never synced
        using (var file = storage.OpenFile("/data/d/synced", StorageOpenMode.Open))
        {
            file.Write([9, 9, 9, 9], 1); // not fsynced
        }

        disk.PowerCut();
        Assert.Throws<IOException>(() => storage.FileExists("/data/d/synced"));
        var after = disk.Boot();
        Assert.Equal(new byte[] { 1, 2, 3 }, after.ReadAllBytes("/data/d/synced"));
        Assert.Empty(after.ReadAllBytes("/data/d/unsynced"));
        Assert.False(after.FileExists("/data/d/unnamed"));
    }

    [Fact]
    public void AnAtomicReplaceIsOldOrNewAndNewOnceItReturns()
    {
        var disk = Strict();
        var storage = disk.Boot();
        FileUtil.CreateDirectoryDurable(storage, "/data");
        FileUtil.WriteAtomic(storage, "/data/a.json", "old"u8);
        var callsForOneReplace = disk.Mutations;
        FileUtil.WriteAtomic(storage, "/data/a.json", "new"u8);
        callsForOneReplace = disk.Mutations - callsForOneReplace;
        for (var cut = 1; cut <= callsForOneReplace; cut++)
        {
            disk.ArmPowerCut(cut);
            Assert.Throws<IOException>(() => FileUtil.WriteAtomic(storage, "/data/a.json", "newer"u8));
            storage = disk.Boot();
            Assert.Equal("new", System.Text.Encoding.UTF8.GetString(storage.ReadAllBytes("/data/a.json")));
        }

        FileUtil.WriteAtomic(storage, "/data/a.json", "newest"u8);
        disk.PowerCut();
        Assert.Equal("newest", System.Text.Encoding.UTF8.GetString(disk.Boot().ReadAllBytes("/data/a.json")));
    }

    [Fact]
    public void AnUnsyncedDirectoryLosesEverythingInIt()
    {
        var disk = Strict();
        var storage = disk.Boot();
        storage.CreateDirectory("/data/new");
        WriteFile(storage, "/data/new/f", [1], fsync: true);
        storage.SyncDirectory("/data/new"); // the file's name is durable in /data/new, but /data/new is not in /data
        disk.PowerCut();
        Assert.False(disk.Boot().DirectoryExists("/data/new"));
    }

    [Fact]
    public void AKilledProcessLosesNothingButSyncsNothing()
    {
        var disk = Strict();
        var storage = disk.Boot();
        FileUtil.CreateDirectoryDurable(storage, "/data");
        WriteFile(storage, "/data/f", [1, 2], fsync: false);
        disk.Crash();
        var next = disk.Boot();
        Assert.Equal(new byte[] { 1, 2 }, next.ReadAllBytes("/data/f"));
        disk.PowerCut();
        Assert.False(disk.Boot().FileExists("/data/f"));
    }

    [Fact]
    public void ACutMayKeepATornPrefixOfUnsyncedWritesButNeverMore()
    {
        for (var seed = 0; seed < 200; seed++)
        {
            var disk = new SimulatedDisk { Random = new Random(seed), VolatileDirectoryChance = 0 };
            var storage = disk.Boot();
            FileUtil.CreateDirectoryDurable(storage, "/data");
            using (var file = storage.OpenFile("/data/f", StorageOpenMode.Create))
            {
                file.Write([1, 1], 0);
                file.Flush();
                file.Write([2, 2, 2], 2);
                file.Write([3, 3, 3], 5);
            }

            storage.SyncDirectory("/data");
            disk.PowerCut();
            var bytes = disk.Boot().ReadAllBytes("/data/f");
            byte[] full = [1, 1, 2, 2, 2, 3, 3, 3];
            Assert.True(bytes.Length >= 2 && bytes.AsSpan().SequenceEqual(full.AsSpan(0, bytes.Length)), string.Join(",", bytes));
        }
    }
}
