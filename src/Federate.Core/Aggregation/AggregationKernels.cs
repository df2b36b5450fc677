using System.Numerics.Tensors;

namespace Federate.Core;

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

    /// <summary>True when every element is finite (no NaN, no infinity).</summary>
    public static bool AllFinite(ReadOnlySpan<float> x)
    {
        // x - x is 0 for finite values and NaN for NaN and infinities; the sum stays 0 only if all are finite.
        const int Block = 4096;
        Span<float> scratch = stackalloc float[Block];
        for (int i = 0; i < x.Length; i += Block)
        {
            var slice = x.Slice(i, Math.Min(Block, x.Length - i));
            var s = scratch[..slice.Length];
            TensorPrimitives.Subtract(slice, slice, s);
            if (TensorPrimitives.Sum(s) != 0f)
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
