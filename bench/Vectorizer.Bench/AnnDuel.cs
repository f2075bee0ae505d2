using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Vectors.Quantization;

namespace Vectorizer.Bench;

/// <summary>
/// Our engine and hnswlib in one process, on saved indexes, answering the same queries in alternating blocks of a
/// few dozen milliseconds, each timed by the thread's CPU clock. On a machine shared with other work both engines
/// then see the same neighbours, the same cache pressure and the same frequency: the median of the per-block
/// ratios moves by a few percent between runs where separate processes move by tens. A tool for deciding between
/// two versions of the search loop; the published numbers still come from <c>ann</c>.
/// </summary>
public static unsafe class AnnDuel
{
    public sealed record Options(string Dataset, string IndexDirectory, string? HnswlibIndex, int Ef, int Queries, int Blocks, int Passes, int? HnswlibEf = null, string? Quantization = null);

    public static void Run(Options options, TextWriter log)
    {
        var dataset = Dataset.Load(options.Dataset, int.MaxValue, options.Queries, log);
        var root = AnnBenchmark.RepositoryRoot();
        var folder = Path.Combine(Texmex.CacheDirectory(), dataset.Name);
        var hnswIndex = options.HnswlibIndex ?? Path.Combine(options.IndexDirectory, "hnswlib.index");
        if (!File.Exists(hnswIndex))
        {
            var driver = PeerEngine.Hnswlib(root, log) ?? throw new InvalidOperationException("hnswlib is not available");
            log.WriteLine($"building the hnswlib index into {hnswIndex}");
            var annOptions = new AnnOptions(dataset.Name, 16, 100, [options.Ef], [2], int.MaxValue, 1, null, null, null, true, 10);
            driver.Execute(folder, dataset.Angular, annOptions, [2], Path.GetTempPath(), hnswIndex, log);
        }

        using var ours = EngineIndex.TryOpen(options.IndexDirectory, 2)
            ?? throw new InvalidOperationException($"no index in {options.IndexDirectory} (build one with `ann --index-dir`)");
        var library = NativeLibrary.Load(Shim(root));
        var load = (delegate* unmanaged<byte*, int, int, ulong, nint>)NativeLibrary.GetExport(library, "hn_load");
        var setEf = (delegate* unmanaged<nint, int, void>)NativeLibrary.GetExport(library, "hn_set_ef");
        var search = (delegate* unmanaged<nint, float*, int, long*, int>)NativeLibrary.GetExport(library, "hn_search");
        var path = System.Text.Encoding.UTF8.GetBytes(hnswIndex + "\0");
        nint hnsw;
        fixed (byte* p = path)
        {
            hnsw = load(p, dataset.Dimension, dataset.Angular ? 1 : 0, (ulong)dataset.BaseCount);
        }

        setEf(hnsw, options.HnswlibEf ?? options.Ef);
        QuantizationSearchParams? quantization = null;
        if (options.Quantization is { } name)
        {
            // Trained through the config as a user would (note: this rewrites the config file in the index directory).
            var mode = QuantizationBenchmark.ParseMode(name);
            ours.Collection.UpdateConfig(c => c with { Quantization = mode.Settings });
            ours.Collection.WaitForIndexingAsync(TimeSpan.FromHours(1)).GetAwaiter().GetResult();
            quantization = new QuantizationSearchParams(Oversampling: mode.Oversampling);
        }

        var queries = new float[dataset.QueryCount][];
        var normalised = new float[dataset.QueryCount][];
        for (var q = 0; q < queries.Length; q++)
        {
            queries[q] = dataset.Query(q).ToArray();
            normalised[q] = (float[])queries[q].Clone();
            if (dataset.Angular)
            {
                Engine.Vectors.VectorKernels.Normalize(normalised[q]);
            }
        }

        var labels = new long[10];
        long hnswHits = 0, ourHits = 0;
        void Hnswlib(int q)
        {
            fixed (float* v = normalised[q])
            fixed (long* l = labels)
            {
                var n = search(hnsw, v, 10, l);
                var row = new int[n];
                for (var i = 0; i < n; i++)
                {
                    row[i] = (int)l[i];
                }

                hnswHits += Recall.Hits(row, dataset.GroundTruth[q], 10);
            }
        }

        void Ours(int q)
        {
            var points = ours.Collection.Query(new QueryRequest { Query = new DenseVectorQuery(queries[q]), Limit = 10, HnswEf = options.Ef, Quantization = quantization });
            var row = new int[points.Count];
            for (var i = 0; i < row.Length; i++)
            {
                row[i] = (int)points[i].Id.Number;
            }

            ourHits += Recall.Hits(row, dataset.GroundTruth[q], 10);
        }

        for (var q = 0; q < Math.Min(500, queries.Length); q++)
        {
            Hnswlib(q);
            Ours(q);
        }

        hnswHits = ourHits = 0;
        var blockSize = Math.Max(1, queries.Length / options.Blocks);
        var ratios = new List<double>();
        double ourCpu = 0, hnswCpu = 0, ourWall = 0, hnswWall = 0;
        long answered = 0;
        for (var pass = 0; pass < options.Passes; pass++)
        {
            for (var block = 0; block < options.Blocks; block++)
            {
                var from = block * blockSize;
                var to = Math.Min(queries.Length, from + blockSize);
                double Time(Action<int> engine, ref double wallTotal)
                {
                    var wall = Stopwatch.StartNew();
                    var cpu = Machine.ThreadCpuSeconds();
                    for (var q = from; q < to; q++)
                    {
                        engine(q);
                    }

                    var seconds = Machine.ThreadCpuSeconds() - cpu;
                    wallTotal += wall.Elapsed.TotalSeconds;
                    return seconds;
                }

                // Alternate which engine goes first, so neither always runs right after the other warmed a cache.
                double a, b;
                if (((pass * options.Blocks) + block) % 2 == 0)
                {
                    a = Time(Ours, ref ourWall);
                    b = Time(Hnswlib, ref hnswWall);
                }
                else
                {
                    b = Time(Hnswlib, ref hnswWall);
                    a = Time(Ours, ref ourWall);
                }

                ourCpu += a;
                hnswCpu += b;
                answered += to - from;
                ratios.Add(b / a);
            }
        }

        ratios.Sort();
        var median = ratios[ratios.Count / 2];
        var quartiles = (ratios[ratios.Count / 4], ratios[ratios.Count * 3 / 4]);
        log.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"DUEL {dataset.Name} ef={options.Ef}{(options.Quantization is null ? "" : $" {options.Quantization}")} (hnswlib ef={options.HnswlibEf ?? options.Ef}): vectorizer {answered / ourCpu:F0} QPS of CPU ({answered / ourWall:F0} wall), recall {ourHits / (10.0 * answered):F4}; " +
            $"hnswlib {answered / hnswCpu:F0} QPS of CPU ({answered / hnswWall:F0} wall), recall {hnswHits / (10.0 * answered):F4}; " +
            $"vectorizer / hnswlib: {median:F3} (median of {ratios.Count} blocks, quartiles {quartiles.Item1:F3}-{quartiles.Item2:F3})"));
        NativeLibrary.Free(library);
    }

    /// <summary>Compiles bench/peers/hnswlib_shim.cpp when missing or older than its source.</summary>
    private static string Shim(string root)
    {
        var source = Path.Combine(root, "bench", "peers", "hnswlib_shim.cpp");
        var output = Path.Combine(root, "bench", "peers", "build", "libhnswlib_shim.so");
        if (!File.Exists(output) || File.GetLastWriteTimeUtc(output) < File.GetLastWriteTimeUtc(source))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(output)!);
            var (code, text) = PeerEngine.Run("g++", ["-O3", "-march=native", "-std=c++17", "-shared", "-fPIC", "-I/usr/include/hnswlib", "-o", output, source]);
            if (code != 0)
            {
                throw new InvalidOperationException("compiling the hnswlib shim failed:\n" + text);
            }
        }

        return output;
    }
}
