using System.IO.Compression;

namespace Federate.Core.Formats;

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
            npy.Write(Npy.Header(tensor.DType, tensor.Shape));
            npy.Write(tensor.AsBytes());
        }
    }
}
