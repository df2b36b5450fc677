using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Federate.Core.Privacy;

/// <summary>
/// Eight independent xoshiro256** streams advanced together in 512-bit vectors (emulated where AVX-512 is missing) (integer shifts, adds and xors only,
/// so the numbers are the same on every machine). Each 64-bit output gives two floats.
/// </summary>
internal sealed class VectorXoshiro
{
    private Vector512<ulong> _s0;
    private Vector512<ulong> _s1;
    private Vector512<ulong> _s2;
    private Vector512<ulong> _s3;

    /// <summary>Seeds the four lanes from a SplitMix64 state.</summary>
    public VectorXoshiro(ref ulong splitMix)
    {
        Span<ulong> seeds = stackalloc ulong[32];
        for (int i = 0; i < seeds.Length; i++)
        {
            splitMix += 0x9E3779B97F4A7C15UL;
            ulong z = splitMix;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            seeds[i] = z ^ (z >> 31);
        }

        _s0 = Vector512.Create<ulong>(seeds[..8]);
        _s1 = Vector512.Create<ulong>(seeds[8..16]);
        _s2 = Vector512.Create<ulong>(seeds[16..24]);
        _s3 = Vector512.Create<ulong>(seeds[24..]);
    }

    /// <summary>
    /// Fills <paramref name="destination"/> (length a multiple of 16) with floats uniform on (-1, 1): the centres of
    /// 2^24 equal cells, symmetric about 0 and never 0 or ±1.
    /// </summary>
    public void Fill(float[] destination)
    {
        var scale = Vector512.Create(1f / (1 << 23));
        var minusOffset = Vector512.Create(-(1f - (0.5f / (1 << 23))));
        ref float d = ref destination[0];
        var s0 = _s0;
        var s1 = _s1;
        var s2 = _s2;
        var s3 = _s3;
        for (int i = 0; i + 16 <= destination.Length; i += 16)
        {
            // result = rotl(s1 * 5, 7) * 9, with the products as shifts and adds; then the xoshiro256 state update.
            var x5 = Vector512.ShiftLeft(s1, 2) + s1;
            var r = RotateLeft(x5, 7);
            var result = Vector512.ShiftLeft(r, 3) + r;
            var t = Vector512.ShiftLeft(s1, 17);
            s2 ^= s0;
            s3 ^= s1;
            s1 ^= s2;
            s0 ^= s3;
            s2 ^= t;
            s3 = RotateLeft(s3, 45);

            // top · 2^-23 is exact (top < 2^24), so the fused multiply-add rounds once, exactly as multiply then subtract.
            var top = Vector512.ShiftRightLogical(result.AsUInt32(), 8).AsInt32();
            var u = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(top), scale, minusOffset);
            u.StoreUnsafe(ref Unsafe.Add(ref d, i));
        }

        _s0 = s0;
        _s1 = s1;
        _s2 = s2;
        _s3 = s3;
    }

    /// <summary>Rotates each lane left by <paramref name="count"/> bits (one instruction with AVX-512).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<ulong> RotateLeft(Vector512<ulong> x, [ConstantExpected] byte count) =>
        Avx512F.IsSupported
            ? Avx512F.RotateLeft(x, count)
            : Vector512.ShiftLeft(x, count) | Vector512.ShiftRightLogical(x, 64 - count);
}
