using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Vectorizer.Engine.Collections;

namespace Vectorizer.Bench;

public sealed record AnnResult(
    [property: JsonPropertyName("engine")] string Engine,
    [property: JsonPropertyName("ef")] int Ef,
    [property: JsonPropertyName("recall")] double Recall,
    [property: JsonPropertyName("qps")] double Qps,
    [property: JsonPropertyName("p50_ms")] double P50Ms,
    [property: JsonPropertyName("p99_ms")] double P99Ms,
    [property: JsonPropertyName("cpu_qps")] double? CpuQps = null);

public sealed record BuildResult(
    [property: JsonPropertyName("engine")] string Engine,
    [property: JsonPropertyName("threads")] int Threads,
    [property: JsonPropertyName("seconds")] double Seconds,
    [property: JsonPropertyName("peak_rss_bytes")] long PeakRssBytes,
    [property: JsonPropertyName("index_bytes")] long IndexBytes,
    [property: JsonPropertyName("cpu_seconds")] double? CpuSeconds = null,
    [property: JsonPropertyName("round")] int Round = 0);

public sealed record AnnReport(
    [property: JsonPropertyName("dataset")] string Dataset,
    [property: JsonPropertyName("commit")] string Commit,
    [property: JsonPropertyName("machine")] string MachineName,
    [property: JsonPropertyName("command")] string Command,
    [property: JsonPropertyName("base_vectors")] int BaseVectors,
    [property: JsonPropertyName("queries")] int Queries,
    [property: JsonPropertyName("m")] int M,
    [property: JsonPropertyName("ef_construct")] int EfConstruct,
    [property: JsonPropertyName("results")] List<AnnResult> Results,
    [property: JsonPropertyName("build")] List<BuildResult> Build,
    [property: JsonPropertyName("rounds")] List<List<AnnResult>>? Rounds = null);

/// <param name="Faiss">With <paramref name="Peers"/>: FAISS too (it rebuilds its index every round, which costs minutes on glove).</param>
/// <param name="BuildRounds">Builds per thread count and engine (ours and hnswlib's alternating), for a median of per-round build ratios.</param>
public sealed record AnnOptions(string Dataset, int M, int EfConstruct, int[] Efs, int[] BuildThreads, int MaxBase, int MaxQueries, string? JsonFile, string? DumpIds, string? Markdown, bool Peers, int Limit, string? IndexDirectory = null, int Rounds = 3, bool Faiss = true, int BuildRounds = 1);

