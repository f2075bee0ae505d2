using Cronos;
using Microsoft.Extensions.Configuration;
using Vectorizer.Server.Configuration;

namespace Vectorizer.Server.Backups;

/// <summary>
/// The <c>backup:</c> section: where backups and Qdrant snapshots are kept, how they are compressed, and the schedule.
/// Relative directories are relative to the working directory, like <c>server.data_dir</c>; empty ones are
/// <c>data_dir/backups</c> and <c>data_dir/snapshots</c>.
/// </summary>
public sealed class BackupSection
{
    /// <summary>Backups (<c>vectorizer backup</c>, <c>/api/backups</c>, the schedule). Put it on another disk.</summary>
    public string Directory { get; set; } = "";

    /// <summary>Qdrant's snapshot API; a <c>file://</c> recover location must lie inside it.</summary>
    [ConfigurationKeyName("snapshots_directory")]
    public string SnapshotsDirectory { get; set; } = "";

    /// <summary><c>gzip</c> (the default: any tar reads it), <c>zstd</c> (for speed; see the README) or <c>none</c>. Readers take any of them.</summary>
    public string Compression { get; set; } = "gzip";

    /// <summary>Scheduled backups of every collection.</summary>
    public bool Enabled { get; set; }

    /// <summary>A cron expression (five fields, or six with seconds), UTC.</summary>
    public string Schedule { get; set; } = "0 3 * * *";

    /// <summary>Scheduled backups are incremental, with a full one every <see cref="FullEvery"/>.</summary>
    public bool Incremental { get; set; }

    /// <summary>With <see cref="Incremental"/>: a full backup after this many incrementals.</summary>
    [ConfigurationKeyName("full_every")]
    public int FullEvery { get; set; } = 6;

    /// <summary>Scheduled backups older than this are deleted (0: no age limit).</summary>
    [ConfigurationKeyName("retention_days")]
    public int RetentionDays { get; set; } = 30;

    /// <summary>At most this many scheduled backups are kept (0: no count limit).</summary>
    [ConfigurationKeyName("retention_count")]
    public int RetentionCount { get; set; }

    public string BackupsPath(string dataDir) => Path.GetFullPath(Directory.Length == 0 ? Path.Combine(dataDir, "backups") : Directory);

    public string SnapshotsPath(string dataDir) => Path.GetFullPath(SnapshotsDirectory.Length == 0 ? Path.Combine(dataDir, "snapshots") : SnapshotsDirectory);

    /// <summary>The schedule, parsed (five fields, or six with seconds).</summary>
    public CronExpression ParseSchedule() =>
        CronExpression.Parse(Schedule, Schedule.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries).Length == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard);
}

public sealed class BackupValidator : SectionValidator<BackupSection>
{
    public override IEnumerable<(string Key, string Message)> Check(BackupSection s)
    {
        if (s.Compression is not ("gzip" or "zstd" or "none"))
        {
            yield return ("compression", $"expected `gzip`, `zstd` or `none`, got `{s.Compression}`");
        }

        string? cron = null;
        try
        {
            s.ParseSchedule();
        }
        catch (CronFormatException e)
        {
            cron = e.Message;
        }

        if (cron is not null)
        {
            yield return ("schedule", $"not a cron expression (`minute hour day month weekday`, UTC): {cron}");
        }

        if (s.FullEvery < 1)
        {
            yield return ("full_every", "must be 1 or more");
        }

        if (s.RetentionDays < 0)
        {
            yield return ("retention_days", "must be 0 (no limit) or more");
        }

        if (s.RetentionCount < 0)
        {
            yield return ("retention_count", "must be 0 (no limit) or more");
        }
    }
}
