using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Vectorizer.Engine.Operations;
using Vectorizer.Engine.Points;
using Vectorizer.Server.Application;
using Vectorizer.Server.Backups;

namespace Vectorizer.Bench;

/// <summary>
/// Backup and restore of a built collection (in-process, through <see cref="BackupsService"/>): a full backup (time,
/// archive size), an incremental after <c>--changed</c> percent of the points got new vectors, a verify, and a restore of
/// the incremental's chain into a new collection (time). Every further compression of <c>--compression</c> (the first
/// is the one measured above) adds a full backup and its restore, on the same collection, for a side-by-side ratio.
/// </summary>
public static class BackupBenchmark
{
    public static string Run(string datasetName, int points, double changedPercent, IReadOnlyList<string> compressions, TextWriter log)
    {
        var dataset = Dataset.Load(datasetName, points, 1, log);
        using var index = EngineIndex.Build(dataset, 16, 100, Environment.ProcessorCount);
        log.WriteLine($"built {dataset.BaseCount} x {dataset.Dimension} in {index.BuildSeconds:F1} s");
        var directory = Path.Combine(index.Directory, "backups-out");
        var backups = new BackupsService(index.Manager, new BackupSection { Directory = directory, Compression = compressions[0] }, TimeProvider.System, NullLoggerFactory.Instance);
        var call = CallContext.Internal;

        var stopwatch = Stopwatch.StartNew();
        var full = backups.CreateAsync(call, new BackupRequest("bench")).GetAwaiter().GetResult();
        var fullSeconds = stopwatch.Elapsed.TotalSeconds;
        log.WriteLine($"full backup: {fullSeconds:F2} s, {full.Size} bytes");

        var changed = (int)(dataset.BaseCount * changedPercent / 100);
        var random = new Random(42);
        var batch = new List<PointStruct>(changed);
        for (var k = 0; k < changed; k++)
        {
            var i = random.Next(dataset.BaseCount);
            var vector = dataset.BaseRow(random.Next(dataset.BaseCount)).ToArray();
            batch.Add(new PointStruct(PointId.FromNumber((ulong)i), VectorMap.Single("", vector), null));
        }

        index.Collection.UpdateAsync(new UpsertOperation(batch), wait: true).AsTask().GetAwaiter().GetResult();
        index.Collection.WaitForIndexingAsync(TimeSpan.FromHours(1)).GetAwaiter().GetResult();
        stopwatch.Restart();
        var incremental = backups.CreateAsync(call, new BackupRequest("bench", Incremental: true)).GetAwaiter().GetResult();
        var incrementalSeconds = stopwatch.Elapsed.TotalSeconds;
        log.WriteLine($"incremental after {changed} changed points: {incrementalSeconds:F2} s, {incremental.Size} bytes");

        stopwatch.Restart();
        var verified = backups.VerifyAsync(call, incremental.Id).GetAwaiter().GetResult();
        var verifySeconds = stopwatch.Elapsed.TotalSeconds;

        stopwatch.Restart();
        var restored = backups.RestoreAsync(call, full.Id, "bench", "restored").GetAwaiter().GetResult();
        var restoreSeconds = stopwatch.Elapsed.TotalSeconds;
        stopwatch.Restart();
        backups.RestoreAsync(call, incremental.Id, "bench", "restored_chain").GetAwaiter().GetResult();
        var chainSeconds = stopwatch.Elapsed.TotalSeconds;
        log.WriteLine($"verify (chain): {verifySeconds:F2} s; restore full: {restoreSeconds:F2} s ({restored.Collections[0].Points} points); restore chain: {chainSeconds:F2} s");

        var more = new System.Text.StringBuilder();
        foreach (var compression in compressions.Skip(1))
        {
            var other = new BackupsService(index.Manager, new BackupSection { Directory = directory + "-" + compression, Compression = compression }, TimeProvider.System, NullLoggerFactory.Instance);
            stopwatch.Restart();
            var otherFull = other.CreateAsync(call, new BackupRequest("bench")).GetAwaiter().GetResult();
            var otherSeconds = stopwatch.Elapsed.TotalSeconds;
            stopwatch.Restart();
            other.RestoreAsync(call, otherFull.Id, "bench", "restored_" + compression).GetAwaiter().GetResult();
            var otherRestore = stopwatch.Elapsed.TotalSeconds;
            log.WriteLine($"{compression}: full backup {otherSeconds:F2} s, {otherFull.Size} bytes; restore {otherRestore:F2} s");
            more.Append($"| {dataset.Name} | {dataset.BaseCount} | full backup, {compression} | {otherSeconds:F1} s | {otherFull.Size / 1048576.0:F1} MiB |\n");
            more.Append($"| {dataset.Name} | {dataset.BaseCount} | restore it into a new collection, {compression} | {otherRestore:F1} s | |\n");
        }

        return $"| {dataset.Name} | {dataset.BaseCount} | full backup, {compressions[0]} | {fullSeconds:F1} s | {full.Size / 1048576.0:F1} MiB |\n" +
               $"| {dataset.Name} | {dataset.BaseCount} | incremental after {changedPercent}% of points changed ({changed}) | {incrementalSeconds:F1} s | {incremental.Size / 1048576.0:F1} MiB |\n" +
               $"| {dataset.Name} | {dataset.BaseCount} | verify the chain (full + incremental, {verified.Bytes / 1048576.0:F0} MiB of files) | {verifySeconds:F1} s | |\n" +
               $"| {dataset.Name} | {dataset.BaseCount} | restore the full backup into a new collection | {restoreSeconds:F1} s | |\n" +
               $"| {dataset.Name} | {dataset.BaseCount} | restore the chain into a new collection | {chainSeconds:F1} s | |\n" + more;
    }
}
