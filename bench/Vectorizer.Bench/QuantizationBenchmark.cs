using System.Diagnostics;
using System.Globalization;
using System.Text;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Vectors.Quantization;

namespace Vectorizer.Bench;

/// <summary>
/// Quantized search against the float32 graph on the same index: one HNSW graph (built from the originals, which
/// are <c>on_disk</c>, i.e. memory-mapped), then each quantizer trained on it and searched with rescoring at a
/// range of <c>hnsw_ef</c>, modes interleaved round by round, with hnswlib (float32 in RAM, built once) run in
/// each round too. Reports recall@10, QPS, vector bytes in RAM, and QPS at recall 0.95 relative to our float32 and
/// to hnswlib.
/// </summary>
public static class QuantizationBenchmark
{
    /// <param name="Peers">Also run hnswlib (float32, in RAM) in every round, for the modes' ratio to it.</param>
    public sealed record Options(string Dataset, int MaxBase, int Queries, int[] Efs, int Threads, int Rounds, string[] Modes, bool Peers = true);

    /// <summary>A quantization mode: name, the <c>quantization_config</c> as the API would take it (null: float32), the settings, and the oversampling used with it.</summary>
    internal sealed record Mode(string Name, string? Config, QuantizationSettings? Settings, double Oversampling);

    public static readonly string[] DefaultModes = ["float32", "int8", "int8-os2", "int8-os4", "binary-os4", "binary-os10", "pq-x8-os4", "pq-x16-os8"];

    /// <summary>
    /// <c>float32</c>, or <c>int8</c> / <c>binary</c> / <c>pq-xN</c> followed by optional parts: <c>-qF</c> (int8
    /// quantile F, default 0.99; <c>-q1</c>: the full range) and <c>-osN</c> (oversampling N, default 1).
    /// </summary>
    internal static Mode ParseMode(string name)
    {
        var parts = name.Split('-');
        var oversampling = 1.0;
        var quantile = "0.99";
        string? compression = null;
        foreach (var part in parts.Skip(1))
        {
            if (part.StartsWith("os", StringComparison.Ordinal))
            {
                oversampling = double.Parse(part[2..], CultureInfo.InvariantCulture);
            }
            else if (part.StartsWith('q'))
            {
                quantile = part[1..];
            }
            else if (part.StartsWith('x'))
            {
                compression = part;
            }
            else
            {
                throw new ArgumentException($"unknown part `{part}` in mode {name}");
            }
        }

        var config = parts[0] switch
        {
            "float32" => null,
            "int8" => $$$"""{"scalar": {"type": "int8", "quantile": {{{quantile}}}, "always_ram": true}}""",
            "binary" => """{"binary": {"always_ram": true}}""",
            "pq" => $$$"""{"product": {"compression": "{{{compression ?? "x8"}}}", "always_ram": true}}""",
            _ => throw new ArgumentException($"unknown mode {name}; e.g. {string.Join(", ", DefaultModes)}"),
        };
        QuantizationSettings? settings = parts[0] switch
        {
            "int8" => new QuantizationSettings(QuantizationKind.Scalar, float.Parse(quantile, CultureInfo.InvariantCulture), AlwaysRam: true),
            "binary" => new QuantizationSettings(QuantizationKind.Binary, AlwaysRam: true),
            "pq" => new QuantizationSettings(QuantizationKind.Product, AlwaysRam: true, Compression: int.Parse((compression ?? "x8")[1..], CultureInfo.InvariantCulture)),
            _ => null,
        };
        return new Mode(name, config, settings, oversampling);
    }

