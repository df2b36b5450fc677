using System.Buffers.Binary;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace Federate.Core.Compression.Internal;

/// <summary>
/// 8-bit quantization with a float32 scale per block: a block is its scale (max |x| / 127, little-endian) followed
/// by one signed byte per value, round(x / scale) in [-127, 127]. About 25% of float32.
/// </summary>
internal sealed class Int8Codec : UpdateCodec
{
    public static readonly Int8Codec Instance = new();

    public override string Name => "int8";

    public override int EncodedBlockLength(int elements) => sizeof(float) + elements;

    public override void EncodeBlock(ReadOnlySpan<float> values, Span<byte> destination)
    {
        float scale = MathF.Abs(TensorPrimitives.MaxMagnitude(values)) / 127f;
        BinaryPrimitives.WriteSingleLittleEndian(destination, scale);
        var codes = destination[sizeof(float)..];
        if (!(scale > 0) || !float.IsFinite(scale))
        {
            // All zeros (or a non-finite update, which the scale already tells the server to refuse).
            codes[..values.Length].Clear();
            return;
        }

        for (int i = 0; i < values.Length; i++)
        {
            codes[i] = (byte)(sbyte)Math.Clamp(MathF.Round(values[i] / scale), -127f, 127f);
        }
    }

    public override string? DecodeBlock(ReadOnlySpan<byte> source, Span<float> destination)
    {
        float scale = BinaryPrimitives.ReadSingleLittleEndian(source);
        if (ScaleProblem(scale) is { } problem)
        {
            return problem;
        }

        var codes = source[sizeof(float)..];
        for (int i = 0; i < destination.Length; i++)
        {
            sbyte q = (sbyte)codes[i];
            if (q == sbyte.MinValue)
            {
                return $"int8 code -128 at element {i} is out of range (codes are -127 to 127)";
            }

            destination[i] = q * scale;
        }

        return null;
    }

    /// <summary>A per-block scale must be finite and not negative.</summary>
    internal static string? ScaleProblem(float scale) =>
        float.IsNaN(scale) ? "its scale is NaN"
        : float.IsInfinity(scale) ? "its scale is infinite"
        : scale < 0 ? $"its scale is negative ({scale.ToString("R", System.Globalization.CultureInfo.InvariantCulture)})"
        : null;
}
