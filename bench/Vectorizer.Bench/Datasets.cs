using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Vectorizer.Bench;

/// <summary>Reads the TEXMEX .fvecs/.ivecs files produced by shared/datasets/prepare.sh.</summary>
public static class Texmex
{
    /// <summary>Reads up to <paramref name="maxRows"/> rows of an .fvecs file into one contiguous array.</summary>
    public static (float[] Data, int Rows, int Dim) ReadFvecs(string path, int maxRows = int.MaxValue)
    {
        using var stream = File.OpenRead(path);
        Span<byte> header = stackalloc byte[4];
        stream.ReadExactly(header);
        var dim = BinaryPrimitives.ReadInt32LittleEndian(header);
        var rowBytes = 4 + (dim * 4);
        var rows = (int)Math.Min(maxRows, stream.Length / rowBytes);
        stream.Position = 0;
        var data = new float[(long)rows * dim];
        var row = new byte[rowBytes];
        for (var r = 0; r < rows; r++)
        {
            stream.ReadExactly(row);
            MemoryMarshal.Cast<byte, float>(row.AsSpan(4)).CopyTo(data.AsSpan(r * dim, dim));
        }

        return (data, rows, dim);
    }

    public static int[][] ReadIvecs(string path, int maxRows = int.MaxValue)
    {
        var bytes = File.ReadAllBytes(path);
        var result = new List<int[]>();
        var pos = 0;
        while (pos < bytes.Length && result.Count < maxRows)
        {
            var dim = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(pos));
            result.Add(MemoryMarshal.Cast<byte, int>(bytes.AsSpan(pos + 4, dim * 4)).ToArray());
            pos += 4 + (dim * 4);
        }

        return [.. result];
    }

    public static string CacheDirectory() =>
        Environment.GetEnvironmentVariable("VECTORIZER_DATA_CACHE") is { Length: > 0 } dir
            ? dir
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "vectorizer-datasets");
}

/// <summary>A benchmark dataset: base vectors, queries, exact top-100 neighbours, and its metric.</summary>
public sealed class Dataset
{
    public required string Name { get; init; }

    public required float[] Base { get; init; }

    public required int BaseCount { get; init; }

    public required float[] Queries { get; init; }

    public required int QueryCount { get; init; }

    public required int Dimension { get; init; }

    /// <summary>Exact neighbours (0-based base rows), nearest first; at least 10 per query.</summary>
    public required int[][] GroundTruth { get; init; }

    public bool Angular => Name.Contains("angular", StringComparison.Ordinal);

    /// <summary>Loads a dataset, running prepare.sh when it is missing and computing ground truth for subsets.</summary>
    public static Dataset Load(string name, int maxBase = int.MaxValue, int maxQueries = int.MaxValue, TextWriter? log = null)
    {
        var folder = Path.Combine(Texmex.CacheDirectory(), name);
        if (!File.Exists(Path.Combine(folder, "base.fvecs")))
        {
            Prepare(log);
        }

        var (data, rows, dim) = Texmex.ReadFvecs(Path.Combine(folder, "base.fvecs"), maxBase);
        var (queries, queryCount, _) = Texmex.ReadFvecs(Path.Combine(folder, "query.fvecs"), maxQueries);
        var gtPath = Path.Combine(folder, "gt100.ivecs");
        var fullBase = rows == new FileInfo(Path.Combine(folder, "base.fvecs")).Length / (4 + (4L * dim));
        int[][] truth;
        if (fullBase && File.Exists(gtPath))
        {
            truth = Texmex.ReadIvecs(gtPath, queryCount);
        }
        else
        {
            log?.WriteLine($"computing exact ground truth for {queryCount} queries over {rows} vectors...");
            truth = ExactNeighbours(data, rows, queries, queryCount, dim, name.Contains("angular", StringComparison.Ordinal), 10);
        }

        return new Dataset { Name = name, Base = data, BaseCount = rows, Queries = queries, QueryCount = queryCount, Dimension = dim, GroundTruth = truth };
    }

    /// <summary>Only the base vectors (no queries, no ground truth): what a build needs.</summary>
    public static Dataset LoadBase(string name, int maxBase, TextWriter? log = null)
    {
        var folder = Path.Combine(Texmex.CacheDirectory(), name);
        if (!File.Exists(Path.Combine(folder, "base.fvecs")))
        {
            Prepare(log);
        }

        var (data, rows, dim) = Texmex.ReadFvecs(Path.Combine(folder, "base.fvecs"), maxBase);
        return new Dataset { Name = name, Base = data, BaseCount = rows, Queries = [], QueryCount = 0, Dimension = dim, GroundTruth = [] };
    }

    public ReadOnlySpan<float> BaseRow(int i) => Base.AsSpan(i * Dimension, Dimension);

    public ReadOnlySpan<float> Query(int i) => Queries.AsSpan(i * Dimension, Dimension);

    private static void Prepare(TextWriter? log)
    {
        var repo = AppContext.BaseDirectory;
        var directory = new DirectoryInfo(repo);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Vectorizer.slnx")))
        {
            directory = directory.Parent;
        }

        var script = directory is null ? "scripts/datasets/prepare.sh" : Path.Combine(directory.FullName, "scripts", "datasets", "prepare.sh");
        log?.WriteLine($"datasets missing: running {script}");
        using var process = System.Diagnostics.Process.Start("bash", [script])!;
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{script} failed with exit code {process.ExitCode}");
        }
    }

    /// <summary>Brute force in float64, ties broken by id (as the shipped ground truth).</summary>
    public static int[][] ExactNeighbours(float[] data, int rows, float[] queries, int queryCount, int dim, bool angular, int k)
    {
        var norms = new double[rows];
        if (angular)
        {
            for (var i = 0; i < rows; i++)
            {
                double s = 0;
                for (var d = 0; d < dim; d++)
                {
                    s += (double)data[(i * dim) + d] * data[(i * dim) + d];
                }

                norms[i] = Math.Sqrt(s);
            }
        }

        var result = new int[queryCount][];
        Parallel.For(0, queryCount, q =>
        {
            var best = new PriorityQueue<int, (double, int)>(Comparer<(double, int)>.Create((a, b) => b.CompareTo(a)));
            double qNorm = 0;
            for (var d = 0; d < dim; d++)
            {
                qNorm += (double)queries[(q * dim) + d] * queries[(q * dim) + d];
            }

            qNorm = Math.Sqrt(qNorm);
            for (var i = 0; i < rows; i++)
            {
                double distance = 0;
                if (angular)
                {
                    double dot = 0;
                    for (var d = 0; d < dim; d++)
                    {
                        dot += (double)queries[(q * dim) + d] * data[(i * dim) + d];
                    }

                    distance = 1 - (dot / (qNorm * norms[i]));
                }
                else
                {
                    for (var d = 0; d < dim; d++)
                    {
                        var diff = (double)queries[(q * dim) + d] - data[(i * dim) + d];
                        distance += diff * diff;
                    }
                }

                if (best.Count < k)
                {
                    best.Enqueue(i, (distance, i));
                }
                else if (best.TryPeek(out _, out var worst) && (distance, i).CompareTo(worst) < 0)
                {
                    best.DequeueEnqueue(i, (distance, i));
                }
            }

            var ids = new int[best.Count];
            for (var j = ids.Length - 1; j >= 0; j--)
            {
                ids[j] = best.Dequeue();
            }

            result[q] = ids;
        });
        return result;
    }
}
