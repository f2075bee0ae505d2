using System.Diagnostics;
using System.Text.Json;
using Xunit.Abstractions;

namespace Vectorizer.Server.Tests;

/// <summary>
/// Runs the benchmarks on tiny subsets so they never rot. Nothing about speed is asserted: only that every engine
/// ran, returned sensible recall, and that the reports were written. They need the datasets and the peers
/// (<see cref="Need"/>): skipped with a message where those are missing, failed in CI.
/// </summary>
public class BenchmarkSmokeTests(ITestOutputHelper output)
{
    private static string BenchPath()
    {
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
        var path = Path.Combine(VectorizerProcess.RepositoryRoot(), "bench", "Vectorizer.Bench", "bin", configuration, "net10.0", "Vectorizer.Bench.dll");
        Assert.True(File.Exists(path), $"{path} not built");
        return path;
    }

    /// <summary>Runs the benchmark with <paramref name="scratch"/> as its TMPDIR, so whatever it leaves goes with that folder.</summary>
    private async Task<string> RunBench(string scratch, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = VectorizerProcess.RepositoryRoot() };
        start.Environment["TMPDIR"] = scratch;
        start.ArgumentList.Add(BenchPath());
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(10));
        var text = await stdout + await stderr;
        output.WriteLine(text);
        Assert.True(process.ExitCode == 0, text);
        return text;
    }

    [SkippableFact]
    [Trait("Category", "Slow")]
    public async Task AnnBenchmarkRunsAllEnginesOnASubset()
    {
        Prerequisites.Require(Need.Datasets, Need.Hnswlib, Need.Faiss);
        var folder = TestPaths.NewDirectory("ann-");
        try
        {
            var json = Path.Combine(folder, "ann.json");
            var markdown = Path.Combine(folder, "ann.md");
            await RunBench(folder, "ann", "--dataset", "glove-100-angular", "--max-base", "5000", "--queries", "200", "--ef", "16,64", "--threads", "1,2",
                "--rounds", "1", "--json", json, "--markdown", markdown, "--dump-ids", Path.Combine(folder, "ids"));
            using var report = JsonDocument.Parse(await File.ReadAllTextAsync(json));
            var results = report.RootElement.GetProperty("results").EnumerateArray().ToList();
            foreach (var engine in new[] { "vectorizer", "hnswlib", "faiss" })
            {
                var rows = results.Where(r => r.GetProperty("engine").GetString() == engine).ToList();
                Assert.Equal(2, rows.Count);
                Assert.All(rows, r => Assert.InRange(r.GetProperty("recall").GetDouble(), 0.5, 1.0));
                Assert.All(rows, r => Assert.True(r.GetProperty("qps").GetDouble() > 0));
                Assert.True(File.Exists(Path.Combine(folder, "ids", $"{engine}-ef64.txt")));
            }

            Assert.Equal(6, report.RootElement.GetProperty("build").GetArrayLength());
            var text = await File.ReadAllTextAsync(markdown);
            Assert.Contains("| vectorizer | 64 |", text, StringComparison.Ordinal);
            Assert.Contains("| hnswlib |", text, StringComparison.Ordinal);
            Assert.StartsWith("<svg", await File.ReadAllTextAsync(Path.ChangeExtension(markdown, ".svg")), StringComparison.Ordinal);
            var png = Path.ChangeExtension(markdown, ".png");
            if (File.Exists(png))
            {
                var header = new byte[8];
                await using (var stream = File.OpenRead(png))
                {
                    await stream.ReadExactlyAsync(header);
                }

                Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }, header);
            }
        }
        finally
        {
            TestServer.TryDelete(folder);
        }
    }

    [SkippableFact]
    [Trait("Category", "Slow")]
    public async Task RestBenchmarkRunsOnASubset()
    {
        Prerequisites.Require(Need.Datasets, Need.Wrk);
        var folder = TestPaths.NewDirectory("rest-");
        var markdown = Path.Combine(folder, "rest.md");
        try
        {
            var text = await RunBench(folder, "rest", "--dataset", "glove-100-angular", "--points", "5000", "--connections", "1,8", "--seconds", "2", "--markdown", markdown);
            var report = await File.ReadAllTextAsync(markdown);
            Assert.Contains("points/s", report, StringComparison.Ordinal);
            // | connections | filter | QPS | ÷ none | p50 ms | p99 ms | errors |
            Assert.Matches(@"\| 8 \| none \| \d+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \| 0 \|", report);
            Assert.Contains("upsert:", text, StringComparison.Ordinal);
        }
        finally
        {
            TestPaths.TryDelete(folder);
        }
    }

    [SkippableFact]
    [Trait("Category", "Slow")]
    public async Task FilteredBenchmarkRunsOnASubset()
    {
        Prerequisites.Require(Need.Datasets);
        var folder = TestPaths.NewDirectory("filtered-");
        try
        {
            var text = await RunBench(folder, "filtered", "--dataset", "glove-100-angular", "--max-base", "5000", "--queries", "50", "--ef", "32", "--threads", "2");
            // Exact paths (small filtered sets) must find exactly the brute-force neighbours.
            Assert.Matches(@"\| 1 % \| keyword index \| 32 \| 1\.0000 \|", text);
            Assert.Matches(@"\| 10 % \| no index \| 32 \| [01]\.\d{4} \|", text);
        }
        finally
        {
            TestPaths.TryDelete(folder);
        }
    }

    [SkippableFact]
    [Trait("Category", "Slow")]
    public async Task ReplicationBenchmarkRunsOnASubset()
    {
        Prerequisites.Require(Need.Datasets);
        var folder = TestPaths.NewDirectory("replication-");
        var markdown = Path.Combine(folder, "replication.md");
        try
        {
            await RunBench(folder, "replication", "--dataset", "glove-100-angular", "--points", "1000", "--batch", "50", "--clients", "2", "--seconds", "1",
                "--lag-seconds", "3", "--rounds", "1", "--replicas", "1", "--concerns", "none,all", "--resync-points", "2000", "--resync-indexed", "false",
                "--markdown", markdown);
            var report = await File.ReadAllTextAsync(markdown);
            // Lag rows: | upsert load | samples | ops p50 | p99 | max | lag_seconds p50 | p99 | probes | ack→readable p50 | p99 | max | load |
            Assert.Matches(@"\| idle \| \d+ \| \d+ \| \d+ \| \d+ \| \d+ \| \d+ \| [1-9]\d* \| [\d.]+ \|", report);
            Assert.Matches(@"\| \d+ \| \d+ \| \d+ \| \d+ \| \d+ \| \d+ \| \d+ \| [1-9]\d* \| [\d.]+ \|", report);
            Assert.Matches(@"\| `all` \| \d+ \| [\d.]+ \| \*\*[\d.]+\*\* \|", report);
            // The fresh replica's full resync ended with equal checksums.
            Assert.Matches(@"\| `GET /api/replication/checksum` equal on both \| \*\*[\d.]+\*\* \|", report);
        }
        finally
        {
            TestPaths.TryDelete(folder);
        }
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task WatchBenchmarkRunsOnAFewFiles()
    {
        var folder = TestPaths.NewDirectory("watch-");
        try
        {
            var text = await RunBench(folder, "watch", "--files", "3", "--debounce-ms", "100");
            Assert.Matches(@"\| p50 \| \d+ \| -?\d+ \| [\d.]+ \|", text);
        }
        finally
        {
            TestPaths.TryDelete(folder);
        }
    }
}
