using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace Federate.Core;

/// <summary>
/// Writes an <see cref="ArrayRecord"/> as a NumPy <c>.npz</c> archive, the layout of <c>numpy.savez</c>: an
/// uncompressed zip holding one <c>NAME.npy</c> file (format version 1.0, little-endian, C order) per tensor, so
/// <c>numpy.load("model.npz")["NAME"]</c> gives the tensor back.
/// </summary>
public static class NpzWriter
{
    /// <summary>Writes the archive to <paramref name="stream"/> (which may be non-seekable, e.g. an HTTP response).</summary>
    public static void Write(Stream stream, ArrayRecord record)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(record);
        using var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true);
        foreach (var (name, tensor) in record)
        {
            var entry = zip.CreateEntry(name + ".npy", CompressionLevel.NoCompression);
            entry.LastWriteTime = new DateTimeOffset(1980, 1, 1, 0, 0, 0, TimeSpan.Zero);
            using var npy = entry.Open();
            npy.Write(NpyHeader(tensor.DType, tensor.Shape));
            npy.Write(tensor.AsBytes());
        }
    }

    /// <summary>
    /// The <c>.npy</c> version 1.0 header numpy (1.23 and later) writes for an array of this dtype and shape: magic,
    /// version, header length, the header dictionary with room to grow the first axis, padded with spaces to a
    /// multiple of 64 bytes and ended by a newline.
    /// </summary>
    public static byte[] NpyHeader(DType dtype, IReadOnlyList<long> shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        const int GrowthAxisMaxDigits = 21;
        const int ArrayAlign = 64;
        const int PrefixLength = 10; // magic (6) + version (2) + little-endian uint16 header length (2)
        string shapeText = shape.Count switch
        {
            0 => "()",
            1 => string.Create(CultureInfo.InvariantCulture, $"({shape[0]},)"),
            _ => "(" + string.Join(", ", shape.Select(d => d.ToString(CultureInfo.InvariantCulture))) + ")",
        };
        var header = new StringBuilder();
        header.Append("{'descr': '").Append(Descr(dtype)).Append("', 'fortran_order': False, 'shape': ").Append(shapeText).Append(", }");
        if (shape.Count > 0)
        {
            header.Append(' ', GrowthAxisMaxDigits - shape[0].ToString(CultureInfo.InvariantCulture).Length);
        }

        int length = header.Length + 1;
        int padding = ArrayAlign - ((PrefixLength + length) % ArrayAlign);
        header.Append(' ', padding).Append('\n');
        var bytes = new byte[PrefixLength + header.Length];
        bytes[0] = 0x93;
        "NUMPY"u8.CopyTo(bytes.AsSpan(1));
        bytes[6] = 1;
        bytes[7] = 0;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(8), checked((ushort)header.Length));
        Encoding.Latin1.GetBytes(header.ToString(), bytes.AsSpan(PrefixLength));
        return bytes;
    }

    private static string Descr(DType dtype) => dtype switch
    {
        DType.Float32 => "<f4",
        DType.Float64 => "<f8",
        DType.Float16 => "<f2",
        DType.Int8 => "|i1",
        DType.Int16 => "<i2",
        DType.Int32 => "<i4",
        DType.Int64 => "<i8",
        DType.UInt8 => "|u1",
        DType.UInt16 => "<u2",
        DType.UInt32 => "<u4",
        DType.UInt64 => "<u8",
        DType.Bool => "|b1",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown dtype."),
    };
}
