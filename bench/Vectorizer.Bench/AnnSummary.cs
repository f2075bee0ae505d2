using System.Globalization;
using System.Text;

namespace Vectorizer.Bench;

/// <summary>The headline numbers: QPS at a recall target (interpolated on each engine's curve) and ratios.</summary>
public static class AnnSummary
{
    public const double TargetRecall = 0.95;

    /// <summary>
    /// QPS at <paramref name="target"/> recall, interpolated linearly in recall and logarithmically in QPS between the
    /// two measured points around it (ef ascending). Null when no point reaches the target.
    /// </summary>
    public static double? QpsAtRecall(IEnumerable<AnnResult> curve, double target)
    {
        var points = curve.OrderBy(r => r.Ef).ToList();
        for (var i = 0; i < points.Count; i++)
        {
            if (points[i].Recall < target)
            {
                continue;
            }

            if (i == 0)
            {
                return points[0].Qps;
            }

            var (a, b) = (points[i - 1], points[i]);
            var t = (target - a.Recall) / (b.Recall - a.Recall);
            return Math.Exp(Math.Log(a.Qps) + (t * (Math.Log(b.Qps) - Math.Log(a.Qps))));
        }

        return null;
    }

    public static string Markdown(AnnReport report)
    {
        var builder = new StringBuilder();
        var engines = report.Results.Select(r => r.Engine).Distinct().ToList();
        var qps = engines.ToDictionary(e => e, e => QpsAtRecall(report.Results.Where(r => r.Engine == e), TargetRecall));
        string Ratio(double? a, double? b) => a is { } x && b is { } y && y > 0 ? (x / y).ToString("F2", CultureInfo.InvariantCulture) + "×" : "n/a";

        builder.AppendLine($"**QPS at recall@10 = {TargetRecall:F2}** (interpolated on each engine's curve):");
        builder.AppendLine();
        var rounds = report.Rounds is { Count: > 1 } r ? r : null;
        string PairedRatio(string engine, bool cpu)
        {
            // Per round (the engines ran back to back in it), then the median over rounds: robust to a noisy
            // neighbour that slows one engine's turn, unlike comparing each engine's best round. With cpu, QPS is
            // queries per CPU second of the query thread (time spent descheduled by other work is not counted).
            IEnumerable<AnnResult> Curve(List<AnnResult> round, string name) =>
                round.Where(x => x.Engine == name && (!cpu || x.CpuQps is not null)).Select(x => cpu ? x with { Qps = x.CpuQps!.Value } : x);
            var ratios = new List<double>();
            foreach (var round in rounds!)
            {
                if (QpsAtRecall(Curve(round, "vectorizer"), TargetRecall) is { } ours &&
                    QpsAtRecall(Curve(round, engine), TargetRecall) is { } theirs)
                {
                    ratios.Add(ours / theirs);
                }
            }

            ratios.Sort();
            return ratios.Count == 0 ? "n/a"
                : (ratios[ratios.Count / 2].ToString("F2", CultureInfo.InvariantCulture) + "× (rounds: " +
                   string.Join(", ", ratios.Select(x => x.ToString("F2", CultureInfo.InvariantCulture))) + ")");
        }

        builder.Append(Stats.Table(
            rounds is null ? ["engine", "QPS @ 0.95 (best round)", "vectorizer ÷ engine"] : ["engine", "QPS @ 0.95 (best round)", "vectorizer ÷ engine (best rounds)", "vectorizer ÷ engine (median of per-round ratios)", "same, per CPU second"],
            engines.Select(e =>
            {
                List<string> row = [e, qps[e] is { } q ? Stats.F(q, 0) : "not reached", e == "vectorizer" ? "—" : Ratio(qps["vectorizer"], qps[e])];
                if (rounds is not null)
                {
                    row.Add(e == "vectorizer" ? "—" : PairedRatio(e, cpu: false));
                    row.Add(e == "vectorizer" ? "—" : PairedRatio(e, cpu: true));
                }

                return (IReadOnlyList<string>)row;
            })));
        builder.AppendLine();

        // Builds: per build round (ours and the peer's built back to back), then the median over rounds.
        var threadCounts = report.Build.Select(b => b.Threads).Distinct().Order().ToList();
        var buildRounds = report.Build.Select(b => b.Round).Distinct().Order().ToList();
        var rows = new List<IReadOnlyList<string>>();
        string Median(List<double> ratios) => ratios.Count == 0 ? "n/a"
            : ratios.Order().ElementAt(ratios.Count / 2).ToString("F2", CultureInfo.InvariantCulture) + "×"
              + (ratios.Count > 1 ? " (" + string.Join(", ", ratios.Select(x => x.ToString("F2", CultureInfo.InvariantCulture))) + ")" : "");
        foreach (var peer in engines.Where(e => e != "vectorizer"))
        {
            foreach (var threads in threadCounts)
            {
                List<double> wall = [], cpu = [], rss = [];
                foreach (var round in buildRounds)
                {
                    var ours = report.Build.FirstOrDefault(b => b.Engine == "vectorizer" && b.Threads == threads && b.Round == round);
                    var theirs = report.Build.FirstOrDefault(b => b.Engine == peer && b.Threads == threads && b.Round == round);
                    if (ours is not null && theirs is not null)
                    {
                        wall.Add(ours.Seconds / theirs.Seconds);
                        rss.Add((double)ours.PeakRssBytes / theirs.PeakRssBytes);
                        if (ours.CpuSeconds is { } a && theirs.CpuSeconds is { } b && b > 0)
                        {
                            cpu.Add(a / b);
                        }
                    }
                }

                if (wall.Count > 0)
                {
                    rows.Add([peer, threads.ToString(CultureInfo.InvariantCulture), wall.Count.ToString(CultureInfo.InvariantCulture), Median(wall), Median(cpu), Median(rss)]);
                }
            }
        }

        if (rows.Count > 0)
        {
            builder.AppendLine("**Build time and peak memory**, vectorizer ÷ peer, median of per-round ratios (rounds in brackets; lower is better). CPU: the build process's CPU seconds (all threads), steadier than wall time on a shared machine:");
            builder.AppendLine();
            builder.Append(Stats.Table(["peer", "build threads", "rounds", "build time (wall)", "build CPU time", "peak RSS"], rows));
        }

        return builder.ToString();
    }
}
