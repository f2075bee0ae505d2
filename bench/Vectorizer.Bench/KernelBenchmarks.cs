using BenchmarkDotNet.Attributes;
using Vectorizer.Engine.Vectors;

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

    [Benchmark(Baseline = true)]
    public float ScalarDot()
    {
        var (a, b) = Next();
        return ScalarKernels.Dot(data.AsSpan(a, Dimension), data.AsSpan(b, Dimension));
    }
}
