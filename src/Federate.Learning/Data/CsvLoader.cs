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

/// <summary>One parse of CSV text into a <see cref="Dataset"/>.</summary>
internal sealed class CsvParser(TextReader reader, string source, string datasetName, string? labelColumn, IReadOnlyCollection<string> nonFeatureColumns)
{
    private int _lineNumber;

    public Dataset Parse()
    {
        string[]? first = NextRow(out int firstLine);
        if (first is null)
        {
            throw new DatasetException($"{source} is empty; expected rows of numbers with the label last, optionally after a header line");
        }

        string[]? second = NextRow(out int secondLine);
        if (IsCountHeader(first, second))
        {
            return ParseCountHeader(first, firstLine, second!, secondLine);
        }

        bool hasHeader = first.Any(f => !CsvLoader.TryParseNumber(f, out _));
        return hasHeader ? ParseWithHeader(first, firstLine, second, secondLine) : ParseNoHeader(first, firstLine, second, secondLine);
    }

    private static bool IsCountHeader(string[] first, string[]? second)
    {
        if (second is null || first.Length < 3
            || !int.TryParse(first[0], NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n <= 0
            || !int.TryParse(first[1], NumberStyles.None, CultureInfo.InvariantCulture, out int f) || f <= 0
            || second.Length != f + 1)
        {
            return false;
        }

        // A purely numeric first line with the data's width is an ordinary headerless row.
        return first.Length != f + 1 || first.Skip(2).Any(s => !CsvLoader.TryParseNumber(s, out _));
    }

    private Dataset ParseCountHeader(string[] first, int firstLine, string[] second, int secondLine)
    {
        if (labelColumn is not null)
        {
            throw new DatasetException($"{source} has no column names (its first line is a scikit-learn count header), so label column '{labelColumn}' cannot be used; its label is the last column, omit the label column");
        }

        int declaredRows = int.Parse(first[0], CultureInfo.InvariantCulture);
        int featureCount = int.Parse(first[1], CultureInfo.InvariantCulture);
        string[] classNames = first[2..];
        int width = featureCount + 1;
        var features = new List<float>(declaredRows * featureCount);
        var labels = new List<int>(declaredRows);
        string[]? row = second;
        int line = secondLine;
        while (row is not null)
        {
            if (row.Length != width)
            {
                throw new DatasetException($"{source} line {line}: expected {width} columns ({featureCount} features + label, per line {firstLine}), found {row.Length} (ragged row); fix or remove that line");
            }

            for (int j = 0; j < featureCount; j++)
            {
                features.Add((float)ParseValue(row[j], line, $"column {j + 1}"));
            }

            string labelText = row[featureCount];
            if (!int.TryParse(labelText, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int label) || label < 0 || label >= classNames.Length)
            {
                throw new DatasetException($"{source} line {line}, column {width}: label '{labelText}' is not a class index 0..{classNames.Length - 1} (line {firstLine} names {classNames.Length} classes); fix the label");
            }

            labels.Add(label);
            row = NextRow(out line);
        }

        if (labels.Count != declaredRows)
        {
            throw new DatasetException($"{source} line {firstLine}: the count header declares {declaredRows} rows but the file has {labels.Count}; fix the first line or the data");
        }

        return new Dataset(datasetName, [.. features], [.. labels], featureCount, classNames);
    }

    private Dataset ParseWithHeader(string[] header, int headerLine, string[]? second, int secondLine)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (string h in header)
        {
            if (h.Length == 0)
            {
                throw new DatasetException($"{source} line {headerLine}: the header has an empty column name; name every column");
            }

            if (!seen.Add(h))
            {
                throw new DatasetException($"{source} line {headerLine}: column '{h}' appears twice in the header; give columns distinct names");
            }
        }

        int labelIndex;
        if (labelColumn is not null)
        {
            labelIndex = Array.IndexOf(header, labelColumn);
            if (labelIndex < 0)
            {
                throw new DatasetException($"label column '{labelColumn}' not found in {source}; columns are: {string.Join(", ", header)}");
            }
        }
        else
        {
            labelIndex = Array.IndexOf(header, "label");
            if (labelIndex < 0)
            {
                labelIndex = header.Length - 1;
            }
        }

        var extraIndices = new List<int>();
        foreach (string extra in nonFeatureColumns)
        {
            int k = Array.IndexOf(header, extra);
            if (k < 0)
            {
                throw new DatasetException($"column '{extra}' not found in {source}; columns are: {string.Join(", ", header)}");
            }

            if (k != labelIndex)
            {
                extraIndices.Add(k);
            }
        }

        var featureIndices = Enumerable.Range(0, header.Length).Where(k => k != labelIndex && !extraIndices.Contains(k)).ToArray();
        if (featureIndices.Length == 0)
        {
            throw new DatasetException($"{source} has no feature columns besides the label '{header[labelIndex]}'; add feature columns");
        }

        if (second is null)
        {
            throw new DatasetException($"{source} has a header line but no data rows; add data rows");
        }

        var features = new List<float>();
        var rawLabels = new List<string>();
        var extras = extraIndices.Select(_ => new List<double>()).ToArray();
        string[]? row = second;
        int line = secondLine;
        while (row is not null)
        {
            if (row.Length != header.Length)
            {
                throw new DatasetException($"{source} line {line}: expected {header.Length} columns like the header, found {row.Length} (ragged row); fix or remove that line");
            }

            foreach (int k in featureIndices)
            {
                features.Add((float)ParseValue(row[k], line, $"column '{header[k]}'"));
            }

            for (int e = 0; e < extraIndices.Count; e++)
            {
                int k = extraIndices[e];
                extras[e].Add(ParseValue(row[k], line, $"column '{header[k]}'"));
            }

            if (row[labelIndex].Length == 0)
            {
                throw new DatasetException($"{source} line {line}, column '{header[labelIndex]}': the label is empty; fill it in or remove the row");
            }

            rawLabels.Add(row[labelIndex]);
            row = NextRow(out line);
        }

        var (labels, classNames) = MapLabels(rawLabels);
        var columns = new Dictionary<string, double[]>(StringComparer.Ordinal);
        for (int e = 0; e < extraIndices.Count; e++)
        {
            columns[header[extraIndices[e]]] = [.. extras[e]];
        }

        return new Dataset(datasetName, [.. features], labels, featureIndices.Length, classNames, [.. featureIndices.Select(k => header[k])], columns);
    }

