using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Vectorizer.Bench;

/// <summary>
/// The recall-vs-QPS plot: an SVG written by hand (no plotting package on the mirror), converted to PNG with
/// <c>rsvg-convert</c> (Debian's <c>librsvg2-bin</c>) when it is installed.
/// </summary>
public static class AnnPlot
{
    private const int Width = 860;
    private const int Height = 560;
    private const int Left = 80;
    private const int Right = 170;
    private const int Top = 50;
    private const int Bottom = 60;
    private static readonly string[] Colors = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"];

    /// <summary>Writes <paramref name="svgPath"/> and, when possible, the PNG beside it. Returns the PNG path or null.</summary>
    public static string? Write(AnnReport report, string svgPath, TextWriter log)
    {
        File.WriteAllText(svgPath, Svg(report));
        var pngPath = Path.ChangeExtension(svgPath, ".png");
        try
        {
            using var process = Process.Start(new ProcessStartInfo("rsvg-convert", ["--background-color", "white", "-o", pngPath, svgPath])
            {
                RedirectStandardError = true,
            })!;
            var error = process.StandardError.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode == 0)
            {
                return pngPath;
            }

            log.WriteLine($"plot: rsvg-convert failed ({process.ExitCode}): {error.Trim()}");
        }
        catch (System.ComponentModel.Win32Exception)
        {
            log.WriteLine("plot: rsvg-convert not found (apt-get install librsvg2-bin); wrote only the SVG");
        }

        return null;
    }

    public static string Svg(AnnReport report)
    {
        var engines = report.Results.Select(r => r.Engine).Distinct().ToList();
        var minRecall = Math.Floor(report.Results.Min(r => r.Recall) * 10) / 10;
        var maxRecall = 1.0;
        var minQps = Math.Pow(10, Math.Floor(Math.Log10(report.Results.Min(r => r.Qps))));
        var maxQps = Math.Pow(10, Math.Ceiling(Math.Log10(report.Results.Max(r => r.Qps))));
        double X(double recall) => Left + ((recall - minRecall) / (maxRecall - minRecall) * (Width - Left - Right));
        double Y(double qps) => Top + ((Math.Log10(maxQps) - Math.Log10(qps)) / (Math.Log10(maxQps) - Math.Log10(minQps)) * (Height - Top - Bottom));
        static string F(double v) => v.ToString("F1", CultureInfo.InvariantCulture);

        var svg = new StringBuilder();
        svg.AppendLine($"""<svg xmlns="http://www.w3.org/2000/svg" width="{Width}" height="{Height}" font-family="DejaVu Sans, sans-serif" font-size="13">""");
        svg.AppendLine($"""<rect width="{Width}" height="{Height}" fill="white"/>""");
        svg.AppendLine($"""<text x="{Left}" y="28" font-size="16" font-weight="bold">{report.Dataset}: recall@10 vs single-thread QPS (M={report.M}, ef_construct={report.EfConstruct})</text>""");

        // Grid: recall every 0.05, QPS at 1-2-5 per decade.
        for (var recall = minRecall; recall <= maxRecall + 1e-9; recall += 0.05)
        {
            var x = F(X(recall));
            svg.AppendLine($"""<line x1="{x}" y1="{Top}" x2="{x}" y2="{Height - Bottom}" stroke="#e5e5e5"/>""");
            svg.AppendLine($"""<text x="{x}" y="{Height - Bottom + 18}" text-anchor="middle">{recall.ToString("F2", CultureInfo.InvariantCulture)}</text>""");
        }

        for (var decade = minQps; decade < maxQps * 1.001; decade *= 10)
        {
            foreach (var step in new[] { 1, 2, 5 })
            {
                var qps = decade * step;
                if (qps > maxQps * 1.001)
                {
                    break;
                }

                var y = F(Y(qps));
                svg.AppendLine($"""<line x1="{Left}" y1="{y}" x2="{Width - Right}" y2="{y}" stroke="{(step == 1 ? "#cccccc" : "#eeeeee")}"/>""");
                svg.AppendLine($"""<text x="{Left - 8}" y="{y}" text-anchor="end" dominant-baseline="middle">{qps.ToString("N0", CultureInfo.InvariantCulture)}</text>""");
            }
        }

        var target = F(X(AnnSummary.TargetRecall));
        svg.AppendLine($"""<line x1="{target}" y1="{Top}" x2="{target}" y2="{Height - Bottom}" stroke="#888888" stroke-dasharray="5,4"/>""");
        svg.AppendLine($"""<rect x="{Left}" y="{Top}" width="{Width - Left - Right}" height="{Height - Top - Bottom}" fill="none" stroke="#333333"/>""");
        svg.AppendLine($"""<text x="{(Left + Width - Right) / 2}" y="{Height - 18}" text-anchor="middle">recall@10</text>""");
        svg.AppendLine($"""<text transform="translate(22,{(Top + Height - Bottom) / 2}) rotate(-90)" text-anchor="middle">queries per second (log scale)</text>""");

        for (var i = 0; i < engines.Count; i++)
        {
            var color = Colors[i % Colors.Length];
            var curve = report.Results.Where(r => r.Engine == engines[i]).OrderBy(r => r.Ef).ToList();
            svg.Append($"""<polyline fill="none" stroke="{color}" stroke-width="2" points=" """);
            foreach (var point in curve)
            {
                svg.Append($"{F(X(point.Recall))},{F(Y(point.Qps))} ");
            }

            svg.AppendLine("\"/>");
            foreach (var point in curve)
            {
                svg.AppendLine($"""<circle cx="{F(X(point.Recall))}" cy="{F(Y(point.Qps))}" r="3.5" fill="{color}"><title>{engines[i]} ef={point.Ef}</title></circle>""");
            }

            var legendY = Top + 20 + (i * 22);
            svg.AppendLine($"""<line x1="{Width - Right + 16}" y1="{legendY}" x2="{Width - Right + 40}" y2="{legendY}" stroke="{color}" stroke-width="3"/>""");
            svg.AppendLine($"""<text x="{Width - Right + 46}" y="{legendY}" dominant-baseline="middle">{engines[i]}</text>""");
        }

        svg.AppendLine($"""<text x="{Width - Right + 16}" y="{Top + 20 + (engines.Count * 22) + 10}" font-size="11" fill="#555555">dashed: recall 0.95</text>""");
        svg.AppendLine($"""<text x="{Left}" y="{Height - 2}" font-size="10" fill="#777777">commit {report.Commit}; {report.MachineName}</text>""");
        svg.AppendLine("</svg>");
        return svg.ToString();
    }
}
