namespace Vectorizer.Engine.Vectors;

/// <summary>Plain loops, the reference the SIMD kernels are tested against. Not used on hot paths.</summary>
public static class ScalarKernels
{
    public static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double sum = 0;
        for (var i = 0; i < a.Length; i++)
        {
            sum += (double)a[i] * b[i];
        }

        return (float)sum;
    }

    public static float SquaredEuclid(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double sum = 0;
        for (var i = 0; i < a.Length; i++)
        {
            double d = a[i] - b[i];
            sum += d * d;
        }

        return (float)sum;
    }

    public static float Manhattan(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double sum = 0;
        for (var i = 0; i < a.Length; i++)
        {
            sum += Math.Abs((double)a[i] - b[i]);
        }

        return (float)sum;
    }
}
