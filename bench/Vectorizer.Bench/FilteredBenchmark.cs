using System.Diagnostics;
using System.Globalization;
using System.Numerics.Tensors;
using System.Text;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Filters;
using Vectorizer.Engine.Payload;

namespace Vectorizer.Bench;

/// <summary>
/// Filtered search: every point gets a keyword <c>c10</c> (one of 10 values, ~10 % selectivity) and <c>c100</c>
/// (one of 100, ~1 %); query q filters on value q mod n. Recall@10 is against the exact filtered neighbours
/// (brute force over the matching points). Each case runs without and then with a keyword payload index.
/// </summary>
public static class FilteredBenchmark
{
    public sealed record Options(string Dataset, int MaxBase, int Queries, int[] Efs, int Threads, bool OnDiskPayload = false, int Rounds = 1);

    /// <summary>The field filtered on and its number of categories; <c>null</c> is the unfiltered baseline.</summary>
    private static readonly (string? Field, int Categories)[] Cases = [(null, 1), ("c10", 10), ("c100", 100)];

    public static string Run(Options options, TextWriter log)
    {
        var dataset = Dataset.LoadBase(options.Dataset, options.MaxBase, log);
        var (queryData, queryCount, _) = Texmex.ReadFvecs(Path.Combine(Texmex.CacheDirectory(), options.Dataset, "query.fvecs"), options.Queries);
        var queries = new Dataset { Name = options.Dataset, Base = [], BaseCount = 0, Queries = queryData, QueryCount = queryCount, Dimension = dataset.Dimension, GroundTruth = [] };
        var payloads = new PointPayload[dataset.BaseCount];
        for (var i = 0; i < payloads.Length; i++)
        {
            payloads[i] = PointPayload.FromUtf8(Encoding.UTF8.GetBytes($$"""{"c10": "k{{i % 10}}", "c100": "k{{i % 100}}"}"""));
        }

        var stopwatch = Stopwatch.StartNew();
        using var index = EngineIndex.Build(dataset, 16, 100, options.Threads, payload: i => payloads[i], fullScanThreshold: new HnswConfig().FullScanThreshold, onDiskPayload: options.OnDiskPayload);
        log.WriteLine($"built {dataset.BaseCount} points in {stopwatch.Elapsed.TotalSeconds:F1} s");
        var truths = Cases.ToDictionary(c => c.Categories, c => ExactFiltered(dataset, queries, c.Categories));

        var rows = new List<IReadOnlyList<string>>();
        foreach (var indexed in new[] { false, true })
        {
            if (indexed)
            {
                foreach (var (field, _) in Cases)
                {
                    if (field is not null)
                    {
                        index.Collection.CreatePayloadIndex(field, new PayloadFieldSchema(PayloadSchemaType.Keyword));
                    }
                }
            }

            // Rounds interleave the cases; each filtered row is also given as a ratio to the unfiltered queries at
            // the same hnsw_ef measured just before it (median over rounds), which the machine's noise moves less.
            var measured = new Dictionary<(int Categories, int Ef), List<(double Recall, double Qps, double P50, double P99, double CpuQps)>>();
            for (var round = 0; round < options.Rounds; round++)
            {
                foreach (var ef in options.Efs)
                {
                    foreach (var (field, categories) in Cases)
                    {
                        var result = Measure(index.Collection, queries, field, categories, ef, truths[categories]);
                        (measured.TryGetValue((categories, ef), out var list) ? list : measured[(categories, ef)] = []).Add(result);
                        var mode = field is null ? "no filter" : indexed ? "keyword index" : "no index";
                        log.WriteLine($"round {round + 1} {field ?? "-",-4} ({100.0 / categories:F0} %) {mode,-13} ef={ef,4}: recall@10 {result.Recall:F4}  {result.Qps,8:F0} QPS  p50 {result.P50:F3} ms  p99 {result.P99:F3} ms  ({result.CpuQps:F0} QPS of CPU time)");
                    }
                }
            }

            foreach (var (field, categories) in Cases)
            {
                if (field is null && indexed)
                {
                    continue;
                }

                foreach (var ef in options.Efs)
                {
                    var results = measured[(categories, ef)];
                    var best = results.MaxBy(r => r.Qps);
                    var ratios = results.Select((r, i) => r.Qps / measured[(1, ef)][i].Qps).Order().ToList();
                    var cpuRatios = results.Select((r, i) => r.CpuQps / measured[(1, ef)][i].CpuQps).Order().ToList();
                    var mode = field is null ? "no filter" : indexed ? "keyword index" : "no index";
                    rows.Add([$"{100.0 / categories:F0} %", mode, ef.ToString(CultureInfo.InvariantCulture), Stats.F(best.Recall, 4), Stats.F(best.Qps, 0),
                        field is null ? "1" : Stats.F(ratios[ratios.Count / 2], 2), Stats.F(results.Max(r => r.CpuQps), 0),
                        field is null ? "1" : Stats.F(cpuRatios[cpuRatios.Count / 2], 2), Stats.F(best.P50, 3), Stats.F(best.P99, 3)]);
                }
            }
        }

        var report = new StringBuilder();
        report.AppendLine($"Data: {dataset.BaseCount} base vectors of {options.Dataset}, {queries.QueryCount} queries, M=16, ef_construct=100, full_scan_threshold 10000 KB, on_disk_payload {(options.OnDiskPayload ? "true" : "false")}; query q keeps points whose category is q mod n; recall@10 against the exact (filtered) neighbours; one thread; {options.Rounds} round(s), best round's QPS; ÷ no filter: filtered QPS over unfiltered QPS at the same hnsw_ef in the same round (median over rounds); the same per CPU second of the query thread (steadier on a shared machine: time spent descheduled is not counted).");
        report.AppendLine();
        report.Append(Stats.Table(["selectivity", "payload index", "hnsw_ef", "recall@10", "QPS", "÷ no filter", "QPS of CPU", "÷ no filter (CPU)", "p50 ms", "p99 ms"], rows));
        return report.ToString();
    }

