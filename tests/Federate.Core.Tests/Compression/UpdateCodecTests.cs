using System.Buffers.Binary;
using Federate.Core.Compression;

namespace Federate.Core.Tests.Compression;

/// <summary>The codecs: exact encodings, per-block scales, top-k selection, and refusal of hostile bytes.</summary>
public sealed class UpdateCodecTests
{
    private static UpdateCodec Codec(string spec) => UpdateCodec.Parse(spec)!;

    [Fact]
    public void Int8_Block_ExactBytesAndValues()
    {
        var codec = Codec("int8");
        float[] values = [1f, -0.5f, 0.25f, 0f];
        var bytes = new byte[codec.EncodedLength(values.Length)];
        codec.Encode(values, bytes);

        float scale = 1f / 127f;
        Assert.Equal(8, bytes.Length);
        Assert.Equal(scale, BinaryPrimitives.ReadSingleLittleEndian(bytes));
        // round(-63.5) is -64 (to even), round(31.75) is 32.
        Assert.Equal(new byte[] { 127, unchecked((byte)-64), 32, 0 }, bytes[4..]);

        var decoded = new float[values.Length];
        Assert.Null(codec.Decode(bytes, decoded));
        Assert.Equal(new[] { 127 * scale, -64 * scale, 32 * scale, 0f }, decoded);
    }

