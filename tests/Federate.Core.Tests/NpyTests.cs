using Federate.Core;

namespace Federate.Core.Tests;

/// <summary>The .npy reader and writer against files written by NumPy 1.24 (TestData/flower/npy) and Flower 1.19.</summary>
public class NpyTests
{
    private static byte[] Data(string name) => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "TestData", "flower", name));

    private static byte[] NumPy(string name) => Data(Path.Combine("npy", name));

    public static TheoryData<string, DType> CFiles => new()
    {
        { "c_float16.npy", DType.Float16 },
        { "c_float32.npy", DType.Float32 },
        { "c_float64.npy", DType.Float64 },
        { "c_int8.npy", DType.Int8 },
        { "c_int16.npy", DType.Int16 },
        { "c_int32.npy", DType.Int32 },
        { "c_int64.npy", DType.Int64 },
        { "c_uint8.npy", DType.UInt8 },
        { "c_uint16.npy", DType.UInt16 },
        { "c_uint32.npy", DType.UInt32 },
        { "c_uint64.npy", DType.UInt64 },
    };

    [Theory]
    [MemberData(nameof(CFiles))]
    public void Read_EveryNumericDType_GivesValuesAndShape(string file, DType dtype)
    {
        var tensor = Npy.Read(NumPy(file));

        Assert.Equal(dtype, tensor.DType);
        Assert.Equal(new long[] { 2, 3 }, tensor.Shape);
        var expected = Tensor.FromArray(new double[] { 1, 2, 3, 4, 5, 6 }, 2, 3);
        Assert.Equal(new double[] { 1, 2, 3, 4, 5, 6 }, ToDoubles(tensor));
        Assert.Equal(expected.Length, tensor.Length);
    }

    [Theory]
    [MemberData(nameof(CFiles))]
    [InlineData("c_bool.npy", DType.Bool)]
    [InlineData("c_negative_int16.npy", DType.Int16)]
    [InlineData("zero_d_int64.npy", DType.Int64)]
    [InlineData("empty_float32_0x3.npy", DType.Float32)]
    [InlineData("c_float64_1000.npy", DType.Float64)]
    public void Write_AfterRead_GivesNumPysExactBytes(string file, DType dtype)
    {
        var bytes = NumPy(file);
        var tensor = Npy.Read(bytes);

        Assert.Equal(dtype, tensor.DType);
        Assert.Equal(bytes, Npy.Write(tensor));
    }

    [Fact]
    public void Write_FlowerGoldenTensors_AreByteIdentical()
    {
        var f32 = Tensor.FromArray(new float[] { 1, 2, 3 }, 3);
        var i64 = Tensor.FromArray(new long[] { 1, 2, 3, 4 }, 2, 2);

        Assert.Equal(Data("tensor0_f32_3.npy"), Npy.Write(f32));
        Assert.Equal(Data("tensor1_i64_2x2.npy"), Npy.Write(i64));
        Assert.Equal(128, Npy.Write(f32).Length - 12);
    }

    [Fact]
    public void Read_Bool_GivesBooleans()
    {
        var tensor = Npy.Read(NumPy("c_bool.npy"));

        Assert.Equal(new[] { true, false, true, false, false, true }, tensor.AsSpan<bool>().ToArray());
    }

    [Fact]
    public void Read_FortranOrder2D_GivesRowMajorElements()
    {
        var tensor = Npy.Read(NumPy("f_float64_2x3.npy"));

        Assert.Equal(new long[] { 2, 3 }, tensor.Shape);
        Assert.Equal(new double[] { 1, 2, 3, 4, 5, 6 }, tensor.AsSpan<double>().ToArray());
    }

    [Fact]
    public void Read_FortranOrder3D_GivesRowMajorElements()
    {
        var tensor = Npy.Read(NumPy("f_int32_2x3x4.npy"));

        Assert.Equal(new long[] { 2, 3, 4 }, tensor.Shape);
        Assert.Equal(Enumerable.Range(0, 24).ToArray(), tensor.AsSpan<int>().ToArray());
    }

    [Fact]
    public void Read_ZeroDimensional_GivesScalar()
    {
        var tensor = Npy.Read(NumPy("zero_d_int64.npy"));

        Assert.Empty(tensor.Shape);
        Assert.Equal(new long[] { 7 }, tensor.AsSpan<long>().ToArray());
    }

    [Fact]
    public void Read_Empty_GivesZeroElements()
    {
        var tensor = Npy.Read(NumPy("empty_float32_0x3.npy"));

        Assert.Equal(new long[] { 0, 3 }, tensor.Shape);
        Assert.Equal(0, tensor.Length);
    }

    [Fact]
    public void Read_Version2Header_IsRead()
    {
        var tensor = Npy.Read(NumPy("v2_float32.npy"));

        Assert.Equal(new float[] { 1, 2 }, tensor.AsSpan<float>().ToArray());
    }

    [Fact]
    public void Read_BigEndian_IsSwapped()
    {
        var tensor = Npy.Read(NumPy("big_endian_float32.npy"));

        Assert.Equal(new[] { 1.5f, -2f }, tensor.AsSpan<float>().ToArray());
    }

    [Fact]
    public void Read_PickledObjectArray_IsRefused()
    {
        var ex = Assert.Throws<InvalidDataException>(() => Npy.Read(NumPy("pickled_object.npy")));

        Assert.Equal("the .npy array holds Python objects (pickled); send numeric arrays (allow_pickle is refused)", ex.Message);
    }

    [Fact]
    public void Read_NotNpy_IsRefused()
    {
        var ex = Assert.Throws<InvalidDataException>(() => Npy.Read("PK\x03\x04 not an npy file"u8));

        Assert.Equal("not a .npy file (it does not start with \\x93NUMPY)", ex.Message);
    }

    [Fact]
    public void Read_TruncatedData_NamesTheSizes()
    {
        var bytes = Data("tensor0_f32_3.npy");

        var ex = Assert.Throws<InvalidDataException>(() => Npy.Read(bytes.AsSpan(0, bytes.Length - 4)));

        Assert.Equal("the .npy array of dtype Float32 and shape (3,) needs 12 data bytes, got 8", ex.Message);
    }

    [Fact]
    public void Read_HeaderLongerThanFile_IsRefused()
    {
        var bytes = Data("tensor0_f32_3.npy").AsSpan(0, 40).ToArray();

        var ex = Assert.Throws<InvalidDataException>(() => Npy.Read(bytes));

        Assert.Equal("the .npy header claims 118 bytes but the file has 40", ex.Message);
    }

    [Fact]
    public void Read_BoolByteOutOfRange_IsRefused()
    {
        var bytes = NumPy("c_bool.npy");
        bytes[^1] = 7;

        var ex = Assert.Throws<InvalidDataException>(() => Npy.Read(bytes));

        Assert.Equal("the .npy bool array holds the byte 7 (only 0 and 1 are booleans)", ex.Message);
    }

    [Fact]
    public void Write_HighRank_UsesVersion2()
    {
        // 30000 dimensions of size 1 need a header longer than 65535 bytes.
        var shape = Enumerable.Repeat(1L, 30000).ToArray();
        var tensor = Tensor.Zeros(DType.Float32, shape);

        var bytes = Npy.Write(tensor);

        Assert.Equal(2, bytes[6]);
        Assert.Equal(shape, Npy.Read(bytes).Shape);
        Assert.Equal(0, (bytes.Length - 4) % 64);
    }

    private static double[] ToDoubles(Tensor t) => t.DType switch
    {
        DType.Float16 => [.. t.AsSpan<Half>().ToArray().Select(v => (double)v)],
        DType.Float32 => [.. t.AsSpan<float>().ToArray().Select(v => (double)v)],
        DType.Float64 => t.AsSpan<double>().ToArray(),
        DType.Int8 => [.. t.AsSpan<sbyte>().ToArray().Select(v => (double)v)],
        DType.Int16 => [.. t.AsSpan<short>().ToArray().Select(v => (double)v)],
        DType.Int32 => [.. t.AsSpan<int>().ToArray().Select(v => (double)v)],
        DType.Int64 => [.. t.AsSpan<long>().ToArray().Select(v => (double)v)],
        DType.UInt8 => [.. t.AsSpan<byte>().ToArray().Select(v => (double)v)],
        DType.UInt16 => [.. t.AsSpan<ushort>().ToArray().Select(v => (double)v)],
        DType.UInt32 => [.. t.AsSpan<uint>().ToArray().Select(v => (double)v)],
        _ => [.. t.AsSpan<ulong>().ToArray().Select(v => (double)v)],
    };
}
