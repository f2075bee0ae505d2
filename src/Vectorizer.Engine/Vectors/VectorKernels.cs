using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Vectorizer.Engine.Vectors;

/// <summary>
/// SIMD distance kernels over float32. Each kernel has a Vector512 body and a Vector256 body with four
/// independent accumulators (to hide FMA latency), then a Vector128 step and a scalar tail, so any length
/// works. <see cref="Dot(float*, float*, int)"/> and friends pick the widest path the CPU accelerates.
/// </summary>
public static unsafe class VectorKernels
{
    public static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        CheckLengths(a, b);
        fixed (float* pa = a)
        fixed (float* pb = b)
        {
            return Dot(pa, pb, a.Length);
        }
    }

    public static float SquaredEuclid(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        CheckLengths(a, b);
        fixed (float* pa = a)
        fixed (float* pb = b)
        {
            return SquaredEuclid(pa, pb, a.Length);
        }
    }

    public static float Manhattan(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        CheckLengths(a, b);
        fixed (float* pa = a)
        fixed (float* pb = b)
        {
            return Manhattan(pa, pb, a.Length);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Dot(float* a, float* b, int n) =>
        Vector512.IsHardwareAccelerated && n >= 16 ? DotV512(a, b, n)
        : Vector256.IsHardwareAccelerated && n >= 8 ? DotV256(a, b, n)
        : DotTail(a, b, 0, n, 0f);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float SquaredEuclid(float* a, float* b, int n) =>
        Vector512.IsHardwareAccelerated && n >= 16 ? SquaredEuclidV512(a, b, n)
        : Vector256.IsHardwareAccelerated && n >= 8 ? SquaredEuclidV256(a, b, n)
        : SquaredEuclidTail(a, b, 0, n, 0f);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Manhattan(float* a, float* b, int n) =>
        Vector512.IsHardwareAccelerated && n >= 16 ? ManhattanV512(a, b, n)
        : Vector256.IsHardwareAccelerated && n >= 8 ? ManhattanV256(a, b, n)
        : ManhattanTail(a, b, 0, n, 0f);

    // ---------------------------------------------------------------- dot

    internal static float DotV512(float* a, float* b, int n)
    {
        var s0 = Vector512<float>.Zero;
        var s1 = Vector512<float>.Zero;
        var s2 = Vector512<float>.Zero;
        var s3 = Vector512<float>.Zero;
        var i = 0;
        for (; i <= n - 64; i += 64)
        {
            s0 = Vector512.FusedMultiplyAdd(Vector512.Load(a + i), Vector512.Load(b + i), s0);
            s1 = Vector512.FusedMultiplyAdd(Vector512.Load(a + i + 16), Vector512.Load(b + i + 16), s1);
            s2 = Vector512.FusedMultiplyAdd(Vector512.Load(a + i + 32), Vector512.Load(b + i + 32), s2);
            s3 = Vector512.FusedMultiplyAdd(Vector512.Load(a + i + 48), Vector512.Load(b + i + 48), s3);
        }

        for (; i <= n - 16; i += 16)
        {
            s0 = Vector512.FusedMultiplyAdd(Vector512.Load(a + i), Vector512.Load(b + i), s0);
        }

        var sum = HorizontalSum((s0 + s1) + (s2 + s3));
        return DotTail(a, b, i, n, sum);
    }

    internal static float DotV256(float* a, float* b, int n)
    {
        var s0 = Vector256<float>.Zero;
        var s1 = Vector256<float>.Zero;
        var s2 = Vector256<float>.Zero;
        var s3 = Vector256<float>.Zero;
        var i = 0;
        for (; i <= n - 32; i += 32)
        {
            s0 = Vector256.FusedMultiplyAdd(Vector256.Load(a + i), Vector256.Load(b + i), s0);
            s1 = Vector256.FusedMultiplyAdd(Vector256.Load(a + i + 8), Vector256.Load(b + i + 8), s1);
            s2 = Vector256.FusedMultiplyAdd(Vector256.Load(a + i + 16), Vector256.Load(b + i + 16), s2);
            s3 = Vector256.FusedMultiplyAdd(Vector256.Load(a + i + 24), Vector256.Load(b + i + 24), s3);
        }

        for (; i <= n - 8; i += 8)
        {
            s0 = Vector256.FusedMultiplyAdd(Vector256.Load(a + i), Vector256.Load(b + i), s0);
        }

        var sum = HorizontalSum((s0 + s1) + (s2 + s3));
        return DotTail(a, b, i, n, sum);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float DotTail(float* a, float* b, int i, int n, float sum)
    {
        if (Vector128.IsHardwareAccelerated && i <= n - 4)
        {
            var s = Vector128<float>.Zero;
            for (; i <= n - 4; i += 4)
            {
                s = Vector128.FusedMultiplyAdd(Vector128.Load(a + i), Vector128.Load(b + i), s);
            }

            sum += Vector128.Sum(s);
        }

        for (; i < n; i++)
        {
            sum = MathF.FusedMultiplyAdd(a[i], b[i], sum);
        }

        return sum;
    }

    // ---------------------------------------------------------------- squared euclid

    internal static float SquaredEuclidV512(float* a, float* b, int n)
    {
        var s0 = Vector512<float>.Zero;
        var s1 = Vector512<float>.Zero;
        var s2 = Vector512<float>.Zero;
        var s3 = Vector512<float>.Zero;
        var i = 0;
        for (; i <= n - 64; i += 64)
        {
            var d0 = Vector512.Load(a + i) - Vector512.Load(b + i);
            var d1 = Vector512.Load(a + i + 16) - Vector512.Load(b + i + 16);
            var d2 = Vector512.Load(a + i + 32) - Vector512.Load(b + i + 32);
            var d3 = Vector512.Load(a + i + 48) - Vector512.Load(b + i + 48);
            s0 = Vector512.FusedMultiplyAdd(d0, d0, s0);
            s1 = Vector512.FusedMultiplyAdd(d1, d1, s1);
            s2 = Vector512.FusedMultiplyAdd(d2, d2, s2);
            s3 = Vector512.FusedMultiplyAdd(d3, d3, s3);
        }

        for (; i <= n - 16; i += 16)
        {
            var d = Vector512.Load(a + i) - Vector512.Load(b + i);
            s0 = Vector512.FusedMultiplyAdd(d, d, s0);
        }

        var sum = HorizontalSum((s0 + s1) + (s2 + s3));
        return SquaredEuclidTail(a, b, i, n, sum);
    }

    internal static float SquaredEuclidV256(float* a, float* b, int n)
    {
        var s0 = Vector256<float>.Zero;
        var s1 = Vector256<float>.Zero;
        var s2 = Vector256<float>.Zero;
        var s3 = Vector256<float>.Zero;
        var i = 0;
        for (; i <= n - 32; i += 32)
        {
            var d0 = Vector256.Load(a + i) - Vector256.Load(b + i);
            var d1 = Vector256.Load(a + i + 8) - Vector256.Load(b + i + 8);
            var d2 = Vector256.Load(a + i + 16) - Vector256.Load(b + i + 16);
            var d3 = Vector256.Load(a + i + 24) - Vector256.Load(b + i + 24);
            s0 = Vector256.FusedMultiplyAdd(d0, d0, s0);
            s1 = Vector256.FusedMultiplyAdd(d1, d1, s1);
            s2 = Vector256.FusedMultiplyAdd(d2, d2, s2);
            s3 = Vector256.FusedMultiplyAdd(d3, d3, s3);
        }

        for (; i <= n - 8; i += 8)
        {
            var d = Vector256.Load(a + i) - Vector256.Load(b + i);
            s0 = Vector256.FusedMultiplyAdd(d, d, s0);
        }

        var sum = HorizontalSum((s0 + s1) + (s2 + s3));
        return SquaredEuclidTail(a, b, i, n, sum);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float SquaredEuclidTail(float* a, float* b, int i, int n, float sum)
    {
        if (Vector128.IsHardwareAccelerated && i <= n - 4)
        {
            var s = Vector128<float>.Zero;
            for (; i <= n - 4; i += 4)
            {
                var d = Vector128.Load(a + i) - Vector128.Load(b + i);
                s = Vector128.FusedMultiplyAdd(d, d, s);
            }

            sum += Vector128.Sum(s);
        }

        for (; i < n; i++)
        {
            var d = a[i] - b[i];
            sum = MathF.FusedMultiplyAdd(d, d, sum);
        }

        return sum;
    }

    // ---------------------------------------------------------------- manhattan

    internal static float ManhattanV512(float* a, float* b, int n)
    {
        var s0 = Vector512<float>.Zero;
        var s1 = Vector512<float>.Zero;
        var i = 0;
        for (; i <= n - 32; i += 32)
        {
            s0 += Vector512.Abs(Vector512.Load(a + i) - Vector512.Load(b + i));
            s1 += Vector512.Abs(Vector512.Load(a + i + 16) - Vector512.Load(b + i + 16));
        }

        for (; i <= n - 16; i += 16)
        {
            s0 += Vector512.Abs(Vector512.Load(a + i) - Vector512.Load(b + i));
        }

        var sum = HorizontalSum(s0 + s1);
        return ManhattanTail(a, b, i, n, sum);
    }

    internal static float ManhattanV256(float* a, float* b, int n)
    {
        var s0 = Vector256<float>.Zero;
        var s1 = Vector256<float>.Zero;
        var i = 0;
        for (; i <= n - 16; i += 16)
        {
            s0 += Vector256.Abs(Vector256.Load(a + i) - Vector256.Load(b + i));
            s1 += Vector256.Abs(Vector256.Load(a + i + 8) - Vector256.Load(b + i + 8));
        }

        for (; i <= n - 8; i += 8)
        {
            s0 += Vector256.Abs(Vector256.Load(a + i) - Vector256.Load(b + i));
        }

        var sum = HorizontalSum(s0 + s1);
        return ManhattanTail(a, b, i, n, sum);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float ManhattanTail(float* a, float* b, int i, int n, float sum)
    {
        if (Vector128.IsHardwareAccelerated && i <= n - 4)
        {
            var s = Vector128<float>.Zero;
            for (; i <= n - 4; i += 4)
            {
                s += Vector128.Abs(Vector128.Load(a + i) - Vector128.Load(b + i));
            }

            sum += Vector128.Sum(s);
        }

        for (; i < n; i++)
        {
            sum += MathF.Abs(a[i] - b[i]);
        }

        return sum;
    }

    // ---------------------------------------------------------------- helpers

    /// <summary>Folds halves down to 128 bits before the final shuffle-add (cheaper than the generic Sum expansion).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float HorizontalSum(Vector512<float> v) => HorizontalSum(v.GetLower() + v.GetUpper());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float HorizontalSum(Vector256<float> v) => Vector128.Sum(v.GetLower() + v.GetUpper());

    /// <summary>Scales <paramref name="v"/> to unit length in place; a zero vector stays zero.</summary>
    public static void Normalize(Span<float> v)
    {
        var norm = System.Numerics.Tensors.TensorPrimitives.Norm(v);
        if (norm > 0 && float.IsFinite(norm))
        {
            System.Numerics.Tensors.TensorPrimitives.Divide(v, norm, v);
        }
    }

    /// <summary>True when every component is a finite number (no NaN, no ±Infinity).</summary>
    public static bool AllFinite(ReadOnlySpan<float> v)
    {
        for (var i = 0; i < v.Length; i++)
        {
            if (!float.IsFinite(v[i]))
            {
                return false;
            }
        }

        return true;
    }

    private static void CheckLengths(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length)
        {
            throw new ArgumentException("Vectors must have the same length.");
        }
    }
}
