using System.Buffers.Binary;

namespace Federate.Learning.Data;

/// <summary>
/// Reads IDX files (the MNIST / Fashion-MNIST format), optionally gzip-compressed: big-endian magic
/// 0x00000803 for uint8 images (count x rows x cols) and 0x00000801 for uint8 labels.
/// </summary>
internal static class IdxLoader
{
    internal const int ImagesMagic = 0x00000803;
    internal const int LabelsMagic = 0x00000801;

    /// <summary>Loads an image file and its label file into a dataset; pixels are scaled to [0, 1] by /255.</summary>
    public static Dataset Load(string imagesPath, string labelsPath, string name, IReadOnlyList<string> classNames)
    {
        var (pixels, count, featureCount) = ReadImages(imagesPath);
        byte[] rawLabels = ReadLabels(labelsPath);
        if (rawLabels.Length != count)
        {
            throw new DatasetException($"{labelsPath}: {rawLabels.Length} labels for {count} images in {imagesPath}; the files do not belong together, reinstall the dataset");
        }

        var labels = new int[count];
        for (int i = 0; i < count; i++)
        {
            if (rawLabels[i] >= classNames.Count)
            {
                throw new DatasetException($"{labelsPath}: label {rawLabels[i]} at item {i} is not below the {classNames.Count} classes; the file is corrupt, reinstall the dataset");
            }

            labels[i] = rawLabels[i];
        }

        return new Dataset(name, pixels, labels, featureCount, classNames);
    }

    /// <summary>Reads an IDX uint8 image file: pixels scaled /255, row-major per image.</summary>
    public static (float[] Pixels, int Count, int FeatureCount) ReadImages(string path)
    {
        using var file = CsvLoader.OpenFile(path);
        using var stream = CsvLoader.MaybeDecompress(file, path);
        return ReadImages(stream, path);
    }

    /// <summary>Reads IDX uint8 images from a stream (already decompressed).</summary>
    public static (float[] Pixels, int Count, int FeatureCount) ReadImages(Stream stream, string source)
    {
        Span<byte> header = stackalloc byte[16];
        ReadHeader(stream, header, source, ImagesMagic, "images");
        int count = BinaryPrimitives.ReadInt32BigEndian(header[4..]);
        int rows = BinaryPrimitives.ReadInt32BigEndian(header[8..]);
        int cols = BinaryPrimitives.ReadInt32BigEndian(header[12..]);
        if (count < 0 || rows <= 0 || cols <= 0 || (long)count * rows * cols > Array.MaxLength)
        {
            throw new DatasetException($"{source}: implausible IDX image dimensions {count} x {rows} x {cols}; the file is corrupt, reinstall the dataset");
        }

        int featureCount = rows * cols;
        var pixels = new float[(long)count * featureCount];
        var buffer = new byte[1 << 16];
        long done = 0;
        try
        {
            while (done < pixels.Length)
            {
                int want = (int)Math.Min(buffer.Length, pixels.Length - done);
                int got = stream.ReadAtLeast(buffer.AsSpan(0, want), want, throwOnEndOfStream: false);
                for (int k = 0; k < got; k++)
                {
                    pixels[done + k] = buffer[k] / 255f;
                }

                done += got;
                if (got < want)
                {
                    throw new DatasetException($"{source}: truncated IDX image file: expected {pixels.Length} pixel bytes after the header, found {done}; re-download or reinstall the dataset");
                }
            }
        }
        catch (InvalidDataException e)
        {
            throw new DatasetException($"{source}: corrupt gzip data ({e.Message}); re-download or reinstall the dataset", e);
        }

        return (pixels, count, featureCount);
    }

    /// <summary>Reads an IDX uint8 label file.</summary>
    public static byte[] ReadLabels(string path)
    {
        using var file = CsvLoader.OpenFile(path);
        using var stream = CsvLoader.MaybeDecompress(file, path);
        return ReadLabels(stream, path);
    }

    /// <summary>Reads IDX uint8 labels from a stream (already decompressed).</summary>
    public static byte[] ReadLabels(Stream stream, string source)
    {
        Span<byte> header = stackalloc byte[8];
        ReadHeader(stream, header, source, LabelsMagic, "labels");
        int count = BinaryPrimitives.ReadInt32BigEndian(header[4..]);
        if (count < 0)
        {
            throw new DatasetException($"{source}: implausible IDX label count {count}; the file is corrupt, reinstall the dataset");
        }

        var labels = new byte[count];
        try
        {
            int got = stream.ReadAtLeast(labels, count, throwOnEndOfStream: false);
            if (got < count)
            {
                throw new DatasetException($"{source}: truncated IDX label file: expected {count} labels after the header, found {got}; re-download or reinstall the dataset");
            }
        }
        catch (InvalidDataException e)
        {
            throw new DatasetException($"{source}: corrupt gzip data ({e.Message}); re-download or reinstall the dataset", e);
        }

        return labels;
    }

    private static void ReadHeader(Stream stream, Span<byte> header, string source, int expectedMagic, string kind)
    {
        int got;
        try
        {
            got = stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
        }
        catch (InvalidDataException e)
        {
            throw new DatasetException($"{source}: corrupt gzip data ({e.Message}); re-download or reinstall the dataset", e);
        }

        if (got < 4)
        {
            throw new DatasetException($"{source}: truncated IDX file: {got} bytes, too short for a header; re-download or reinstall the dataset");
        }

        int magic = BinaryPrimitives.ReadInt32BigEndian(header);
        if (magic != expectedMagic)
        {
            throw new DatasetException($"{source}: bad IDX magic number 0x{magic:X8}, expected 0x{expectedMagic:X8} for uint8 {kind}; is this the right file?");
        }

        if (got < header.Length)
        {
            throw new DatasetException($"{source}: truncated IDX file: header needs {header.Length} bytes, found {got}; re-download or reinstall the dataset");
        }
    }
}
