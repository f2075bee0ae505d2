using System.Runtime.Intrinsics;
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

    [Theory]
    [MemberData(nameof(Lengths))]
    public unsafe void EachSimdWidthMatchesScalarReference(int length)
    {
        var (a, b) = RandomPair(length, length * 7);
        fixed (float* pa = a)
        fixed (float* pb = b)
        {
            if (Vector256.IsHardwareAccelerated && length >= 8)
            {
                AssertClose(ScalarKernels.Dot(a, b), VectorKernels.DotV256(pa, pb, length), length);
                AssertClose(ScalarKernels.SquaredEuclid(a, b), VectorKernels.SquaredEuclidV256(pa, pb, length), length);
                AssertClose(ScalarKernels.Manhattan(a, b), VectorKernels.ManhattanV256(pa, pb, length), length);
            }

            if (Vector512.IsHardwareAccelerated && length >= 16)
            {
                AssertClose(ScalarKernels.Dot(a, b), VectorKernels.DotV512(pa, pb, length), length);
                AssertClose(ScalarKernels.SquaredEuclid(a, b), VectorKernels.SquaredEuclidV512(pa, pb, length), length);
                AssertClose(ScalarKernels.Manhattan(a, b), VectorKernels.ManhattanV512(pa, pb, length), length);
            }
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
