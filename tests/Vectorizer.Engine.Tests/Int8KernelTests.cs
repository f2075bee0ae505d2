using System.Runtime.Intrinsics.X86;
using Vectorizer.Engine.Vectors.Quantization;

namespace Vectorizer.Engine.Tests;

/// <summary>
/// The int8 kernels of scalar quantization, each width on its own against a double-precision reference, at every
/// length the quantizer uses (multiples of 16, the padding) and the extreme codes. Widths the CPU lacks are
/// skipped with the reason; <c>.ci/run</c> also runs these with AVX-512 and AVX2 disabled so the dispatch takes
/// each narrower path.
/// </summary>
public unsafe class Int8KernelTests
{
    public static TheoryData<int> Lengths => [16, 32, 48, 64, 80, 96, 112, 128, 256, 784, 800, 1536];

    private static (float[] W, sbyte[] A, float[] Alpha) Random(int length, int seed)
    {
        var random = new Random(seed);
        var w = new float[length];
        var a = new sbyte[length];
        var alpha = new float[length];
        for (var i = 0; i < length; i++)
        {
            w[i] = (float)((random.NextDouble() * 2) - 1);
            a[i] = i % 17 == 0 ? sbyte.MinValue : i % 19 == 0 ? sbyte.MaxValue : (sbyte)random.Next(-128, 128);
            alpha[i] = (float)(random.NextDouble() * 0.05);
        }

        return (w, a, alpha);
    }

    private static (double Value, double Magnitude) ReferenceDot(float[] w, sbyte[] a)
    {
        double sum = 0, magnitude = 0;
        for (var i = 0; i < w.Length; i++)
        {
            sum += (double)w[i] * a[i];
            magnitude += Math.Abs((double)w[i] * a[i]);
        }

        return (sum, magnitude);
    }

    private static (double Value, double Magnitude) ReferenceL1(float[] d, float[] alpha, sbyte[] a)
    {
        double sum = 0;
        for (var i = 0; i < d.Length; i++)
        {
            sum += Math.Abs(d[i] - ((double)alpha[i] * a[i]));
        }

        return (sum, sum);
    }

    /// <summary>float32 accumulation error grows with the terms' magnitude and, at worst, their count.</summary>
    private static void AssertClose((double Value, double Magnitude) expected, float actual, int length, string path) =>
        Assert.True(
            Math.Abs(expected.Value - actual) <= (1e-5 * Math.Sqrt(length) * Math.Max(1, expected.Magnitude)) + 1e-4,
            $"{path}: expected {expected.Value}, got {actual} (length {length})");

    private delegate float Dot(float* w, sbyte* a, int length);

    private delegate float L1(float* d, float* alpha, sbyte* a, int length);

    private static void CheckDot(Dot kernel, int length, string path)
    {
        var (w, a, _) = Random(length, length);
        fixed (float* pw = w)
        fixed (sbyte* pa = a)
        {
            AssertClose(ReferenceDot(w, a), kernel(pw, pa, length), length, path);
        }
    }

    private static void CheckL1(L1 kernel, int length, string path)
    {
        var (d, a, alpha) = Random(length, length * 3);
        fixed (float* pd = d)
        fixed (float* palpha = alpha)
        fixed (sbyte* pa = a)
        {
            AssertClose(ReferenceL1(d, alpha, a), kernel(pd, palpha, pa, length), length, path);
        }
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void ScalarPathMatchesReference(int length)
    {
        CheckDot(Int8Kernels.DotF32S8Scalar, length, "dot scalar");
        CheckL1(Int8Kernels.L1F32S8Scalar, length, "l1 scalar");
    }

    [SkippableTheory]
    [MemberData(nameof(Lengths))]
    public void Avx2PathMatchesReference(int length)
    {
        Skip.IfNot(Avx2.IsSupported && Fma.IsSupported, "AVX2/FMA is not available on this machine (or DOTNET_EnableAVX2=0): the 256-bit int8 path is not tested here");
        CheckDot(Int8Kernels.DotF32S8V256, length, "dot avx2");
    }

    [SkippableTheory]
    [MemberData(nameof(Lengths))]
    public void Avx512PathMatchesReference(int length)
    {
        Skip.IfNot(Avx512F.IsSupported, "AVX-512F is not available on this machine (or DOTNET_EnableAVX512F=0): the 512-bit int8 path is not tested here");
        CheckDot(Int8Kernels.DotF32S8V512, length, "dot avx512");
        CheckL1(Int8Kernels.L1F32S8V512, length, "l1 avx512");
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void DispatchedKernelsMatchReference(int length)
    {
        CheckDot(Int8Kernels.DotF32S8, length, "dot dispatched");
        CheckL1(Int8Kernels.L1F32S8, length, "l1 dispatched");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(13)]
    public void HammingCountsDifferingBits(int words)
    {
        var random = new Random(words);
        var a = new ulong[words];
        var b = new ulong[words];
        var expected = 0;
        for (var i = 0; i < words; i++)
        {
            a[i] = (ulong)random.NextInt64();
            b[i] = i == 0 ? ~a[i] : (ulong)random.NextInt64();
            for (var bit = 0; bit < 64; bit++)
            {
                expected += (int)(((a[i] ^ b[i]) >> bit) & 1);
            }
        }

        fixed (ulong* pa = a)
        fixed (ulong* pb = b)
        {
            Assert.Equal(expected, Int8Kernels.Hamming(pa, pb, words));
            Assert.Equal(0, Int8Kernels.Hamming(pa, pa, words));
        }
    }
}
