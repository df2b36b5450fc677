using System.Numerics.Tensors;
using Tensor = Federate.Core.Records.Tensor;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Federate.Core.Aggregation;

/// <summary>Memory-speed kernels for folding updates into running sums (TensorPrimitives, Vector512/256).</summary>
public static class AggregationKernels
{
    /// <summary><c>acc[i] += weight * x[i]</c>.</summary>
    public static void FoldWeighted(Span<float> acc, ReadOnlySpan<float> x, float weight)
    {
        if (acc.Length != x.Length)
        {
            throw new ArgumentException("Update and accumulator lengths differ.", nameof(x));
        }

        TensorPrimitives.MultiplyAdd(x, weight, acc, acc);
    }

    /// <summary><c>acc[i] += weight * x[i]</c> for float64.</summary>
    public static void FoldWeighted(Span<double> acc, ReadOnlySpan<double> x, double weight)
    {
        if (acc.Length != x.Length)
        {
            throw new ArgumentException("Update and accumulator lengths differ.", nameof(x));
        }

        TensorPrimitives.MultiplyAdd(x, weight, acc, acc);
    }

    /// <summary><c>acc[i] *= scale</c>.</summary>
    public static void Scale(Span<float> acc, float scale) => TensorPrimitives.Multiply(acc, scale, acc);

    /// <summary><c>acc[i] *= scale</c> for float64.</summary>
    public static void Scale(Span<double> acc, double scale) => TensorPrimitives.Multiply(acc, scale, acc);

    /// <summary>True when every element is finite (no NaN, no infinity): one vectorised read of the data.</summary>
    public static bool AllFinite(ReadOnlySpan<float> x)
    {
        // A float is NaN or infinite exactly when its exponent bits are all ones.
        var bits = MemoryMarshal.Cast<float, uint>(x);
        int i = 0;
        if (Vector512.IsHardwareAccelerated && bits.Length >= Vector512<uint>.Count * 4)
        {
            var mask = Vector512.Create(0x7F800000u);
            ref uint start = ref MemoryMarshal.GetReference(bits);
            int step = Vector512<uint>.Count;
            for (; i <= bits.Length - (4 * step); i += 4 * step)
            {
                var a = Vector512.Equals(Vector512.LoadUnsafe(ref start, (nuint)i) & mask, mask);
                var b = Vector512.Equals(Vector512.LoadUnsafe(ref start, (nuint)(i + step)) & mask, mask);
                var c = Vector512.Equals(Vector512.LoadUnsafe(ref start, (nuint)(i + (2 * step))) & mask, mask);
                var d = Vector512.Equals(Vector512.LoadUnsafe(ref start, (nuint)(i + (3 * step))) & mask, mask);
                if ((a | b | c | d) != Vector512<uint>.Zero)
                {
                    return false;
                }
            }
        }
        else if (Vector256.IsHardwareAccelerated && bits.Length >= Vector256<uint>.Count)
        {
            var mask = Vector256.Create(0x7F800000u);
            ref uint start = ref MemoryMarshal.GetReference(bits);
            int step = Vector256<uint>.Count;
            for (; i <= bits.Length - step; i += step)
            {
                if (Vector256.Equals(Vector256.LoadUnsafe(ref start, (nuint)i) & mask, mask) != Vector256<uint>.Zero)
                {
                    return false;
                }
            }
        }

        for (; i < bits.Length; i++)
        {
            if ((bits[i] & 0x7F800000u) == 0x7F800000u)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>True when every element is finite (no NaN, no infinity).</summary>
    public static bool AllFinite(ReadOnlySpan<double> x)
    {
        foreach (var v in x)
        {
            if (!double.IsFinite(v))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>True when every floating-point element of the tensor is finite; integer tensors always are.</summary>
    public static bool AllFinite(Tensor t) => t.DType switch
    {
        DType.Float32 => AllFinite(t.AsSpan<float>()),
        DType.Float64 => AllFinite(t.AsSpan<double>()),
        DType.Float16 => t.AsSpan<Half>().ToArray().All(Half.IsFinite),
        _ => true,
    };
}
