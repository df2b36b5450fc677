using System.Globalization;

namespace Federate.Learning.Data;

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
