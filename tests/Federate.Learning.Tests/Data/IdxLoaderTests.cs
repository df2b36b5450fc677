using System.Buffers.Binary;

namespace Federate.Learning.Tests.Data;

public sealed class IdxLoaderTests
{
    private static byte[] Header(int magic, params int[] dims)
    {
        var bytes = new byte[4 + (4 * dims.Length)];
        BinaryPrimitives.WriteInt32BigEndian(bytes, magic);
        for (int i = 0; i < dims.Length; i++)
        {
            BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + (4 * i)), dims[i]);
        }

        return bytes;
    }

    [Fact]
    public void ReadImages_ValidFile_ScalesBy255()
    {
        byte[] data = [.. Header(0x803, 2, 1, 2), 0, 255, 51, 102];
        var (pixels, count, features) = IdxLoader.ReadImages(new MemoryStream(data), "img");
        Assert.Equal(2, count);
        Assert.Equal(2, features);
        Assert.Equal([0f, 1f, 0.2f, 0.4f], pixels);
    }

    [Fact]
    public void ReadLabels_ValidFile_ReturnsBytes()
    {
        byte[] data = [.. Header(0x801, 3), 7, 0, 9];
        Assert.Equal([7, 0, 9], IdxLoader.ReadLabels(new MemoryStream(data), "lab"));
    }

    [Fact]
    public void ReadImages_BadMagic_Error()
    {
        byte[] data = [.. Header(0x801, 2, 1, 2), 0, 0, 0, 0];
        var e = Assert.Throws<DatasetException>(() => IdxLoader.ReadImages(new MemoryStream(data), "img"));
        Assert.StartsWith("img: bad IDX magic number 0x00000801, expected 0x00000803", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadImages_Truncated_Error()
    {
        byte[] data = [.. Header(0x803, 2, 1, 2), 0, 0, 0];
        var e = Assert.Throws<DatasetException>(() => IdxLoader.ReadImages(new MemoryStream(data), "img"));
        Assert.StartsWith("img: truncated IDX image file: expected 4 pixel bytes after the header, found 3", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadLabels_Truncated_Error()
    {
        byte[] data = [.. Header(0x801, 5), 1, 2];
        var e = Assert.Throws<DatasetException>(() => IdxLoader.ReadLabels(new MemoryStream(data), "lab"));
        Assert.Contains("truncated IDX label file", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadLabels_TruncatedHeader_Error()
    {
        var e = Assert.Throws<DatasetException>(() => IdxLoader.ReadLabels(new MemoryStream([0, 0]), "lab"));
        Assert.Contains("truncated IDX file", e.Message, StringComparison.Ordinal);
    }
}
