using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Vectorizer.Bench;

/// <summary>Process and machine facts for reports.</summary>
public static partial class Machine
{
    /// <summary>Peak resident set size of this process (VmHWM), in bytes.</summary>
    public static long PeakRssBytes() => ReadStatusKb("VmHWM") * 1024;

    public static long CurrentRssBytes() => ReadStatusKb("VmRSS") * 1024;

    /// <summary>
    /// CPU time consumed by the calling thread, in seconds (Linux; 0 elsewhere). On a machine shared with other
    /// work, queries per CPU second are far steadier than queries per wall second: time spent descheduled is not
    /// counted (cache pressure from neighbours still is).
    /// </summary>
    public static double ThreadCpuSeconds()
    {
        if (!OperatingSystem.IsLinux())
        {
            return 0;
        }

        return ClockGetTime(3 /* CLOCK_THREAD_CPUTIME_ID */, out var spec) == 0 ? spec.Seconds + (spec.Nanoseconds * 1e-9) : 0;
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out TimeSpec spec);

    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    /// <summary>Anonymous, file-backed and shared parts of the resident set, in MiB.</summary>
    public static string RssBreakdown() =>
        $"anon {ReadStatusKb("RssAnon") >> 10} MiB, file {ReadStatusKb("RssFile") >> 10} MiB, shmem {ReadStatusKb("RssShmem") >> 10} MiB, threads {System.Diagnostics.Process.GetCurrentProcess().Threads.Count}";

    private static long ReadStatusKb(string field)
    {
        if (!File.Exists("/proc/self/status"))
        {
            return 0;
        }

        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
            {
                return long.Parse(line.AsSpan(field.Length + 1).Trim().ToString().Split(' ')[0], CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }

    public static string Describe()
    {
        var cpu = "unknown CPU";
        if (File.Exists("/proc/cpuinfo"))
        {
            cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? cpu;
        }

        var memory = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024.0 * 1024 * 1024);
        return $"{cpu}, {Environment.ProcessorCount} cores, {memory:F0} GiB RAM, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}";
    }

    public static string Commit()
    {
        try
        {
            var start = new ProcessStartInfo("git", ["rev-parse", "--short", "HEAD"]) { RedirectStandardOutput = true, RedirectStandardError = true };
            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEnd().Trim();
            process.WaitForExit();
            using var dirty = Process.Start(new ProcessStartInfo("git", ["status", "--porcelain", "--untracked-files=no"]) { RedirectStandardOutput = true })!;
            var changes = dirty.StandardOutput.ReadToEnd().Trim();
            dirty.WaitForExit();
            return changes.Length > 0 ? output + "+dirty" : output;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "unknown";
        }
    }

    public static string CommandLine(string[] args) =>
        "dotnet run -c Release --project bench/Vectorizer.Bench -- " + string.Join(' ', args);
}

/// <summary>Latency percentiles from per-operation timings.</summary>
public static class Stats
{
    public static double Percentile(double[] sortedMs, double p)
    {
        if (sortedMs.Length == 0)
        {
            return 0;
        }

        var rank = p / 100.0 * (sortedMs.Length - 1);
        var low = (int)Math.Floor(rank);
        var high = (int)Math.Ceiling(rank);
        return sortedMs[low] + ((sortedMs[high] - sortedMs[low]) * (rank - low));
    }

    public static string Table(IReadOnlyList<string> header, IEnumerable<IReadOnlyList<string>> rows)
    {
        var builder = new StringBuilder();
        builder.Append("| ").Append(string.Join(" | ", header)).AppendLine(" |");
        builder.Append('|').Append(string.Concat(header.Select(_ => "---|"))).AppendLine();
        foreach (var row in rows)
        {
            builder.Append("| ").Append(string.Join(" | ", row)).AppendLine(" |");
        }

        return builder.ToString();
    }

    public static string F(double value, int digits) => value.ToString("F" + digits.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
}

/// <summary>Runs a list of queries one after another on one thread: recall@10 against the truth, QPS, p50/p99.</summary>
public static class QueryLoop
{
    /// <summary>All requests, one thread: recall@10, QPS (wall), p50/p99 ms, and queries per CPU second of this thread.</summary>
    public static (double Recall, double Qps, double P50, double P99, double CpuQps) Measure(Vectorizer.Engine.Collections.Collection collection, Vectorizer.Engine.Collections.QueryRequest[] requests, int[][] truth)
    {
        for (var q = 0; q < Math.Min(100, requests.Length); q++)
        {
            collection.Query(requests[q]);
        }

        var latencies = new double[requests.Length];
        long hits = 0;
        var cpu = Machine.ThreadCpuSeconds();
        var total = System.Diagnostics.Stopwatch.StartNew();
        for (var q = 0; q < requests.Length; q++)
        {
            var start = System.Diagnostics.Stopwatch.GetTimestamp();
            var points = collection.Query(requests[q]);
            latencies[q] = System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            var ids = new int[points.Count];
            for (var i = 0; i < ids.Length; i++)
            {
                ids[i] = (int)points[i].Id.Number;
            }

            hits += Recall.Hits(ids, truth[q], 10);
        }

        var seconds = total.Elapsed.TotalSeconds;
        var cpuSeconds = Math.Max(1e-9, Machine.ThreadCpuSeconds() - cpu);
        Array.Sort(latencies);
        return (hits / (10.0 * requests.Length), requests.Length / seconds, Stats.Percentile(latencies, 50), Stats.Percentile(latencies, 99), requests.Length / cpuSeconds);
    }
}
