using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace Federate.Learning.Data;

/// <summary>
/// Loads labelled tabular data from CSV text (optionally gzip-compressed). Three layouts are recognised from the
/// first non-blank line:
/// <list type="bullet">
/// <item>the scikit-learn count header <c>n_samples,n_features,class0,class1,...</c> followed by rows of
/// n_features numbers and an integer class index last;</item>
/// <item>a header line of column names (the label column is chosen by name; default a column named <c>label</c>
/// if present, else the last column);</item>
/// <item>no header: every field numeric, the label last.</item>
/// </list>
/// Text labels become class indices in ordinal order of the distinct labels; numeric labels become class indices in
/// ascending numeric order, with the values as text as class names. Numbers are parsed with the invariant culture.
/// Features are returned as read (no scaling). Errors are <see cref="DatasetException"/>s with a one-line message
/// naming the source, the line and the problem.
/// </summary>
public static class CsvLoader
{
    /// <summary>
    /// Loads a CSV file (gzip-compressed files are detected and decompressed). The dataset is named after the file
    /// (without <c>.csv</c>/<c>.gz</c>); error messages name <paramref name="path"/> as given.
    /// </summary>
    /// <param name="path">The file to read.</param>
    /// <param name="labelColumn">Label column name for files with a header; null for the default.</param>
    public static Dataset Load(string path, string? labelColumn = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Directory.Exists(path))
        {
            throw new DatasetException($"'{path}' is a folder, not a data file; give a CSV file (or the name of an embedded dataset, such as digits)");
        }

        if (!File.Exists(path))
        {
            throw new DatasetException($"data file '{path}' not found; check the path (relative paths are resolved from '{Environment.CurrentDirectory}')");
        }

        using var stream = OpenFile(path);
        return Load(stream, path, DatasetNameFromPath(path), labelColumn, []);
    }

    /// <summary>
    /// Loads CSV text from a stream (gzip is detected from its first bytes when the stream is seekable, or from a
    /// <paramref name="name"/> ending in <c>.gz</c>). <paramref name="name"/> names the dataset and appears in
    /// error messages.
    /// </summary>
    /// <param name="stream">The data; read to its end but not disposed.</param>
    /// <param name="name">Dataset / file name for the result and for messages.</param>
    /// <param name="labelColumn">Label column name for data with a header; null for the default.</param>
    public static Dataset Load(Stream stream, string name, string? labelColumn = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(name);
        return Load(stream, name, DatasetNameFromPath(name), labelColumn, []);
    }

    /// <summary>
    /// Loads CSV text; <paramref name="nonFeatureColumns"/> (header layout only) are parsed as numbers and kept in
    /// <see cref="Dataset.Columns"/> instead of the features.
    /// </summary>
    internal static Dataset Load(Stream stream, string source, string datasetName, string? labelColumn, IReadOnlyCollection<string> nonFeatureColumns)
    {
        using var text = MaybeDecompress(stream, source);
        using var reader = new StreamReader(text, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16, leaveOpen: true);
        try
        {
            return new CsvParser(reader, source, datasetName, labelColumn, nonFeatureColumns).Parse();
        }
        catch (InvalidDataException e)
        {
            throw new DatasetException($"{source}: not a valid gzip file ({e.Message}); decompress it or fix the file", e);
        }
    }

    internal static Stream OpenFile(string path)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        }
        catch (FileNotFoundException e)
        {
            throw new DatasetException($"data file '{path}' not found; check the path", e);
        }
        catch (DirectoryNotFoundException e)
        {
            throw new DatasetException($"data file '{path}' not found; check the path", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new DatasetException($"data file '{path}' cannot be read (access denied); check its permissions", e);
        }
        catch (IOException e)
        {
            throw new DatasetException($"data file '{path}' cannot be read ({e.Message.ReplaceLineEndings(" ")})", e);
        }
    }

    /// <summary>Wraps the stream in a gzip decompressor when it starts with the gzip magic bytes (or the name ends in .gz).</summary>
    internal static Stream MaybeDecompress(Stream stream, string source)
    {
        bool gzip;
        if (stream.CanSeek)
        {
            long start = stream.Position;
            Span<byte> magic = stackalloc byte[2];
            int read = stream.ReadAtLeast(magic, 2, throwOnEndOfStream: false);
            stream.Position = start;
            gzip = read == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
        }
        else
        {
            gzip = source.EndsWith(".gz", StringComparison.OrdinalIgnoreCase);
        }

        return gzip ? new GZipStream(stream, CompressionMode.Decompress, leaveOpen: true) : new NonDisposingStream(stream);
    }

    private static string DatasetNameFromPath(string path)
    {
        string name = Path.GetFileName(path);
        if (name.EndsWith(".gz", StringComparison.OrdinalIgnoreCase))
        {
            name = name[..^3];
        }

        if (name.EndsWith(".csv", StringComparison.OrdinalIgnoreCase))
        {
            name = name[..^4];
        }

        return name.Length == 0 ? path : name;
    }

    /// <summary>Splits a CSV line on commas, honouring double quotes (no line breaks inside quotes); fields are trimmed.</summary>
    internal static string[] SplitLine(string line)
    {
        if (!line.Contains('"', StringComparison.Ordinal))
        {
            string[] parts = line.Split(',');
            for (int i = 0; i < parts.Length; i++)
            {
                parts[i] = parts[i].Trim();
            }

            return parts;
        }

        var fields = new List<string>();
        var sb = new StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (quoted)
            {
                if (c == '"')
                {
                    if (i + 1 < line.Length && line[i + 1] == '"')
                    {
                        sb.Append('"');
                        i++;
                    }
                    else
                    {
                        quoted = false;
                    }
                }
                else
                {
                    sb.Append(c);
                }
            }
            else if (c == '"')
            {
                quoted = true;
            }
            else if (c == ',')
            {
                fields.Add(sb.ToString().Trim());
                sb.Clear();
            }
            else
            {
                sb.Append(c);
            }
        }

        fields.Add(sb.ToString().Trim());
        return [.. fields];
    }

    internal static bool TryParseNumber(string s, out double value) =>
        double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);

    /// <summary>Keeps the caller's stream open when the reader is disposed.</summary>
    private sealed class NonDisposingStream(Stream inner) : Stream
    {
        public override bool CanRead => inner.CanRead;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

        public override int Read(Span<byte> buffer) => inner.Read(buffer);

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
