using System.IO.Compression;
using System.Text;
using Federate.Core;

namespace Federate.Core.Tests;

public class NpzWriterTests
{
    private static string Header(byte[] bytes) => Encoding.Latin1.GetString(bytes);

    [Fact]
    public void NpyHeader_Float32Matrix_MatchesNumpyLayout()
    {
        var header = Npy.Header(DType.Float32, [3, 4]);

        // numpy 1.23+: dict, 20 spaces of room to grow axis 0 (21 digits minus "3"), padding to 64 bytes, newline.
        var expected = "\u0093NUMPY\u0001\u0000" + "v\u0000" + "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }" + new string(' ', 20 + 38) + "\n";
        Assert.Equal(expected, Header(header));
        Assert.Equal(128, header.Length);
    }

    [Theory]
    [InlineData(DType.Float64, new long[0], "{'descr': '<f8', 'fortran_order': False, 'shape': (), }")]
    [InlineData(DType.Int64, new long[] { 12345 }, "{'descr': '<i8', 'fortran_order': False, 'shape': (12345,), }")]
    [InlineData(DType.UInt8, new long[] { 2, 3, 4 }, "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3, 4), }")]
    [InlineData(DType.Bool, new long[] { 1 }, "{'descr': '|b1', 'fortran_order': False, 'shape': (1,), }")]
    public void NpyHeader_DtypesAndShapes_PaddedTo64WithNewline(DType dtype, long[] shape, string dict)
    {
        var header = Npy.Header(dtype, shape);
        var text = Header(header);
        Assert.Equal(0, header.Length % 64);
        Assert.EndsWith("\n", text, StringComparison.Ordinal);
        Assert.Equal(header.Length - 10, BitConverter.ToUInt16(header, 8));
        Assert.StartsWith(dict, text[10..], StringComparison.Ordinal);
        Assert.Equal(string.Empty, text[(10 + dict.Length)..^1].Trim(' '));
    }

    [Fact]
    public void Write_Record_ZipOfNpyFilesInRecordOrder()
    {
        var record = new ArrayRecord { { "layer.weight", Tensor.FromArray(new float[] { 1, 2, 3, 4, 5, 6 }, 2, 3) }, { "layer.bias", Tensor.FromArray(new float[] { -1, 1 }, 2) } };
        var buffer = new MemoryStream();
        NpzWriter.Write(buffer, record);
        buffer.Position = 0;
        using var zip = new ZipArchive(buffer, ZipArchiveMode.Read);
        Assert.Equal(["layer.weight.npy", "layer.bias.npy"], zip.Entries.Select(e => e.FullName));
        using var entry = zip.GetEntry("layer.bias.npy")!.Open();
        var bytes = new MemoryStream();
        entry.CopyTo(bytes);
        var data = bytes.ToArray();
        Assert.Equal(128 + 8, data.Length);
        Assert.Equal(-1f, BitConverter.ToSingle(data, 128));
        Assert.Equal(1f, BitConverter.ToSingle(data, 132));
    }
}