    private static Filter CategoryFilter(string field, int value) => new()
    {
        Must = [new FieldCondition(JsonPath.Parse(field)) { Match = new MatchCondition { Kind = MatchKind.Value, Value = MatchValue.Of($"k{value}") } }],
    };

    private static (double Recall, double Qps, double P50, double P99, double CpuQps) Measure(Collection collection, Dataset queries, string? field, int categories, int ef, int[][] truth)
    {
        var requests = new QueryRequest[queries.QueryCount];
        for (var q = 0; q < requests.Length; q++)
        {
            requests[q] = new QueryRequest { Query = new DenseVectorQuery(queries.Query(q).ToArray()), Filter = field is null ? null : CategoryFilter(field, q % categories), Limit = 10, HnswEf = ef };
        }

        return QueryLoop.Measure(collection, requests, truth);
    }

    /// <summary>The exact top 10 among the points of each query's category (cosine on normalised vectors for angular data).</summary>
    private static int[][] ExactFiltered(Dataset dataset, Dataset queries, int categories)
    {
        var norms = new float[dataset.BaseCount];
        for (var i = 0; i < norms.Length; i++)
        {
            norms[i] = TensorPrimitives.Norm(dataset.BaseRow(i));
        }

        var truth = new int[queries.QueryCount][];
        Parallel.For(0, queries.QueryCount, q =>
        {
            var query = queries.Query(q);
            var best = new List<(float Distance, int Id)>();
            for (var i = q % categories; i < dataset.BaseCount; i += categories)
            {
                var row = dataset.BaseRow(i);
                var distance = dataset.Angular
                    ? -TensorPrimitives.Dot(query, row) / Math.Max(norms[i], 1e-30f)
                    : TensorPrimitives.Distance(query, row);
                best.Add((distance, i));
            }

            best.Sort((a, b) => a.Distance != b.Distance ? a.Distance.CompareTo(b.Distance) : a.Id.CompareTo(b.Id));
            truth[q] = best.Take(10).Select(b => b.Id).ToArray();
        });

        return truth;
    }
}
