using System.Globalization;
using Federate.Core.Compression.Internal;

namespace Federate.Core.Compression;

/// <summary>
/// A lossy encoding of a float32 update tensor, block by block: the elements are cut into blocks of
/// <see cref="BlockSize"/> (the last one may be shorter) and each block is encoded on its own into a fixed number of
/// bytes (<see cref="EncodedBlockLength"/>), with its own scale where the codec has one. A block can therefore be
/// decoded as soon as its bytes arrived, whatever the transport's chunk size, and the encoded size of a tensor is
/// known from its element count alone. Built-in codecs: <c>fp16</c> (half floats scaled per block), <c>int8</c>
/// (8-bit integers scaled per block) and <c>topk:F</c> (the fraction F of each block's largest magnitudes, with their
/// block-local indices). Get one with <see cref="Parse"/>.
/// </summary>
public abstract class UpdateCodec
{
    /// <summary>Elements per block: each block carries its own scale (fp16, int8) or its own top-k selection.</summary>
    public const int BlockSize = 1024;

    private protected UpdateCodec()
    {
    }

    /// <summary>The codec as written in the run setting 'update_compression': <c>fp16</c>, <c>int8</c> or <c>topk:F</c>.</summary>
    public abstract string Name { get; }

    /// <summary>
    /// The codec named by <paramref name="spec"/> (<c>none</c>, <c>fp16</c>, <c>int8</c>, <c>topk:F</c> with F in
    /// (0, 1], <c>topk</c> meaning <c>topk:0.01</c>); null for <c>none</c>, empty or null.
    /// </summary>
    /// <exception cref="ArgumentException">An unknown codec or a bad fraction (one-line message naming 'update_compression').</exception>
    public static UpdateCodec? Parse(string? spec)
    {
        var text = spec?.Trim().ToLowerInvariant();
        switch (text)
        {
            case null or "" or "none":
                return null;
            case "fp16":
                return Fp16Codec.Instance;
            case "int8":
                return Int8Codec.Instance;
            case "topk":
                return new TopKCodec(0.01);
        }

        if (text.StartsWith("topk:", StringComparison.Ordinal))
        {
            var value = text["topk:".Length..];
            if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var fraction) && fraction > 0 && fraction <= 1)
            {
                return new TopKCodec(fraction);
            }

            throw new ArgumentException($"'update_compression' topk needs a fraction in (0, 1], got '{value}'; use e.g. topk:0.01");
        }

        throw new ArgumentException($"'update_compression' must be none, fp16, int8 or topk:F (F in (0, 1]), got '{spec}'");
    }

    /// <summary>True when tensors of <paramref name="dtype"/> are encoded (float32); others travel as they are.</summary>
    public static bool Compresses(DType dtype) => dtype == DType.Float32;

    /// <summary>Bytes of one encoded block of <paramref name="elements"/> elements (1 to <see cref="BlockSize"/>).</summary>
    public abstract int EncodedBlockLength(int elements);

    /// <summary>Bytes of an encoded tensor of <paramref name="elements"/> elements.</summary>
    public long EncodedLength(long elements)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(elements);
        long full = elements / BlockSize;
        int rest = (int)(elements % BlockSize);
        return (full * EncodedBlockLength(BlockSize)) + (rest > 0 ? EncodedBlockLength(rest) : 0);
    }

    /// <summary>Encodes one block (1 to <see cref="BlockSize"/> values) into exactly <see cref="EncodedBlockLength"/> bytes.</summary>
    public abstract void EncodeBlock(ReadOnlySpan<float> values, Span<byte> destination);

    /// <summary>
    /// Decodes one block into <paramref name="destination"/> (its length is the block's element count). Returns null,
    /// or a one-line problem when the bytes are not a valid block (a NaN, infinite or negative scale, a code out of
    /// range, indices out of order...): hostile input is refused, never decoded into garbage.
    /// </summary>
    public abstract string? DecodeBlock(ReadOnlySpan<byte> source, Span<float> destination);

    /// <summary>Encodes a whole tensor's values into <see cref="EncodedLength"/> bytes.</summary>
    public void Encode(ReadOnlySpan<float> values, Span<byte> destination)
    {
        if (destination.Length != EncodedLength(values.Length))
        {
            throw new ArgumentException($"the destination holds {destination.Length} bytes; {Name} encodes {values.Length} values into {EncodedLength(values.Length)}", nameof(destination));
        }

        int at = 0;
        for (int start = 0; start < values.Length; start += BlockSize)
        {
            var block = values.Slice(start, Math.Min(BlockSize, values.Length - start));
            int length = EncodedBlockLength(block.Length);
            EncodeBlock(block, destination.Slice(at, length));
            at += length;
        }
    }

    /// <summary>Decodes a whole encoded tensor into <paramref name="destination"/>; null, or the first block's problem.</summary>
    public string? Decode(ReadOnlySpan<byte> source, Span<float> destination)
    {
        if (source.Length != EncodedLength(destination.Length))
        {
            return $"{source.Length} bytes do not encode {destination.Length} values with {Name} ({EncodedLength(destination.Length)} bytes)";
        }

        int at = 0;
        for (int start = 0, block = 0; start < destination.Length; start += BlockSize, block++)
        {
            var values = destination.Slice(start, Math.Min(BlockSize, destination.Length - start));
            int length = EncodedBlockLength(values.Length);
            if (DecodeBlock(source.Slice(at, length), values) is { } problem)
            {
                return $"block {block}: {problem}";
            }

            at += length;
        }

        return null;
    }

    /// <inheritdoc />
    public override string ToString() => Name;
}
