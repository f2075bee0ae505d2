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
