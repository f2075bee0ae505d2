using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Operations;
using Vectorizer.Engine.Points;
using Vectorizer.Engine.Vectors;
using Vectorizer.Server.Application;
using Vectorizer.Server.Backups;
using Vectorizer.Server.Configuration;

namespace Vectorizer.Server.Tests;

/// <summary>The backup schedule on a fake clock: cron occurrences make backups, full every N, retention by count and age, chains kept.</summary>
public sealed class BackupScheduleTests : IDisposable
{
    private readonly string dataDir = TestServer.NewDataDir();
    private readonly CollectionManager manager;
    private readonly FakeTimeProvider clock = new(new DateTimeOffset(2026, 1, 1, 0, 0, 30, TimeSpan.Zero));

    public BackupScheduleTests()
    {
        manager = CollectionManager.Open(new EngineOptions { DataDir = dataDir }, NullLoggerFactory.Instance);
        manager.Create("s", new CollectionConfig { Vectors = new Dictionary<string, VectorParams> { [""] = new() { Size = 2, Distance = Distance.Dot } } });
    }

    public void Dispose()
    {
        manager.Dispose();
        TestServer.TryDelete(dataDir);
    }

    private async Task<(BackupsService Backups, BackupScheduler Scheduler)> Start(BackupSection section)
    {
        var settings = new VectorizerSettings { Backup = section };
        Assert.Empty(ConfigLoader.Validate(settings));
        var backups = new BackupsService(manager, section, clock, NullLoggerFactory.Instance);
        var scheduler = new BackupScheduler(backups, settings, clock, NullLogger<BackupScheduler>.Instance);
        await scheduler.StartAsync(CancellationToken.None);
        return (backups, scheduler);
    }

    /// <summary>Moves the clock to the next occurrence and waits for that run to finish.</summary>
    private async Task Tick(BackupScheduler scheduler, TimeSpan step, int point)
    {
        await manager.Get("s").UpdateAsync(new UpsertOperation([new PointStruct(PointId.FromNumber((ulong)point), VectorMap.Single("", [point, 1f]), null)]), wait: true);
        var runs = scheduler.Status().Runs;
        for (var waited = 0; scheduler.Status().NextRun is null && waited < 500; waited++)
        {
            await Task.Delay(10);
        }

        clock.Advance(step);
        for (var waited = 0; scheduler.Status().Runs == runs; waited++)
        {
            Assert.True(waited < 1000, "the scheduled backup did not run");
            await Task.Delay(10);
        }
    }

    [Fact]
    public async Task EveryMinuteIncrementalsWithAFullEveryThirdAndRetentionKeepsChains()
    {
        var (backups, scheduler) = await Start(new BackupSection { Enabled = true, Schedule = "* * * * *", Incremental = true, FullEvery = 2, RetentionCount = 2, RetentionDays = 0 });
        for (var i = 1; i <= 6; i++)
        {
            await Tick(scheduler, TimeSpan.FromMinutes(1), i);
        }

        await scheduler.StopAsync(CancellationToken.None);
        var status = scheduler.Status();
        Assert.Null(status.LastError);
        Assert.Equal(6, status.Runs);
        Assert.NotNull(status.LastSuccess);

        // Made: full, incr, incr, full, incr, incr. The newest two are kept, with the full one they build on.
        var kept = backups.List(CallContext.Internal);
        Assert.Equal(["incremental", "incremental", "full"], kept.Select(b => b.Type).ToArray());
        Assert.Equal(status.LastBackupId, kept[0].Id);
        Assert.Equal([kept[1].Id, kept[2].Id], kept[0].Chain.ToArray());

        // And the newest restores the state at its time.
        manager.Delete("s");
        await backups.RestoreAsync(CallContext.Internal, kept[0].Id);
        Assert.Equal(6, manager.Get("s").Count(null));
    }

    [Fact]
    public async Task DailyBackupsOlderThanRetentionDaysAreDeleted()
    {
        var (backups, scheduler) = await Start(new BackupSection { Enabled = true, Schedule = "0 0 * * *", RetentionDays = 2 });
        for (var day = 1; day <= 5; day++)
        {
            await Tick(scheduler, TimeSpan.FromDays(1), day);
        }

        await scheduler.StopAsync(CancellationToken.None);
        var kept = backups.List(CallContext.Internal);
        Assert.Equal(3, kept.Count);
        Assert.All(kept, b => Assert.Equal("full", b.Type));
        Assert.All(kept, b => Assert.True(clock.GetUtcNow() - b.CreatedAt <= TimeSpan.FromDays(2)));
    }

    [Fact]
    public void BadScheduleSettingsAreRefusedAtStartup()
    {
        var settings = new VectorizerSettings { Backup = new BackupSection { Schedule = "every day", Compression = "zip", FullEvery = 0 } };
        var problems = ConfigLoader.Validate(settings).Select(p => p.Key).ToList();
        Assert.Contains("backup.schedule", problems);
        Assert.Contains("backup.compression", problems);
        Assert.Contains("backup.full_every", problems);
    }
}