/// <summary>Recall and speed of our HNSW (through the engine API) at several beam widths.</summary>
public static class AnnBenchmark
{
    public static AnnReport Run(AnnOptions options, string command, TextWriter log)
    {
        var dataset = Dataset.Load(options.Dataset, options.MaxBase, options.MaxQueries, log);
        log.WriteLine($"{dataset.Name}: {dataset.BaseCount} x {dataset.Dimension}, {dataset.QueryCount} queries, {options.Rounds} round(s); RSS after loading {Machine.CurrentRssBytes() >> 20} MiB ({Machine.RssBreakdown()})");
        var results = new List<AnnResult>();
        var builds = new List<BuildResult>();
        var scratch = Path.Combine(Path.GetTempPath(), "vectorizer-bench", "ann-" + Guid.NewGuid().ToString("N"));
        var idsDirectory = options.DumpIds ?? Path.Combine(scratch, "ids");
        Directory.CreateDirectory(scratch);
        Directory.CreateDirectory(idsDirectory);
        var folder = Path.Combine(Texmex.CacheDirectory(), dataset.Name);
        var best = new Dictionary<(string Engine, int Ef), AnnResult>();
        var rounds = new List<List<AnnResult>>();
        void Keep(AnnResult result)
        {
            rounds[^1].Add(result);
            if (!best.TryGetValue((result.Engine, result.Ef), out var current) || result.Qps > current.Qps)
            {
                best[(result.Engine, result.Ef)] = result;
            }
        }

        try
        {
            var peers = new List<PeerEngine>();
            if (options.Peers)
            {
                var root = RepositoryRoot();
                peers.AddRange(new[] { PeerEngine.Hnswlib(root, log), options.Faiss ? PeerEngine.Faiss(root, log) : null }.OfType<PeerEngine>());
            }

            // Extra build rounds first (ours, then hnswlib's, per round; only the builds, each in its own process),
            // so that build time is judged by the median of per-round ratios like QPS. The last round is the one
            // whose indexes the queries use.
            var hnswlibPeer = peers.FirstOrDefault(p => p.Name == "hnswlib");
            var reusing = options.IndexDirectory is { } kept && Directory.Exists(Path.Combine(kept, "collections", "bench"));
            for (var buildRound = 1; buildRound < options.BuildRounds && !reusing; buildRound++)
            {
                var round = buildRound;
                BuildOurs(dataset, options, builds, log, keep: false, round: round)?.Dispose();
                if (hnswlibPeer is not null)
                {
                    var buildOnly = options with { Efs = [options.Efs[0]], MaxQueries = 1 };
                    var output = hnswlibPeer.Execute(folder, dataset.Angular, buildOnly, options.BuildThreads, idsDirectory, Path.Combine(scratch, $"hnswlib-round{round}.index"), log);
                    builds.AddRange(output.Builds.Select(b => b with { Round = round }));
                    File.Delete(Path.Combine(scratch, $"hnswlib-round{round}.index"));
                }
            }

            var lastRound = reusing ? 0 : options.BuildRounds;
            using var ours = BuildOurs(dataset, options, builds, log, keep: true, round: lastRound)!;

            // Rounds interleave the engines, so a noisy neighbour hurts all of them alike; the best round counts.
            for (var round = 0; round < options.Rounds; round++)
            {
                rounds.Add([]);
                Warmup(ours.Collection, dataset, options);
                foreach (var ef in options.Efs)
                {
                    var (result, ids) = Measure(ours.Collection, dataset, ef, options.Limit);
                    log.WriteLine($"round {round + 1} vectorizer ef={ef,4}: recall@{options.Limit} {result.Recall:F4}  {result.Qps,8:F0} QPS  p50 {result.P50Ms:F3} ms  p99 {result.P99Ms:F3} ms  ({LastCpuQps:F0} QPS of CPU time)");
                    Keep(result);
                    if (round == 0)
                    {
                        DumpIds(idsDirectory, "vectorizer", ef, ids);
                    }
                }

                foreach (var peer in peers)
                {
                    var output = peer.Execute(folder, dataset.Angular, options, options.BuildThreads, idsDirectory, Path.Combine(scratch, peer.Name + ".index"), log);
                    builds.AddRange(output.Builds.Select(b => b with { Round = lastRound }));
                    foreach (var (ef, qps, p50, p99, idsFile, cpuQps) in output.Results)
                    {
                        var ids = PeerEngine.ReadIds(idsFile);
                        long hits = 0;
                        for (var q = 0; q < dataset.QueryCount; q++)
                        {
                            hits += Recall.Hits(ids[q], dataset.GroundTruth[q], options.Limit);
                        }

                        var result = new AnnResult(peer.Name, ef, hits / ((double)options.Limit * dataset.QueryCount), qps, p50, p99, cpuQps);
                        log.WriteLine($"round {round + 1} {peer.Name} ef={ef,4}: recall@{options.Limit} {result.Recall:F4}  {result.Qps,8:F0} QPS  p50 {result.P50Ms:F3} ms  p99 {result.P99Ms:F3} ms");
                        Keep(result);
                    }
                }
            }
        }
        finally
        {
            // hnswlib's index beside ours, for `ann-duel --index-dir` (which looks for DIR/hnswlib.index).
            var hnswlibIndex = Path.Combine(scratch, "hnswlib.index");
            if (options.IndexDirectory is { } keep && File.Exists(hnswlibIndex) && !File.Exists(Path.Combine(keep, "hnswlib.index")))
            {
                File.Move(hnswlibIndex, Path.Combine(keep, "hnswlib.index"));
            }

            try
            {
                Directory.Delete(scratch, recursive: true);
            }
            catch (IOException)
            {
            }
        }

        results.AddRange(best.Values.OrderBy(r => r.Engine == "vectorizer" ? 0 : r.Engine == "hnswlib" ? 1 : 2).ThenBy(r => r.Ef));
        var report = new AnnReport(dataset.Name, Machine.Commit(), Machine.Describe(), command, dataset.BaseCount, dataset.QueryCount, options.M, options.EfConstruct, results, builds, rounds);
        if (options.JsonFile is { } json)
        {
            File.WriteAllText(json, JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true }));
        }

        return report;
    }

    /// <summary>
    /// Each build runs in a child process (<c>ann-build</c>) so its peak RSS is its own, as for the peers; the
    /// index of the last (most threads) build is kept on disk and opened here for the queries.
    /// </summary>
    private static EngineIndex? BuildOurs(Dataset dataset, AnnOptions options, List<BuildResult> builds, TextWriter log, bool keep, int round)
    {
        var kept = keep && options.IndexDirectory is { } reuse ? EngineIndex.TryOpen(reuse, 2) : null;
        if (kept is not null)
        {
            log.WriteLine($"reusing the index in {options.IndexDirectory} (no build measured)");
            return kept;
        }

        var bench = typeof(AnnBenchmark).Assembly.Location;
        string? last = null;
        foreach (var threads in options.BuildThreads.Order())
        {
            if (last is not null && last != options.IndexDirectory)
            {
                Directory.Delete(last, recursive: true);
            }

            last = keep && threads == options.BuildThreads.Max() && options.IndexDirectory is not null
                ? options.IndexDirectory
                : Path.Combine(Path.GetTempPath(), "vectorizer-bench", Guid.NewGuid().ToString("N"));
            var (code, text) = PeerEngine.Run("dotnet", [bench, "ann-build", "--dataset", dataset.Name, "--max-base", dataset.BaseCount.ToString(CultureInfo.InvariantCulture),
                "--m", options.M.ToString(CultureInfo.InvariantCulture), "--ef-construct", options.EfConstruct.ToString(CultureInfo.InvariantCulture),
                "--threads", threads.ToString(CultureInfo.InvariantCulture), "--index-dir", last], line => log.WriteLine("  vectorizer: " + line), ServerRuntimeSettings);
            if (code != 0)
            {
                throw new InvalidOperationException("ann-build failed:\n" + text);
            }

            builds.AddRange(PeerEngine.ParseBuilds("vectorizer", text).Select(b => b with { Round = round }));
        }

        if (!keep)
        {
            if (last is not null && last != options.IndexDirectory)
            {
                Directory.Delete(last, recursive: true);
            }

            return null;
        }

        var index = EngineIndex.TryOpen(last!, 2) ?? throw new InvalidOperationException("the built index could not be opened");
        index.Keep = last == options.IndexDirectory;
        return index;
    }

    /// <summary>
    /// The server's runtime settings (src/Vectorizer/Vectorizer.csproj) where the benchmark's own differ, for the
    /// build child: it measures the product's build time and memory. The server turns dynamic PGO off and runs the
    /// concurrent GC; the benchmark's process has PGO on (its instrumented tier and PGO data held ~10 MiB more at
    /// the peak of a glove build, bench/results/targets.md, session 6). The gen0 cap is in both runtimeconfigs.
    /// </summary>
    private static readonly Dictionary<string, string> ServerRuntimeSettings = new()
    {
        ["DOTNET_TieredPGO"] = "0",
        ["DOTNET_gcConcurrent"] = "1",
    };

    /// <summary>The child side of <see cref="BuildOurs"/>: build, checkpoint, report one BUILD line.</summary>
    public static void BuildChild(string datasetName, int maxBase, int m, int efConstruct, int threads, string directory, TextWriter log)
    {
        var dataset = Dataset.LoadBase(datasetName, maxBase, log);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        using var index = EngineIndex.Build(dataset, m, efConstruct, threads, directory: directory);
        index.Keep = true;
        var cpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
        log.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"BUILD threads={threads} seconds={index.BuildSeconds:F3} peak_rss={Machine.PeakRssBytes()} index_bytes={index.IndexBytes} cpu_seconds={cpuSeconds:F3}"));

        var info = GC.GetGCMemoryInfo();
        log.WriteLine($"at the end of the build (where the peak RSS is reached): GC heap {info.HeapSizeBytes >> 20} MiB, committed {info.TotalCommittedBytes >> 20} MiB, fragmented {info.FragmentedBytes >> 20} MiB ({string.Join('/', info.GenerationInfo.ToArray().Select(g => g.FragmentationAfterBytes >> 20))} by generation), allocated {GC.GetTotalAllocatedBytes() >> 20} MiB, gens {string.Join('/', info.GenerationInfo.ToArray().Select(g => g.SizeAfterBytes >> 20))} MiB; native blocks {Vectorizer.Engine.Memory.NativeBlock.TotalBytes >> 20} MiB; {Machine.RssBreakdown()}");

        // Saved for the parent's queries; not part of the measured build (hnswlib's driver saves after its BUILD line too).
        index.Collection.Checkpoint();
        log.WriteLine($"upserts returned after {EngineIndex.UpsertSeconds:F1} s; allocated {GC.GetTotalAllocatedBytes() >> 20} MiB in all, {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)} collections (gen 0/1/2)");
        var gc = GC.GetGCMemoryInfo();
        log.WriteLine($"memory: GC heap {gc.HeapSizeBytes >> 20} MiB, committed {gc.TotalCommittedBytes >> 20} MiB; {Machine.RssBreakdown()}");
    }

    public static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Vectorizer.slnx")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? Directory.GetCurrentDirectory();
    }

    private static void Warmup(Collection collection, Dataset dataset, AnnOptions options)
    {
        for (var q = 0; q < Math.Min(dataset.QueryCount, 500); q++)
        {
            collection.Query(new QueryRequest { Query = new DenseVectorQuery(dataset.Query(q).ToArray()), Limit = options.Limit, HnswEf = options.Efs[^1] });
        }
    }

    /// <summary>Queries per second of CPU time of the last <see cref="Measure"/> (steadier than wall time on a shared machine).</summary>
    public static double LastCpuQps { get; private set; }

    /// <summary>All queries, one thread, timed one by one.</summary>
    public static (AnnResult Result, int[][] Ids) Measure(Collection collection, Dataset dataset, int ef, int limit)
    {
        var latencies = new double[dataset.QueryCount];
        var ids = new int[dataset.QueryCount][];
        var vectors = new float[dataset.QueryCount][];
        for (var q = 0; q < dataset.QueryCount; q++)
        {
            vectors[q] = dataset.Query(q).ToArray();
        }

        long hits = 0;
        var cpuStart = Machine.ThreadCpuSeconds();
        var total = Stopwatch.StartNew();
        for (var q = 0; q < dataset.QueryCount; q++)
        {
            var start = Stopwatch.GetTimestamp();
            if (Environment.GetEnvironmentVariable("VECTORIZER_BENCH_RAW") == "1")
            {
                var nodes = collection.SearchRaw("", vectors[q], limit, ef, false);
                latencies[q] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                ids[q] = nodes.Select(n => n.Node).ToArray();
                continue;
            }

            var points = collection.Query(new QueryRequest { Query = new DenseVectorQuery(vectors[q]), Limit = limit, HnswEf = ef });
            latencies[q] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            var row = new int[points.Count];
            for (var i = 0; i < row.Length; i++)
            {
                row[i] = (int)points[i].Id.Number;
            }

            ids[q] = row;
        }

        var seconds = total.Elapsed.TotalSeconds;
        LastCpuQps = dataset.QueryCount / Math.Max(1e-9, Machine.ThreadCpuSeconds() - cpuStart);
        for (var q = 0; q < dataset.QueryCount; q++)
        {
            hits += Recall.Hits(ids[q], dataset.GroundTruth[q], limit);
        }

        Array.Sort(latencies);
        return (new AnnResult("vectorizer", ef, hits / ((double)limit * dataset.QueryCount), dataset.QueryCount / seconds, Stats.Percentile(latencies, 50), Stats.Percentile(latencies, 99), LastCpuQps), ids);
    }

    public static void DumpIds(string directory, string engine, int ef, int[][] ids)
    {
        Directory.CreateDirectory(directory);
        using var writer = new StreamWriter(Path.Combine(directory, $"{engine}-ef{ef}.txt"));
        foreach (var row in ids)
        {
            writer.WriteLine(string.Join(' ', row));
        }
    }
}

public static class Recall
{
    /// <summary>|result ∩ truth[:k]| (set overlap).</summary>
    public static int Hits(int[] result, int[] truth, int k)
    {
        var hits = 0;
        var n = Math.Min(k, result.Length);
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < k && j < truth.Length; j++)
            {
                if (truth[j] == result[i])
                {
                    hits++;
                    break;
                }
            }
        }

        return hits;
    }
}
