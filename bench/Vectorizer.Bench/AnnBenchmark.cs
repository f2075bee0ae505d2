using System.Diagnostics;
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
    [property: JsonPropertyName("p99_ms")] double P99Ms);

public sealed record BuildResult(
    [property: JsonPropertyName("engine")] string Engine,
    [property: JsonPropertyName("threads")] int Threads,
    [property: JsonPropertyName("seconds")] double Seconds,
    [property: JsonPropertyName("peak_rss_bytes")] long PeakRssBytes,
    [property: JsonPropertyName("index_bytes")] long IndexBytes);

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
    [property: JsonPropertyName("build")] List<BuildResult> Build);

public sealed record AnnOptions(string Dataset, int M, int EfConstruct, int[] Efs, int[] BuildThreads, int MaxBase, int MaxQueries, string? JsonFile, string? DumpIds, string? Markdown, bool Peers, int Limit);

/// <summary>Recall and speed of our HNSW (through the engine API) at several beam widths.</summary>
public static class AnnBenchmark
{
    public static AnnReport Run(AnnOptions options, string command, TextWriter log)
    {
        var dataset = Dataset.Load(options.Dataset, options.MaxBase, options.MaxQueries, log);
        log.WriteLine($"{dataset.Name}: {dataset.BaseCount} x {dataset.Dimension}, {dataset.QueryCount} queries");
        var results = new List<AnnResult>();
        var builds = new List<BuildResult>();

        EngineIndex? kept = null;
        foreach (var threads in options.BuildThreads.OrderBy(t => t))
        {
            kept?.Dispose();
            GC.Collect();
            var index = EngineIndex.Build(dataset, options.M, options.EfConstruct, threads);
            builds.Add(new BuildResult("vectorizer", threads, index.BuildSeconds, Machine.PeakRssBytes(), index.IndexBytes));
            log.WriteLine($"vectorizer build, {threads} thread(s): {index.BuildSeconds:F1} s, peak RSS {Machine.PeakRssBytes() / (1 << 20)} MiB, index {index.IndexBytes / (1 << 20)} MiB");
            kept = index;
        }

        using (kept)
        {
            var collection = kept!.Collection;
            Warmup(collection, dataset, options);
            foreach (var ef in options.Efs)
            {
                var (result, ids) = Measure(collection, dataset, ef, options.Limit);
                results.Add(result);
                log.WriteLine($"vectorizer ef={ef,4}: recall@{options.Limit} {result.Recall:F4}  {result.Qps,8:F0} QPS  p50 {result.P50Ms:F3} ms  p99 {result.P99Ms:F3} ms");
                if (options.DumpIds is { } dump)
                {
                    DumpIds(dump, "vectorizer", ef, ids);
                }
            }
        }

        if (options.Peers)
        {
            foreach (var peer in Peers.Run(dataset, options, log))
            {
                if (peer.Build is { } b)
                {
                    builds.Add(b);
                }

                results.AddRange(peer.Results);
            }
        }

        var report = new AnnReport(dataset.Name, Machine.Commit(), Machine.Describe(), command, dataset.BaseCount, dataset.QueryCount, options.M, options.EfConstruct, results, builds);
        if (options.JsonFile is { } json)
        {
            File.WriteAllText(json, JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true }));
        }

        return report;
    }

    private static void Warmup(Collection collection, Dataset dataset, AnnOptions options)
    {
        for (var q = 0; q < Math.Min(dataset.QueryCount, 500); q++)
        {
            collection.Query(new QueryRequest { Query = new DenseVectorQuery(dataset.Query(q).ToArray()), Limit = options.Limit, HnswEf = options.Efs[^1] });
        }
    }

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
        var total = Stopwatch.StartNew();
        for (var q = 0; q < dataset.QueryCount; q++)
        {
            var start = Stopwatch.GetTimestamp();
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
        for (var q = 0; q < dataset.QueryCount; q++)
        {
            hits += Recall.Hits(ids[q], dataset.GroundTruth[q], limit);
        }

        Array.Sort(latencies);
        return (new AnnResult("vectorizer", ef, hits / ((double)limit * dataset.QueryCount), dataset.QueryCount / seconds, Stats.Percentile(latencies, 50), Stats.Percentile(latencies, 99)), ids);
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
