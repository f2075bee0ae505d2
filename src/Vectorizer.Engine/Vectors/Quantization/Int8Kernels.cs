using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Vectorizer.Engine.Vectors.Quantization;

/// <summary>
/// Integer kernels over quantized codes. Lengths are multiples of 16 (codes are zero-padded), so there is no
/// scalar tail on the SIMD paths.
/// </summary>
public static unsafe class Int8Kernels
{
    /// <summary>
    /// Σ q[i]·v[i] for an unsigned query and signed codes: one <c>vpdpbusd</c> per 32 bytes with AVX-VNNI, else
    /// widening to 16 bits and <c>vpmaddwd</c>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int DotU8S8(byte* q, sbyte* v, int length)
    {
        var i = 0;
        if (AvxVnni.IsSupported)
        {
            var acc = Vector256<int>.Zero;
            for (; i + 32 <= length; i += 32)
            {
                acc = AvxVnni.MultiplyWideningAndAdd(acc, Avx.LoadVector256(q + i), Avx.LoadVector256(v + i));
            }

            if (i < length)
            {
                var tail = AvxVnni.MultiplyWideningAndAdd(Vector128<int>.Zero, Sse2.LoadVector128(q + i), Sse2.LoadVector128(v + i));
                acc = Avx2.Add(acc, Vector256.Create(tail, Vector128<int>.Zero));
                i = length;
            }

            return Vector256.Sum(acc);
        }

        if (Avx2.IsSupported)
        {
            var acc = Vector256<int>.Zero;
            for (; i + 16 <= length; i += 16)
            {
                var a = Avx2.ConvertToVector256Int16(q + i);
                var b = Avx2.ConvertToVector256Int16(v + i);
                acc = Avx2.Add(acc, Avx2.MultiplyAddAdjacent(a, b));
            }

            return Vector256.Sum(acc);
        }

        var sum = 0;
        for (; i < length; i++)
        {
            sum += q[i] * v[i];
        }

        return sum;
    }

    /// <summary>Σ |q[i] − v[i]| for codes stored with a +128 bias (unsigned): <c>vpsadbw</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int SumAbsDiff(byte* q, byte* v, int length)
    {
        var i = 0;
        if (Avx2.IsSupported)
        {
            var acc = Vector256<ulong>.Zero;
            for (; i + 32 <= length; i += 32)
            {
                acc = Avx2.Add(acc, Avx2.SumAbsoluteDifferences(Avx.LoadVector256(q + i), Avx.LoadVector256(v + i)).AsUInt64());
            }

            var total = (int)Vector256.Sum(acc);
            if (i < length)
            {
                total += (int)Vector128.Sum(Sse2.SumAbsoluteDifferences(Sse2.LoadVector128(q + i), Sse2.LoadVector128(v + i)).AsUInt64());
            }

            return total;
        }

        var sum = 0;
        for (; i < length; i++)
        {
            sum += Math.Abs(q[i] - v[i]);
        }

        return sum;
    }

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
