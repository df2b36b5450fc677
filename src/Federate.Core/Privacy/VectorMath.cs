using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Federate.Core.Privacy;

/// <summary>Vectorised elementary functions for the noise generator.</summary>
internal static class VectorMath
{
    private const float Ln2 = 0.693147180559945f;

    /// <summary>
    /// Natural logarithm of positive normal floats: x = 2^e · m with m in [√½, √2), ln m = 2·atanh((m−1)/(m+1)) by
    /// its odd series to s⁹ (|s| ≤ 0.172, truncation below 1e-9), so the error is float rounding.
    /// </summary>
    public static void Log(ReadOnlySpan<float> x, Span<float> destination)
    {
        int i = 0;
        for (; i + 16 <= x.Length; i += 16)
        {
            Log(Vector512.LoadUnsafe(ref Unsafe.AsRef(in x[i]))).StoreUnsafe(ref destination[i]);
        }

        for (; i < x.Length; i++)
        {
            destination[i] = MathF.Log(x[i]);
        }
    }

    /// <summary>The natural logarithm of 16 positive normal floats, as <see cref="Log(ReadOnlySpan{float}, Span{float})"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Log(Vector512<float> v)
    {
        var one = Vector512.Create(1f);
        var bits = v.AsInt32();
        var e = Vector512.ConvertToSingle(Vector512.ShiftRightLogical(bits, 23) - Vector512.Create(127));
        var m = ((bits & Vector512.Create(0x007FFFFF)) | Vector512.Create(0x3F800000)).AsSingle();
        var big = Vector512.GreaterThanOrEqual(m, Vector512.Create(1.41421356f));
        m = Vector512.ConditionalSelect(big, m * Vector512.Create(0.5f), m);
        e = Vector512.ConditionalSelect(big, e + one, e);
        var s = (m - one) / (m + one);
        var s2 = s * s;
        var p = Vector512.Create(1f / 9);
        p = (p * s2) + Vector512.Create(1f / 7);
        p = (p * s2) + Vector512.Create(1f / 5);
        p = (p * s2) + Vector512.Create(1f / 3);
        p = (p * s2) + one;
        return (e * Vector512.Create(Ln2)) + (Vector512.Create(2f) * s * p);
    }
}
