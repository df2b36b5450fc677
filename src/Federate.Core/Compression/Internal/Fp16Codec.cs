using System.Buffers.Binary;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace Federate.Core.Compression.Internal;

/// <summary>
/// Half floats with a float32 scale per block: a block is its scale (max |x|, little-endian) followed by one
/// IEEE half per value, x / scale in [-1, 1]. The scale keeps small updates out of half's subnormal range.
/// About 50% of float32.
/// </summary>
internal sealed class Fp16Codec : UpdateCodec
{
    public static readonly Fp16Codec Instance = new();

    public override string Name => "fp16";

    public override int EncodedBlockLength(int elements) => sizeof(float) + (2 * elements);

    public override void EncodeBlock(ReadOnlySpan<float> values, Span<byte> destination)
    {
        float scale = MathF.Abs(TensorPrimitives.MaxMagnitude(values));
        BinaryPrimitives.WriteSingleLittleEndian(destination, scale);
        var halves = destination[sizeof(float)..];
        bool zero = !(scale > 0) || !float.IsFinite(scale);
        for (int i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteHalfLittleEndian(halves[(2 * i)..], zero ? default : (Half)(values[i] / scale));
        }
    }

    public override string? DecodeBlock(ReadOnlySpan<byte> source, Span<float> destination)
    {
        float scale = BinaryPrimitives.ReadSingleLittleEndian(source);
        if (Int8Codec.ScaleProblem(scale) is { } problem)
        {
            return problem;
        }

        var halves = source[sizeof(float)..];
        for (int i = 0; i < destination.Length; i++)
        {
            float h = (float)BinaryPrimitives.ReadHalfLittleEndian(halves[(2 * i)..]);
            if (!(MathF.Abs(h) <= 1f))
            {
                return $"value {i} is {h.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}, outside [-1, 1]";
            }

            destination[i] = h * scale;
        }

        return null;
    }
}
