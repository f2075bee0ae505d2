using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Vectorizer.Bench;

/// <summary>A peer engine run as a separate process that speaks the drivers' line protocol.</summary>
public sealed partial class PeerEngine
{
    private PeerEngine(string name, string executable, IReadOnlyList<string> prefix)
    {
        Name = name;
        Executable = executable;
        Prefix = prefix;
    }

    public string Name { get; }

    private string Executable { get; }

    private IReadOnlyList<string> Prefix { get; }

    /// <summary>hnswlib from Debian's libhnswlib-dev, compiled with -O3 -march=native (bench/peers/hnswlib_driver.cpp).</summary>
    public static PeerEngine? Hnswlib(string repositoryRoot, TextWriter log)
    {
        var source = Path.Combine(repositoryRoot, "bench", "peers", "hnswlib_driver.cpp");
        var output = Path.Combine(repositoryRoot, "bench", "peers", "build", "hnswlib_driver");
        if (!File.Exists("/usr/include/hnswlib/hnswlib.h"))
        {
            log.WriteLine("hnswlib: /usr/include/hnswlib missing (apt-get install libhnswlib-dev); skipped");
            return null;
        }

        if (!File.Exists(output) || File.GetLastWriteTimeUtc(output) < File.GetLastWriteTimeUtc(source))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(output)!);
            var (code, text) = Run("g++", ["-O3", "-march=native", "-std=c++17", "-I/usr/include/hnswlib", "-o", output, source, "-lpthread"]);
            if (code != 0)
            {
                log.WriteLine("hnswlib: compiling the driver failed:\n" + text);
                return null;
            }
        }

        return new PeerEngine("hnswlib", output, []);
    }

    /// <summary>FAISS IndexHNSWFlat through Debian's python3-faiss (bench/peers/faiss_driver.py, /usr/bin/python3).</summary>
    public static PeerEngine? Faiss(string repositoryRoot, TextWriter log)
    {
        var (code, _) = Run("/usr/bin/python3", ["-c", "import faiss, numpy"]);
        if (code != 0)
        {
            log.WriteLine("faiss: python3-faiss not importable with /usr/bin/python3 (apt-get install python3-faiss); skipped");
            return null;
        }

        return new PeerEngine("faiss", "/usr/bin/python3", [Path.Combine(repositoryRoot, "bench", "peers", "faiss_driver.py")]);
    }

    public sealed record Output(List<BuildResult> Builds, List<(int Ef, double Qps, double P50, double P99, string IdsFile, double? CpuQps)> Results);

    /// <summary>
    /// Runs the driver: builds (or loads <paramref name="indexFile"/>), then measures every ef once.
    /// </summary>
    public Output Execute(string folder, bool angular, AnnOptions options, int[] buildThreads, string idsDirectory, string indexFile, TextWriter log)
    {
        var arguments = new List<string>(Prefix)
        {
            Path.Combine(folder, "base.fvecs"),
            Path.Combine(folder, "query.fvecs"),
            angular ? "angular" : "l2",
            options.M.ToString(CultureInfo.InvariantCulture),
            options.EfConstruct.ToString(CultureInfo.InvariantCulture),
            string.Join(',', buildThreads),
            string.Join(',', options.Efs),
            Math.Min(options.MaxBase, 100_000_000).ToString(CultureInfo.InvariantCulture),
            Math.Min(options.MaxQueries, 100_000_000).ToString(CultureInfo.InvariantCulture),
            options.Limit.ToString(CultureInfo.InvariantCulture),
            idsDirectory,
            indexFile,
            "1",
        };
        var (code, text) = Run(Executable, arguments, line => log.WriteLine($"  {Name}: {line}"));
        if (code != 0)
        {
            throw new InvalidOperationException($"{Name} driver failed ({code}):\n{text}");
        }

        var output = new Output(ParseBuilds(Name, text), []);

        foreach (Match match in ResultLine().Matches(text))
        {
            output.Results.Add((int.Parse(match.Groups["ef"].Value, CultureInfo.InvariantCulture), double.Parse(match.Groups["qps"].Value, CultureInfo.InvariantCulture),
                double.Parse(match.Groups["p50"].Value, CultureInfo.InvariantCulture), double.Parse(match.Groups["p99"].Value, CultureInfo.InvariantCulture), match.Groups["ids"].Value,
                match.Groups["cpu"].Success ? double.Parse(match.Groups["cpu"].Value, CultureInfo.InvariantCulture) : null));
        }

        return output;
    }

    /// <summary>The BUILD lines of a driver's (or our child build's) output.</summary>
    public static List<BuildResult> ParseBuilds(string engine, string text)
    {
        var builds = new List<BuildResult>();
        foreach (Match match in BuildLine().Matches(text))
        {
            builds.Add(new BuildResult(engine, int.Parse(match.Groups["threads"].Value, CultureInfo.InvariantCulture), double.Parse(match.Groups["seconds"].Value, CultureInfo.InvariantCulture),
                long.Parse(match.Groups["rss"].Value, CultureInfo.InvariantCulture), long.Parse(match.Groups["bytes"].Value, CultureInfo.InvariantCulture),
                match.Groups["cpu"].Success ? double.Parse(match.Groups["cpu"].Value, CultureInfo.InvariantCulture) : null));
        }

        return builds;
    }

    public static int[][] ReadIds(string path)
    {
        var rows = new List<int[]>();
        foreach (var line in File.ReadLines(path))
        {
            rows.Add(line.Length == 0 ? [] : line.Split(' ').Select(x => int.Parse(x, CultureInfo.InvariantCulture)).ToArray());
        }

        return [.. rows];
    }

    internal static (int Code, string Output) Run(string file, IReadOnlyList<string> arguments, Action<string>? onLine = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = new Process { StartInfo = start };
        var text = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                lock (text)
                {
                    text.AppendLine(line);
                }

                onLine?.Invoke(line);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                lock (text)
                {
                    text.AppendLine(line);
                }
            }
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        process.WaitForExit();
        lock (text)
        {
            return (process.ExitCode, text.ToString());
        }
    }

    [GeneratedRegex(@"BUILD threads=(?<threads>\d+) seconds=(?<seconds>[\d.]+) peak_rss=(?<rss>\d+) index_bytes=(?<bytes>\d+)(?: cpu_seconds=(?<cpu>[\d.]+))?")]
    private static partial Regex BuildLine();

    [GeneratedRegex(@"RESULT ef=(?<ef>\d+) round=\d+ qps=(?<qps>[\d.]+) p50_ms=(?<p50>[\d.]+) p99_ms=(?<p99>[\d.]+) ids=(?<ids>\S+)(?: cpu_qps=(?<cpu>[\d.]+))?")]
    private static partial Regex ResultLine();
}