    private Dataset ParseNoHeader(string[] first, int firstLine, string[]? second, int secondLine)
    {
        if (labelColumn is not null)
        {
            throw new DatasetException($"{source} has no header line, so label column '{labelColumn}' cannot be found; its label is the last column, omit the label column or add a header");
        }

        int width = first.Length;
        if (width < 2)
        {
            throw new DatasetException($"{source} line {firstLine}: found 1 column; need at least one feature column and the label last");
        }

        var features = new List<float>();
        var rawLabels = new List<string>();
        string[]? row = first;
        int line = firstLine;
        while (row is not null)
        {
            if (row.Length != width)
            {
                throw new DatasetException($"{source} line {line}: expected {width} columns like line {firstLine}, found {row.Length} (ragged row); fix or remove that line");
            }

            for (int j = 0; j < width; j++)
            {
                double v = ParseValue(row[j], line, $"column {j + 1}");
                if (j < width - 1)
                {
                    features.Add((float)v);
                }
            }

            rawLabels.Add(row[width - 1]);
            if (ReferenceEquals(row, first))
            {
                row = second;
                line = secondLine;
            }
            else
            {
                row = NextRow(out line);
            }
        }

        var (labels, classNames) = MapLabels(rawLabels);
        return new Dataset(datasetName, [.. features], labels, width - 1, classNames);
    }

    /// <summary>Numeric labels by ascending value (names = values as text); otherwise text labels in ordinal order.</summary>
    private static (int[] Labels, string[] ClassNames) MapLabels(List<string> raw)
    {
        var numeric = new double[raw.Count];
        bool allNumeric = true;
        for (int i = 0; i < raw.Count && allNumeric; i++)
        {
            allNumeric = CsvLoader.TryParseNumber(raw[i], out numeric[i]);
        }

        var labels = new int[raw.Count];
        if (allNumeric)
        {
            double[] distinct = [.. numeric.Distinct().Order()];
            var index = new Dictionary<double, int>(distinct.Length);
            for (int c = 0; c < distinct.Length; c++)
            {
                index[distinct[c]] = c;
            }

            for (int i = 0; i < labels.Length; i++)
            {
                labels[i] = index[numeric[i]];
            }

            return (labels, [.. distinct.Select(v => v.ToString(CultureInfo.InvariantCulture))]);
        }

        string[] names = [.. raw.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
        var byName = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int c = 0; c < names.Length; c++)
        {
            byName[names[c]] = c;
        }

        for (int i = 0; i < labels.Length; i++)
        {
            labels[i] = byName[raw[i]];
        }

        return (labels, names);
    }

    private double ParseValue(string field, int line, string column)
    {
        if (CsvLoader.TryParseNumber(field, out double v))
        {
            return v;
        }

        if (field.Length == 0)
        {
            throw new DatasetException($"{source} line {line}, {column}: the value is missing; fill it in or remove the row");
        }

        throw new DatasetException($"{source} line {line}, {column}: '{field}' is not a number; fix the value or remove the column (use '.' as the decimal point)");
    }

    /// <summary>The next non-blank line split into fields, or null at the end.</summary>
    private string[]? NextRow(out int lineNumber)
    {
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            _lineNumber++;
            if (!string.IsNullOrWhiteSpace(line))
            {
                lineNumber = _lineNumber;
                return CsvLoader.SplitLine(line);
            }
        }

        lineNumber = _lineNumber;
        return null;
    }
}
