using BenchmarkDotNet.Attributes;
using Vectorizer.Engine.Vectors;
using Vectorizer.Engine.Vectors.Quantization;

namespace Vectorizer.Bench;

/// <summary>
/// Distance kernels at the benchmark datasets' dimensions (and one odd length): the dispatched SIMD kernel
/// against the scalar reference. Run: <c>dotnet run -c Release --project bench/Vectorizer.Bench -- kernels</c>.
/// </summary>
[MemoryDiagnoser]
public unsafe class KernelBenchmarks
{
    private const int Pairs = 4096;
    private float[] data = [];
    private byte[] codes = [];
    private int padded;
    private int index;

    [Params(100, 784, 1536, 97)]
    public int Dimension { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(42);
        data = GC.AllocateArray<float>(Pairs * Dimension, pinned: true);
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = (float)((random.NextDouble() * 2) - 1);
        }

        // int8 codes as the scalar quantizer stores them: zero-padded to a multiple of 16 bytes.
        padded = (Dimension + 15) & ~15;
        codes = GC.AllocateArray<byte>(Pairs * padded, pinned: true);
        for (var v = 0; v < Pairs; v++)
        {
            for (var i = 0; i < Dimension; i++)
            {
                codes[(v * padded) + i] = (byte)random.Next(-127, 128);
            }
        }
    }

    private (int A, int B) Next()
    {
        index = (index + 1) & (Pairs - 1);
        return (index * Dimension, ((index * 7) & (Pairs - 1)) * Dimension);
    }

    [Benchmark]
    public float Dot()
    {
        var (a, b) = Next();
        fixed (float* p = data)
        {
            return VectorKernels.Dot(p + a, p + b, Dimension);
        }
    }

    [Benchmark]
    public float SquaredEuclid()
    {
        var (a, b) = Next();
        fixed (float* p = data)
        {
            return VectorKernels.SquaredEuclid(p + a, p + b, Dimension);
        }
    }

    [Benchmark]
    public float Manhattan()
    {
        var (a, b) = Next();
        fixed (float* p = data)
        {
            return VectorKernels.Manhattan(p + a, p + b, Dimension);
        }
    }

    /// <summary>float query × int8 codes: what a scalar-quantized distance costs.</summary>
    [Benchmark]
    public float DotInt8()
    {
        var (a, b) = Next();
        fixed (float* w = data)
        fixed (byte* p = codes)
        {
            return Int8Kernels.DotF32S8(w + a, (sbyte*)p + (b / Dimension * padded), padded);
        }
    }

    /// <summary>Hamming distance over sign bits: the binary-quantized distance.</summary>
    [Benchmark]
    public int HammingBinary()
    {
        var (a, b) = Next();
        fixed (byte* p = codes)
        {
            var words = (Dimension + 63) / 64;
            return Int8Kernels.Hamming((ulong*)(p + (a / Dimension * padded)), (ulong*)(p + (b / Dimension * padded)), words);
        }
    }

    [Benchmark(Baseline = true)]
    public float ScalarDot()
    {
        var (a, b) = Next();
        return ScalarKernels.Dot(data.AsSpan(a, Dimension), data.AsSpan(b, Dimension));
    }
}
