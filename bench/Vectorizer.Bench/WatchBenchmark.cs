using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Vectorizer.Bench;

/// <summary>
/// Save-to-searchable latency of the file watcher: the server (a separate process) watches a fresh directory; each
/// file is written whole and timed until <c>/points/count</c> finds its chunk. The debounce is the floor the design
/// sets (a path is indexed once it has been quiet that long), so the report gives each percentile beside it and
/// as a ratio to it; what is above the floor is event delivery, reading, chunking, embedding and the write.
/// </summary>
public static class WatchBenchmark
{
    public static string Run(int files, int debounceMs, TextWriter log)
    {
        var work = Path.Combine(Path.GetTempPath(), "vectorizer-bench", "watch-" + Guid.NewGuid().ToString("N"));
        var root = Directory.CreateDirectory(Path.Combine(work, "root")).FullName;
        var config = Path.Combine(work, "config.yml");
        File.WriteAllText(config, $"file_watcher:\n  enabled: true\n  watch_paths: [\"{root}\"]\n  debounce_ms: {debounceMs.ToString(CultureInfo.InvariantCulture)}\n");
        File.WriteAllText(Path.Combine(root, "seed.md"), "# Seed\n\nThe collection exists before the measured saves.\n");
        try
        {
            using var server = RestBenchmark.StartServer(Path.Combine(work, "data"), log, "--config", config);
            using var client = new HttpClient { BaseAddress = new Uri(server.Url), Timeout = TimeSpan.FromSeconds(30) };
            WaitUntil(() => Count(client, "seed.md") == 1, TimeSpan.FromSeconds(60), "the seed file was never indexed");

            var latencies = new double[files];
            for (var i = 0; i < files; i++)
            {
                var name = $"note-{i:D4}.md";
                var clock = Stopwatch.StartNew();
                File.WriteAllText(Path.Combine(root, name), $"# Note {i}\n\nToday the quokka number {i} smiled at the camera.\n");
                WaitUntil(() => Count(client, name) == 1, TimeSpan.FromSeconds(30), $"{name} was never indexed");
                latencies[i] = clock.Elapsed.TotalMilliseconds;
            }

            Array.Sort(latencies);
            var rows = new List<IReadOnlyList<string>>();
            foreach (var (label, value) in (ReadOnlySpan<(string, double)>)[("p50", Stats.Percentile(latencies, 50)), ("p95", Stats.Percentile(latencies, 95)), ("max", latencies[^1])])
            {
                rows.Add([label, Stats.F(value, 0), Stats.F(value - debounceMs, 0), Stats.F(value / debounceMs, 2)]);
            }

            var report = new StringBuilder();
            report.AppendLine($"{files} files saved one after another (each waits for the previous to be searchable), debounce {debounceMs} ms; " +
                "latency from the write to the first `/points/count` (polled every 5 ms) that finds the file's chunk (its page point, written with it, is not counted).");
            report.AppendLine();
            report.Append(Stats.Table(["", "save-to-searchable ms", "above the debounce ms", "× debounce"], rows));
            return report.ToString();
        }
        finally
        {
            try
            {
                Directory.Delete(work, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static long Count(HttpClient client, string file)
    {
        using var content = new StringContent("{\"exact\": true, \"filter\": {\"must\": [{\"key\": \"file_path\", \"match\": {\"value\": " + JsonSerializer.Serialize(file) + "}}], " +
            "\"must_not\": [{\"key\": \"point_kind\", \"match\": {\"value\": \"page\"}}]}}", Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = client.PostAsync("/collections/files/points/count", content).GetAwaiter().GetResult();
        if (!response.IsSuccessStatusCode)
        {
            return 0; // the collection does not exist yet
        }

        using var body = JsonDocument.Parse(response.Content.ReadAsStringAsync().GetAwaiter().GetResult());
        return body.RootElement.GetProperty("result").GetProperty("count").GetInt64();
    }

    private static void WaitUntil(Func<bool> condition, TimeSpan timeout, string failure)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException(failure);
            }

            Thread.Sleep(5);
        }
    }
}
