using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Vectorizer.Engine.Vectors.Quantization;

/// <summary>
/// Kernels over quantized codes. Lengths are multiples of 16 (codes and weights are zero-padded), so there is
/// no scalar tail on the SIMD paths. Each width is its own internal method (tested one by one against a reference);
/// the public entry point picks the widest the CPU supports.
/// </summary>
public static unsafe class Int8Kernels
{
    /// <summary>
    /// Σ w[i]·a[i] for float weights and signed byte codes (the asymmetric int8 distance: the query stays float),
    /// on the widest path the CPU has: <see cref="DotF32S8V512"/>, <see cref="DotF32S8V256"/> or <see cref="DotF32S8Scalar"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float DotF32S8(float* w, sbyte* a, int length) =>
        Avx512F.IsSupported ? DotF32S8V512(w, a, length)
        : Avx2.IsSupported && Fma.IsSupported ? DotF32S8V256(w, a, length)
        : DotF32S8Scalar(w, a, length);

    /// <summary>AVX-512: 16 codes sign-extended to int32, converted and fused-multiply-added per step, two accumulators.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float DotF32S8V512(float* w, sbyte* a, int length)
    {
        var i = 0;
        var acc0 = Vector512<float>.Zero;
        var acc1 = Vector512<float>.Zero;
        for (; i + 32 <= length; i += 32)
        {
            acc0 = Avx512F.FusedMultiplyAdd(Widen512(a + i), Avx512F.LoadVector512(w + i), acc0);
            acc1 = Avx512F.FusedMultiplyAdd(Widen512(a + i + 16), Avx512F.LoadVector512(w + i + 16), acc1);
        }

        if (i < length)
        {
            acc0 = Avx512F.FusedMultiplyAdd(Widen512(a + i), Avx512F.LoadVector512(w + i), acc0);
        }

        return Vector512.Sum(acc0 + acc1);
    }

    /// <summary>AVX2 + FMA: 8 codes per step.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float DotF32S8V256(float* w, sbyte* a, int length)
    {
        var acc = Vector256<float>.Zero;
        for (var i = 0; i + 8 <= length; i += 8)
        {
            acc = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(a + i)), Avx.LoadVector256(w + i), acc);
        }

        return Vector256.Sum(acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float DotF32S8Scalar(float* w, sbyte* a, int length)
    {
        var sum = 0f;
        for (var i = 0; i < length; i++)
        {
            sum += w[i] * a[i];
        }

        return sum;
    }

    /// <summary>Σ |d[i] − α[i]·a[i]|: the asymmetric int8 Manhattan distance (d = query − centre).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float L1F32S8(float* d, float* alpha, sbyte* a, int length) =>
        Avx512F.IsSupported ? L1F32S8V512(d, alpha, a, length) : L1F32S8Scalar(d, alpha, a, length);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float L1F32S8V512(float* d, float* alpha, sbyte* a, int length)
    {
        var acc = Vector512<float>.Zero;
        for (var i = 0; i < length; i += 16)
        {
            var diff = Avx512F.FusedMultiplyAddNegated(Avx512F.LoadVector512(alpha + i), Widen512(a + i), Avx512F.LoadVector512(d + i));
            acc += Vector512.Abs(diff);
        }

        return Vector512.Sum(acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float L1F32S8Scalar(float* d, float* alpha, sbyte* a, int length)
    {
        var sum = 0f;
        for (var i = 0; i < length; i++)
        {
            sum += MathF.Abs(d[i] - (alpha[i] * a[i]));
        }

        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Widen512(sbyte* a) =>
        Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Sse2.LoadVector128(a)));

    /// <summary>Hamming distance between two bit strings of <paramref name="words"/> 64-bit words.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Hamming(ulong* a, ulong* b, int words)
    {
        var sum = 0;
        for (var i = 0; i < words; i++)
        {
            sum += System.Numerics.BitOperations.PopCount(a[i] ^ b[i]);
        }

        return sum;
    }
}
