using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Vectorizer.Engine.Collections;

namespace Vectorizer.Bench;

/// <summary>How long a collection takes to open after a graceful stop (checkpoint) and after a crash (WAL replay).</summary>
public static class RestartBenchmark
{
    public static string Run(string datasetName, int points, TextWriter log)
    {
        var dataset = Dataset.Load(datasetName, points, 1, log);
        var directory = Path.Combine(Path.GetTempPath(), "vectorizer-bench", Guid.NewGuid().ToString("N"));
        try
        {
            var index = EngineIndex.Build(dataset, 16, 100, Environment.ProcessorCount, directory: directory);
            log.WriteLine($"built {dataset.BaseCount} x {dataset.Dimension} in {index.BuildSeconds:F1} s");
            index.Manager.Dispose(); // graceful: checkpoint with the graph

            var stopwatch = Stopwatch.StartNew();
            using (var reopened = CollectionManager.Open(EngineIndex.Options(directory, 2), NullLoggerFactory.Instance))
            {
                var opened = stopwatch.Elapsed.TotalSeconds;
                var info = reopened.Get("bench").GetInfo();
                log.WriteLine($"open after checkpoint: {opened:F2} s ({info.PointsCount} points, {info.IndexedVectorsCount} indexed, status {info.Status})");
                var text = $"| {dataset.Name} | {dataset.BaseCount} | checkpoint + graph | {opened:F2} s | {info.IndexedVectorsCount} of {info.PointsCount} |\n";

                // Crash-like restart: no checkpoint, everything replayed from the WAL.
                var walOnly = Path.Combine(Path.GetTempPath(), "vectorizer-bench", Guid.NewGuid().ToString("N"));
                try
                {
                    var fresh = EngineIndex.Build(dataset, 16, 100, Environment.ProcessorCount, directory: walOnly);
                    fresh.Collection.Close(checkpoint: false);
                    fresh.Manager.Dispose();
                    stopwatch.Restart();
                    using var replayed = CollectionManager.Open(EngineIndex.Options(walOnly, 2), NullLoggerFactory.Instance);
                    var replaySeconds = stopwatch.Elapsed.TotalSeconds;
                    var replayInfo = replayed.Get("bench").GetInfo();
                    log.WriteLine($"open from WAL only (graph rebuilt in the background): {replaySeconds:F2} s ({replayInfo.PointsCount} points)");
                    text += $"| {dataset.Name} | {dataset.BaseCount} | WAL replay only (graph rebuilt afterwards, in the background) | {replaySeconds:F2} s | {replayInfo.IndexedVectorsCount} of {replayInfo.PointsCount} at open |\n";
                }
                finally
                {
                    Directory.Delete(walOnly, recursive: true);
                }

                return text;
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
