using System.Text.Json.Serialization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Vectorizer.Server.Application;
using Vectorizer.Server.Configuration;

namespace Vectorizer.Server.Backups;

/// <summary>The schedule's last outcome, for <c>/api/status</c>.</summary>
public sealed record BackupScheduleStatus(
    [property: JsonPropertyName("schedule_enabled")] bool Enabled,
    [property: JsonPropertyName("schedule")] string Schedule,
    [property: JsonPropertyName("next_run")] DateTimeOffset? NextRun,
    [property: JsonPropertyName("last_success")] DateTimeOffset? LastSuccess,
    [property: JsonPropertyName("last_backup_id")] string? LastBackupId,
    [property: JsonPropertyName("last_failure")] DateTimeOffset? LastFailure,
    [property: JsonPropertyName("last_error")] string? LastError,
    [property: JsonPropertyName("runs")] int Runs);

/// <summary>
/// Scheduled backups (<c>backup.enabled</c>): at each occurrence of <c>backup.schedule</c> (UTC, Cronos) a backup of all
/// collections — incremental on the previous scheduled one when <c>backup.incremental</c>, with a full one after every
/// <c>full_every</c> incrementals — then retention (<see cref="BackupsService.ApplyRetentionAsync"/>). Time comes from a
/// <see cref="TimeProvider"/>, so tests drive the schedule with a fake clock.
/// </summary>
public sealed class BackupScheduler(BackupsService backups, VectorizerSettings settings, TimeProvider time, ILogger<BackupScheduler> logger) : BackgroundService
{
    private readonly BackupSection section = settings.Backup;
    private readonly object sync = new();
    private DateTimeOffset? nextRun;
    private DateTimeOffset? lastSuccess;
    private DateTimeOffset? lastFailure;
    private string? lastBackupId;
    private string? lastError;
    private int runs;

    public BackupScheduleStatus Status()
    {
        lock (sync)
        {
            return new BackupScheduleStatus(section.Enabled, section.Schedule, nextRun, lastSuccess, lastBackupId, lastFailure, lastError, runs);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!section.Enabled)
        {
            return;
        }

        var cron = section.ParseSchedule();
        while (!stoppingToken.IsCancellationRequested)
        {
            var now = time.GetUtcNow();
            var next = cron.GetNextOccurrence(now, TimeZoneInfo.Utc);
            if (next is not { } due)
            {
                logger.LogWarning("The backup schedule `{Schedule}` has no next occurrence; scheduled backups stop", section.Schedule);
                return;
            }

            lock (sync)
            {
                nextRun = due;
            }

            try
            {
                await Task.Delay(due - now, time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            await RunOnceAsync(stoppingToken).ConfigureAwait(false);
        }
    }

    /// <summary>One scheduled backup and retention; failures are logged and reported, never thrown.</summary>
    public async Task RunOnceAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            var (latest, incrementals) = backups.ScheduledChain();
            var incremental = section.Incremental && latest is not null && incrementals < section.FullEvery;
            var created = await backups.CreateAsync(CallContext.Internal, new BackupRequest(null, incremental, Origin: "schedule"), cancellationToken: cancellationToken).ConfigureAwait(false);
            var deleted = await backups.ApplyRetentionAsync(cancellationToken).ConfigureAwait(false);
            lock (sync)
            {
                lastSuccess = time.GetUtcNow();
                lastBackupId = created.Id;
                runs++;
            }

            logger.LogInformation("Scheduled backup {Id} ({Type}, {Bytes} bytes); retention deleted {Deleted}", created.Id, created.Type, created.Size, deleted.Count);
        }
        catch (Exception e) when (e is not OutOfMemoryException && !(e is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            lock (sync)
            {
                lastFailure = time.GetUtcNow();
                lastError = e.Message;
                runs++;
            }

            logger.LogError(e, "Scheduled backup failed");
        }
    }
}
