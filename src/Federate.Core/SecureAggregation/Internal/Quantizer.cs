using System.Numerics.Tensors;

namespace Federate.Core.SecureAggregation.Internal;

/// <summary>
/// Maps values in [−c, c] (clipped first) to the integers 0..Q−1 by rounding to the nearest of Q evenly spaced levels,
/// and maps a sum of k such integers back to the sum of the values. The rounding error is at most c / (Q − 1) per
/// value, so at most k · c / (Q − 1) in a sum of k values.
/// </summary>
internal readonly struct Quantizer(double clip, long levels)
{
    private readonly double _scale = (levels - 1) / (2 * clip);

    /// <summary>The largest error of one quantized value: half a level step.</summary>
    public double MaxError => clip / (levels - 1);

    /// <summary>Quantizes <paramref name="value"/> (clipped to [−c, c]).</summary>
    public uint Quantize(double value)
    {
        double v = Math.Clamp(value, -clip, clip);
        return (uint)Math.Min(levels - 1, Math.Round((v + clip) * _scale, MidpointRounding.AwayFromZero));
    }

    /// <summary>Quantizes a block of values.</summary>
    public void Quantize(ReadOnlySpan<double> values, Span<uint> destination)
    {
        for (int i = 0; i < values.Length; i++)
        {
            destination[i] = Quantize(values[i]);
        }
    }

    /// <summary>The sum of <paramref name="count"/> values whose quantized integers sum to <paramref name="sum"/>.</summary>
    public double Dequantize(uint sum, int count) => (sum / _scale) - (count * clip);

    /// <summary>Dequantizes a block of sums of <paramref name="count"/> values.</summary>
    public void Dequantize(ReadOnlySpan<uint> sums, int count, Span<double> destination)
    {
        for (int i = 0; i < sums.Length; i++)
        {
            destination[i] = sums[i];
        }

        TensorPrimitives.Multiply(destination, 1 / _scale, destination);
        TensorPrimitives.Add(destination, -count * clip, destination);
    }
}
