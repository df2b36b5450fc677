using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;

namespace Federate.Core.Compression.Internal;

/// <summary>
/// Top-k sparsification per block: a block of n values keeps its k = ceil(F·n) largest magnitudes (ties: the lower
/// index), written as k little-endian uint16 block-local indices in increasing order followed by their k float32
/// values; the others decode to zero. With F = 0.01 about 1.6% of float32. The client's error feedback carries what
/// was left out into the next round.
/// </summary>
internal sealed class TopKCodec(double fraction) : UpdateCodec
{
    public double Fraction { get; } = fraction;

    public override string Name => "topk:" + Fraction.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Values kept in a block of <paramref name="elements"/>.</summary>
    public int Keep(int elements) => Math.Clamp((int)Math.Ceiling(Fraction * elements), 1, elements);

    public override int EncodedBlockLength(int elements) => Keep(elements) * (sizeof(ushort) + sizeof(float));

    public override void EncodeBlock(ReadOnlySpan<float> values, Span<byte> destination)
    {
        int n = values.Length;
        int k = Keep(n);
        var order = ArrayPool<int>.Shared.Rent(n);
        var magnitudes = ArrayPool<float>.Shared.Rent(n);
        try
        {
            for (int i = 0; i < n; i++)
            {
                order[i] = i;
                magnitudes[i] = MathF.Abs(values[i]);
            }

            // Largest magnitude first, ties by index: a total order, so the selection is the same on every machine.
            var m = magnitudes;
            order.AsSpan(0, n).Sort((a, b) => m[b].CompareTo(m[a]) is var c && c != 0 ? c : a.CompareTo(b));
            var kept = order.AsSpan(0, k);
            kept.Sort();
            var values_ = destination[(k * sizeof(ushort))..];
            for (int j = 0; j < k; j++)
            {
                BinaryPrimitives.WriteUInt16LittleEndian(destination[(j * sizeof(ushort))..], (ushort)kept[j]);
                BinaryPrimitives.WriteSingleLittleEndian(values_[(j * sizeof(float))..], values[kept[j]]);
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(order);
            ArrayPool<float>.Shared.Return(magnitudes);
        }
    }

    public override string? DecodeBlock(ReadOnlySpan<byte> source, Span<float> destination)
    {
        int k = Keep(destination.Length);
        destination.Clear();
        var values = source[(k * sizeof(ushort))..];
        int previous = -1;
        for (int j = 0; j < k; j++)
        {
            int index = BinaryPrimitives.ReadUInt16LittleEndian(source[(j * sizeof(ushort))..]);
            if (index <= previous || index >= destination.Length)
            {
                return $"index {index} (entry {j}) is out of order or past the block's {destination.Length} values";
            }

            float value = BinaryPrimitives.ReadSingleLittleEndian(values[(j * sizeof(float))..]);
            if (!float.IsFinite(value))
            {
                return $"value at index {index} is NaN or infinite";
            }

            destination[index] = value;
            previous = index;
        }

        return null;
    }
}
