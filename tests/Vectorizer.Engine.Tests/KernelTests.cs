using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Vectorizer.Engine.Vectors;

namespace Vectorizer.Engine.Tests;

public class KernelTests
{
    public static TheoryData<int> Lengths => [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 127, 128, 129, 255, 784, 1023, 1536];

    private static (float[] A, float[] B) RandomPair(int length, int seed)
    {
        var random = new Random(seed);
        var a = new float[length];
        var b = new float[length];
        for (var i = 0; i < length; i++)
        {
            a[i] = (float)((random.NextDouble() * 2) - 1);
            b[i] = (float)((random.NextDouble() * 2) - 1);
        }

        return (a, b);
    }

    private static void AssertClose(float expected, float actual, int length)
    {
        var tolerance = 1e-5f * Math.Max(1f, Math.Abs(expected)) * MathF.Sqrt(length);
        Assert.True(Math.Abs(expected - actual) <= tolerance, $"expected {expected}, got {actual} (length {length})");
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void DispatchedKernelsMatchScalarReference(int length)
    {
        var (a, b) = RandomPair(length, length);
        AssertClose(ScalarKernels.Dot(a, b), VectorKernels.Dot(a, b), length);
        AssertClose(ScalarKernels.SquaredEuclid(a, b), VectorKernels.SquaredEuclid(a, b), length);
        AssertClose(ScalarKernels.Manhattan(a, b), VectorKernels.Manhattan(a, b), length);
    }

    // Each width on its own, at every length (the 128-bit step and the scalar loop run in every kernel's tail; lengths
    // 1..3 take the scalar loop alone). A width the CPU lacks is skipped with the reason; .ci/run runs these again
    // with AVX-512, AVX2 and all hardware intrinsics disabled, so the dispatch takes each narrower path.

    [SkippableTheory]
    [MemberData(nameof(Lengths))]
    public unsafe void Vector256PathMatchesScalarReference(int length)
    {
        Skip.IfNot(Vector256.IsHardwareAccelerated, "256-bit vectors are not accelerated on this machine (or DOTNET_EnableAVX2=0): the Vector256 kernels are not tested here");
        var (a, b) = RandomPair(length, length * 7);
        fixed (float* pa = a)
        fixed (float* pb = b)
        {
            AssertClose(ScalarKernels.Dot(a, b), VectorKernels.DotV256(pa, pb, length), length);
            AssertClose(ScalarKernels.SquaredEuclid(a, b), VectorKernels.SquaredEuclidV256(pa, pb, length), length);
            AssertClose(ScalarKernels.Manhattan(a, b), VectorKernels.ManhattanV256(pa, pb, length), length);
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Lengths))]
    public unsafe void Vector512PathMatchesScalarReference(int length)
    {
        Skip.IfNot(Vector512.IsHardwareAccelerated, "AVX-512 is not available on this machine (or DOTNET_EnableAVX512F=0): the Vector512 kernels are not tested here");
        var (a, b) = RandomPair(length, length * 11);
        fixed (float* pa = a)
        fixed (float* pb = b)
        {
            AssertClose(ScalarKernels.Dot(a, b), VectorKernels.DotV512(pa, pb, length), length);
            AssertClose(ScalarKernels.SquaredEuclid(a, b), VectorKernels.SquaredEuclidV512(pa, pb, length), length);
            AssertClose(ScalarKernels.Manhattan(a, b), VectorKernels.ManhattanV512(pa, pb, length), length);
        }
    }

    /// <summary>
    /// .ci/run runs the kernel tests again with narrower instruction sets and says which in VECTORIZER_EXPECT_ISA; this
    /// checks the runtime's knob took effect, so a knob the runtime ignores fails CI instead of testing the widest path
    /// again (on .NET 10 <c>DOTNET_EnableAVX512F=0</c> is ignored; <c>DOTNET_EnableAVX512=0</c> works).
    /// </summary>
    [SkippableFact]
    public void TheInstructionSetsCiTurnedOffAreOff()
    {
        var expected = Environment.GetEnvironmentVariable("VECTORIZER_EXPECT_ISA");
        Skip.If(string.IsNullOrEmpty(expected), "VECTORIZER_EXPECT_ISA is not set: only .ci/run's narrower-instruction-set runs check this");
        switch (expected)
        {
            case "no-avx512":
                Assert.False(Vector512.IsHardwareAccelerated || Avx512F.IsSupported, "AVX-512 is still on");
                break;
            case "no-avx2":
                Assert.False(Vector256.IsHardwareAccelerated || Avx2.IsSupported || Avx512F.IsSupported, "AVX2 is still on");
                break;
            case "scalar":
                Assert.False(Vector128.IsHardwareAccelerated || Vector256.IsHardwareAccelerated || Vector512.IsHardwareAccelerated, "hardware intrinsics are still on");
                break;
            default:
                Assert.Fail($"unknown VECTORIZER_EXPECT_ISA `{expected}` (no-avx512, no-avx2 or scalar)");
                break;
        }
    }

    [Fact]
    public void NormalizeMakesUnitLengthAndKeepsZero()
    {
        var v = new float[] { 3, 4 };
        VectorKernels.Normalize(v);
        Assert.Equal(0.6f, v[0], 5);
        Assert.Equal(0.8f, v[1], 5);
        var zero = new float[3];
        VectorKernels.Normalize(zero);
        Assert.All(zero, x => Assert.Equal(0f, x));
    }

    [Fact]
    public void ScoresFollowQdrantConventions()
    {
        Assert.Equal(0.5f, Distance.Dot.ToScore(-0.5f));
        Assert.Equal(2f, Distance.Euclid.ToScore(4f));
        Assert.Equal(3f, Distance.Manhattan.ToScore(3f));
    }
}