    [Fact]
    public void Int8_TwoBlocks_EachHasItsOwnScale()
    {
        var codec = Codec("int8");
        var values = new float[UpdateCodec.BlockSize + 3];
        values[5] = -2f;       // block 0: max |x| = 2
        values[^2] = 254f;     // block 1 (3 values): max |x| = 254
        values[^1] = 127f;
        var bytes = new byte[codec.EncodedLength(values.Length)];
        Assert.Equal(4 + UpdateCodec.BlockSize + 4 + 3, bytes.Length);
        codec.Encode(values, bytes);

        Assert.Equal(2f / 127f, BinaryPrimitives.ReadSingleLittleEndian(bytes));
        Assert.Equal(2f, BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(4 + UpdateCodec.BlockSize)));
        var decoded = new float[values.Length];
        Assert.Null(codec.Decode(bytes, decoded));
        Assert.Equal(-2f, decoded[5], 6);
        Assert.Equal(254f, decoded[^2]);
        Assert.Equal(128f, decoded[^1]); // 127 / 2 = 63.5 rounds to 64 (even): 64 * 2
    }

    [Fact]
    public void Fp16_Block_ScaledHalves()
    {
        var codec = Codec("fp16");
        float[] values = [0.001f, -0.004f, 0.0005f];
        var bytes = new byte[codec.EncodedLength(values.Length)];
        Assert.Equal(4 + 6, bytes.Length);
        codec.Encode(values, bytes);
        Assert.Equal(0.004f, BinaryPrimitives.ReadSingleLittleEndian(bytes));
        Assert.Equal((Half)(-1f), BinaryPrimitives.ReadHalfLittleEndian(bytes.AsSpan(6)));

        var decoded = new float[values.Length];
        Assert.Null(codec.Decode(bytes, decoded));
        for (int i = 0; i < values.Length; i++)
        {
            Assert.Equal((float)(Half)(values[i] / 0.004f) * 0.004f, decoded[i]);
            Assert.True(MathF.Abs(decoded[i] - values[i]) <= 0.004f / 1024, $"value {i}: {decoded[i]} vs {values[i]}");
        }
    }

    [Fact]
    public void TopK_Block_KeepsLargestMagnitudesTiesByLowerIndex()
    {
        var codec = Codec("topk:0.3"); // ceil(0.3 * 10) = 3 of 10
        float[] values = [0.1f, -5f, 2f, 0f, -2f, 2f, 0.5f, 1f, -1f, 0f];
        var bytes = new byte[codec.EncodedLength(values.Length)];
        Assert.Equal(3 * 6, bytes.Length);
        codec.Encode(values, bytes);

        // -5 (index 1), then the tie of |2| at indices 2, 4 and 5 keeps 2 and 4.
        Assert.Equal(new ushort[] { 1, 2, 4 }, Enumerable.Range(0, 3).Select(j => BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(2 * j))).ToArray());
        Assert.Equal(new[] { -5f, 2f, -2f }, Enumerable.Range(0, 3).Select(j => BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(6 + (4 * j)))).ToArray());
        var decoded = new float[values.Length];
        Assert.Null(codec.Decode(bytes, decoded));
        Assert.Equal(new[] { 0f, -5f, 2f, 0f, -2f, 0f, 0f, 0f, 0f, 0f }, decoded);
    }

    [Fact]
    public void TopK_Sizes_PerBlockAtLeastOne()
    {
        var codec = Codec("topk:0.01");
        Assert.Equal("topk:0.01", codec.Name);
        Assert.Equal(11 * 6, codec.EncodedBlockLength(UpdateCodec.BlockSize)); // ceil(10.24)
        Assert.Equal(6, codec.EncodedBlockLength(7));
        Assert.Equal((2 * 11 * 6) + 6, codec.EncodedLength((2 * UpdateCodec.BlockSize) + 7));
    }

    [Theory]
    [InlineData("none", null)]
    [InlineData("", null)]
    [InlineData(" INT8 ", "int8")]
    [InlineData("fp16", "fp16")]
    [InlineData("topk", "topk:0.01")]
    [InlineData("topk:0.25", "topk:0.25")]
    [InlineData("topk:1", "topk:1")]
    public void Parse_Names(string spec, string? name) => Assert.Equal(name, UpdateCodec.Parse(spec)?.Name);

    [Theory]
    [InlineData("int4", "'update_compression' must be none, fp16, int8 or topk:F (F in (0, 1]), got 'int4'")]
    [InlineData("topk:0", "'update_compression' topk needs a fraction in (0, 1], got '0'; use e.g. topk:0.01")]
    [InlineData("topk:1.5", "'update_compression' topk needs a fraction in (0, 1], got '1.5'; use e.g. topk:0.01")]
    [InlineData("topk:abc", "'update_compression' topk needs a fraction in (0, 1], got 'abc'; use e.g. topk:0.01")]
    public void Parse_Unknown_OneLineProblem(string spec, string message)
    {
        Assert.Equal(message, Assert.Throws<ArgumentException>(() => UpdateCodec.Parse(spec)).Message);
        Assert.Equal(message, UpdateCompression.Validate(spec));
    }

    [Fact]
    public void Check_WithSecAgg_Refused()
    {
        Assert.Null(UpdateCompression.Check("none", secureAggregation: true));
        Assert.Null(UpdateCompression.Check("int8", secureAggregation: false));
        Assert.Equal(
            "'update_compression' int8 cannot be combined with 'secagg': the masked sum hides the per-block scales and indices the server needs to decode; use one or the other",
            UpdateCompression.Check("int8", secureAggregation: true));
    }

    public static TheoryData<string, byte[], string> Hostile() => new()
    {
        { "int8", [.. BitConverter.GetBytes(float.NaN), 1, 2], "block 0: its scale is NaN" },
        { "int8", [.. BitConverter.GetBytes(float.PositiveInfinity), 1, 2], "block 0: its scale is infinite" },
        { "int8", [.. BitConverter.GetBytes(-1f), 1, 2], "block 0: its scale is negative (-1)" },
        { "int8", [.. BitConverter.GetBytes(1f), 0x80, 2], "block 0: int8 code -128 at element 0 is out of range (codes are -127 to 127)" },
        { "int8", [.. BitConverter.GetBytes(1f), 1], "5 bytes do not encode 2 values with int8 (6 bytes)" },
        { "fp16", [.. BitConverter.GetBytes(1f), .. BitConverter.GetBytes(Half.NaN), 0, 0], "block 0: value 0 is NaN, outside [-1, 1]" },
        { "fp16", [.. BitConverter.GetBytes(float.NaN), 0, 0, 0, 0], "block 0: its scale is NaN" },
        { "topk:0.5", [2, 0, .. BitConverter.GetBytes(1f)], "block 0: index 2 (entry 0) is out of order or past the block's 2 values" },
        { "topk:1", [1, 0, 0, 0, .. BitConverter.GetBytes(1f), .. BitConverter.GetBytes(1f)], "block 0: index 0 (entry 1) is out of order or past the block's 2 values" },
        { "topk:0.5", [0, 0, .. BitConverter.GetBytes(float.NaN)], "block 0: value at index 0 is NaN or infinite" },
    };

    [Theory]
    [MemberData(nameof(Hostile))]
    public void Decode_HostileBytes_Refused(string spec, byte[] bytes, string problem)
    {
        Assert.Equal(problem, Codec(spec).Decode(bytes, new float[2]));
    }
}
