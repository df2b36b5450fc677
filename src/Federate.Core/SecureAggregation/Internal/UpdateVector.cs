namespace Federate.Core.SecureAggregation.Internal;

/// <summary>Reads and writes blocks of a model's update (x − global) in float64, for float32 and float64 tensors.</summary>
internal static class UpdateVector
{
    /// <summary>A one-line problem when a tensor of <paramref name="model"/> is neither float32 nor float64, or null.</summary>
    public static string? Check(ArrayRecord model)
    {
        foreach (var (name, tensor) in model)
        {
            if (tensor.DType is not (DType.Float32 or DType.Float64))
            {
                return $"secure aggregation masks float32 and float64 tensors; '{name}' is {tensor.DType}";
            }
        }

        return null;
    }

    /// <summary>destination = x − global for elements [start, start + destination.Length) of one tensor.</summary>
    public static void Delta(Tensor x, Tensor global, long start, Span<double> destination)
    {
        int s = checked((int)start);
        if (global.DType == DType.Float32)
        {
            var a = x.AsSpan<float>().Slice(s, destination.Length);
            var b = global.AsSpan<float>().Slice(s, destination.Length);
            for (int i = 0; i < destination.Length; i++)
            {
                destination[i] = (double)a[i] - b[i];
            }
        }
        else
        {
            System.Numerics.Tensors.TensorPrimitives.Subtract(x.AsSpan<double>().Slice(s, destination.Length), global.AsSpan<double>().Slice(s, destination.Length), destination);
        }
    }

    /// <summary>next = global + delta (or delta alone when <paramref name="global"/> is null) for elements [start, start + delta.Length) of one tensor.</summary>
    public static void Write(Tensor? global, Tensor next, long start, ReadOnlySpan<double> delta)
    {
        int s = checked((int)start);
        if (next.DType == DType.Float32)
        {
            var g = global is null ? default : global.AsSpan<float>().Slice(s, delta.Length);
            var o = next.AsSpan<float>().Slice(s, delta.Length);
            for (int i = 0; i < delta.Length; i++)
            {
                o[i] = (float)((global is null ? 0 : g[i]) + delta[i]);
            }
        }
        else if (global is null)
        {
            delta.CopyTo(next.AsSpan<double>().Slice(s, delta.Length));
        }
        else
        {
            System.Numerics.Tensors.TensorPrimitives.Add(global.AsSpan<double>().Slice(s, delta.Length), delta, next.AsSpan<double>().Slice(s, delta.Length));
        }
    }
}