    public static string Run(Options options, TextWriter log, string? plotPath = null, string command = "")
    {
        var dataset = Dataset.Load(options.Dataset, options.MaxBase, options.Queries, log);
        var stopwatch = Stopwatch.StartNew();
        using var index = EngineIndex.Build(dataset, 16, 100, options.Threads, onDisk: true);
        log.WriteLine($"built {dataset.BaseCount} points in {stopwatch.Elapsed.TotalSeconds:F1} s; {Machine.RssBreakdown()}");
        var collection = index.Collection;
        var slot = collection.State.Slots[0];
        var floatBytes = slot.Store.AllocatedBytes;

        // Train every quantizer once through the config, as a user would, and keep each trained copy.
        var modes = options.Modes.Select(ParseMode).ToList();
        var trained = new Dictionary<string, (QuantizationSettings? Settings, QuantizedVectors? Vectors, double Seconds)>();
        foreach (var mode in modes)
        {
            var key = mode.Config ?? "float32";
            if (trained.ContainsKey(key))
            {
                continue;
            }

            if (mode.Config is null)
            {
                trained[key] = (null, null, 0);
                continue;
            }

            stopwatch.Restart();
            collection.UpdateConfig(c => c with { Quantization = mode.Settings });
            collection.WaitForIndexingAsync(TimeSpan.FromHours(1)).GetAwaiter().GetResult();
            trained[key] = (slot.Quantization, slot.Quantized, stopwatch.Elapsed.TotalSeconds);
            log.WriteLine($"trained {key} in {stopwatch.Elapsed.TotalSeconds:F1} s: {slot.Quantized!.RamBytes} bytes; {Machine.RssBreakdown()}");
        }

        var hnswlib = options.Peers ? PeerEngine.Hnswlib(AnnBenchmark.RepositoryRoot(), log) : null;
        var hnswlibMode = new Mode("hnswlib float32", null, null, 1);
        var scratch = Path.Combine(Path.GetTempPath(), "vectorizer-bench", "quantization-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(scratch);
        var results = new List<(Mode Mode, int Round, int Ef, double Recall, double Qps, double P50, double P99, double CpuQps)>();
        for (var round = 0; round < options.Rounds; round++)
        {
            if (hnswlib is not null)
            {
                // Built in the first round (same M, ef_construct and threads), loaded from its file afterwards.
                var annOptions = new AnnOptions(options.Dataset, 16, 100, options.Efs, [options.Threads], options.MaxBase, options.Queries, null, null, null, true, 10);
                var output = hnswlib.Execute(Path.Combine(Texmex.CacheDirectory(), options.Dataset), dataset.Angular, annOptions, [options.Threads], scratch, Path.Combine(scratch, "hnswlib.index"), log);
                foreach (var (ef, qps, p50, p99, idsFile, cpuQps) in output.Results)
                {
                    var ids = PeerEngine.ReadIds(idsFile);
                    long hits = 0;
                    for (var q = 0; q < dataset.QueryCount; q++)
                    {
                        hits += Recall.Hits(ids[q], dataset.GroundTruth[q], 10);
                    }

                    var recall = hits / (10.0 * dataset.QueryCount);
                    log.WriteLine($"round {round + 1} {hnswlibMode.Name,-12} ef={ef,4}: recall@10 {recall:F4}  {qps,8:F0} QPS  p50 {p50:F3} ms  p99 {p99:F3} ms  ({cpuQps:F0} QPS of CPU time)");
                    results.Add((hnswlibMode, round, ef, recall, qps, p50, p99, cpuQps ?? qps));
                }
            }

            foreach (var mode in modes)
            {
                var (settings, vectors, _) = trained[mode.Config ?? "float32"];
                slot.Quantization = settings;
                slot.Quantized = vectors;

                // As the indexer would after a config change: the graph's links move next to the codes this mode
                // searches (inline), or back to records of their own for float32 (the originals are on disk).
                slot.PlaceLayer0(slot.IndexedUpTo);
                foreach (var ef in options.Efs)
                {
                    var requests = new QueryRequest[dataset.QueryCount];
                    for (var q = 0; q < requests.Length; q++)
                    {
                        requests[q] = new QueryRequest
                        {
                            Query = new DenseVectorQuery(dataset.Query(q).ToArray()),
                            Limit = 10,
                            HnswEf = ef,
                            Quantization = new QuantizationSearchParams(Ignore: mode.Config is null, Oversampling: mode.Oversampling),
                        };
                    }

                    var (recall, qps, p50, p99, cpuQps) = QueryLoop.Measure(collection, requests, dataset.GroundTruth);
                    log.WriteLine($"round {round + 1} {mode.Name,-12} ef={ef,4}: recall@10 {recall:F4}  {qps,8:F0} QPS  p50 {p50:F3} ms  p99 {p99:F3} ms  ({cpuQps:F0} QPS of CPU time)");
                    results.Add((mode, round, ef, recall, qps, p50, p99, cpuQps));
                }
            }
        }

        try
        {
            Directory.Delete(scratch, recursive: true);
        }
        catch (IOException)
        {
        }

        if (hnswlib is not null)
        {
            modes.Add(hnswlibMode);
            trained[hnswlibMode.Name] = (null, null, 0);
        }

        var report = new StringBuilder();
        report.AppendLine($"Data: {dataset.BaseCount} base vectors of {options.Dataset} ({dataset.Dimension} dimensions), {dataset.QueryCount} queries, M=16, ef_construct=100; one graph built from the float32 vectors (`on_disk: true`: memory-mapped); each quantizer trained on it; rescoring with the originals on (Qdrant's default), `oversampling` as named; {options.Rounds} round(s), modes interleaved; best round per point; one thread.");
        report.AppendLine();
        var summary = new List<IReadOnlyList<string>>();
        var bestByMode = new Dictionary<string, List<AnnResult>>();
        foreach (var mode in modes)
        {
            var best = options.Efs.Select(ef => results.Where(r => r.Mode == mode && r.Ef == ef).MaxBy(r => r.Qps))
                .Select(r => new AnnResult(mode.Name, r.Ef, r.Recall, r.Qps, r.P50, r.P99)).ToList();
            bestByMode[mode.Name] = best;
        }

        var floatQps = bestByMode.TryGetValue("float32", out var floatCurve) ? AnnSummary.QpsAtRecall(floatCurve, AnnSummary.TargetRecall) : null;

        // Each mode against hnswlib's float32 at recall 0.95, round by round (both measured in the same round).
        double? VersusHnswlib(Mode mode, bool cpu)
        {
            var ratios = new List<double>();
            for (var round = 0; round < options.Rounds; round++)
            {
                AnnResult Point(Mode m, (Mode Mode, int Round, int Ef, double Recall, double Qps, double P50, double P99, double CpuQps) r) => new(m.Name, r.Ef, r.Recall, cpu ? r.CpuQps : r.Qps, r.P50, r.P99);
                var ours = AnnSummary.QpsAtRecall(results.Where(r => r.Mode == mode && r.Round == round).Select(r => Point(mode, r)), AnnSummary.TargetRecall);
                var theirs = AnnSummary.QpsAtRecall(results.Where(r => r.Mode == hnswlibMode && r.Round == round).Select(r => Point(hnswlibMode, r)), AnnSummary.TargetRecall);
                if (ours is { } a && theirs is { } b)
                {
                    ratios.Add(a / b);
                }
            }

            ratios.Sort();
            return ratios.Count == 0 ? null : ratios[ratios.Count / 2];
        }

        foreach (var mode in modes)
        {
            var (_, vectors, seconds) = trained[mode.Config ?? (mode == hnswlibMode ? hnswlibMode.Name : "float32")];
            var ram = vectors?.RamBytes ?? floatBytes;
            var qps = AnnSummary.QpsAtRecall(bestByMode[mode.Name], AnnSummary.TargetRecall);
            var maxRecall = bestByMode[mode.Name].Max(r => r.Recall);
            summary.Add([
                mode.Name,
                Stats.F(mode.Oversampling, 0),
                (ram >> 10).ToString(CultureInfo.InvariantCulture),
                Stats.F(100.0 * ram / floatBytes, 1) + " %",
                Stats.F(seconds, 1),
                Stats.F(maxRecall, 4),
                qps is { } q ? Stats.F(q, 0) : "n/a",
                qps is { } a && floatQps is { } b ? Stats.F(a / b, 2) + "×" : "n/a",
                hnswlib is null ? "n/a" : VersusHnswlib(mode, cpu: false) is { } r ? Stats.F(r, 2) + "×" : "n/a",
                hnswlib is null ? "n/a" : VersusHnswlib(mode, cpu: true) is { } c ? Stats.F(c, 2) + "×" : "n/a",
            ]);
        }

        if (plotPath is not null)
        {
            var curves = new AnnReport(options.Dataset, Machine.Commit(), Machine.Describe(), command, dataset.BaseCount, dataset.QueryCount, 16, 100, [.. bestByMode.SelectMany(m => m.Value)], []);
            var png = AnnPlot.Write(curves, plotPath, log);
            report.AppendLine($"![recall vs QPS per mode]({Path.GetFileName(png ?? plotPath)})");
            report.AppendLine();
        }

        report.AppendLine("**Summary** (vector RAM: what search reads from RAM; the float32 originals stay on disk, memory-mapped, for rescoring):");
        report.AppendLine();
        report.Append(Stats.Table(["mode", "oversampling", "vector RAM KiB", "of float32", "train+encode s", "best recall@10", $"QPS @ recall {AnnSummary.TargetRecall:F2}", "÷ float32", "÷ hnswlib float32 (median of per-round ratios)", "same, per CPU second"], summary));
        report.AppendLine();
        report.Append(Stats.Table(
            ["mode", "hnsw_ef", "recall@10", "QPS", "p50 ms", "p99 ms"],
            bestByMode.SelectMany(m => m.Value).Select(r => (IReadOnlyList<string>)[r.Engine, r.Ef.ToString(CultureInfo.InvariantCulture), Stats.F(r.Recall, 4), Stats.F(r.Qps, 0), Stats.F(r.P50Ms, 3), Stats.F(r.P99Ms, 3)])));
        return report.ToString();
    }
}
