using System.IO.Compression;
using System.Text;

namespace Federate.Learning.Tests.Data;

public sealed class CsvLoaderTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static DatasetException AssertOneLineError(Action load)
    {
        var e = Assert.Throws<DatasetException>(load);
        Assert.DoesNotContain('\n', e.Message);
        Assert.DoesNotContain('\r', e.Message);
        return e;
    }

    [Fact]
    public void Load_HeaderWithLabelColumn_UsesLabelColumnAndOtherFeatures()
    {
        string path = _dir.Write("data.csv", "a,label,b\n1,1,2\n3,0,4\n5,1,6\n");
        var data = CsvLoader.Load(path);
        Assert.Equal("data", data.Name);
        Assert.Equal(3, data.Count);
        Assert.Equal(2, data.FeatureCount);
        Assert.Equal(["a", "b"], data.FeatureNames);
        Assert.Equal(["0", "1"], data.ClassNames);
        Assert.Equal([1, 0, 1], data.Labels);
        Assert.Equal([1f, 2f, 3f, 4f, 5f, 6f], data.Features);
    }

    [Fact]
    public void Load_HeaderWithoutLabelColumn_UsesLastColumn()
    {
        string path = _dir.Write("data.csv", "a,b,kind\n1,2,x\n3,4,y\n");
        var data = CsvLoader.Load(path);
        Assert.Equal(["a", "b"], data.FeatureNames);
        Assert.Equal(["x", "y"], data.ClassNames);
    }

    [Fact]
    public void Load_NamedLabelColumn_TextLabelsInSortedOrder()
    {
        string path = _dir.Write("letters.csv", "letter,x,y\nC,1,2\nA,3,4\nB,5,6\nA,7,8\n");
        var data = CsvLoader.Load(path, "letter");
        Assert.Equal(["A", "B", "C"], data.ClassNames);
        Assert.Equal([2, 0, 1, 0], data.Labels);
        Assert.Equal(["x", "y"], data.FeatureNames);
    }

    [Fact]
    public void Load_NumericLabels_SortedByValueNotText()
    {
        string path = _dir.Write("n.csv", "1,10\n2,2\n3,-1\n4,2\n");
        var data = CsvLoader.Load(path);
        Assert.Equal(["-1", "2", "10"], data.ClassNames);
        Assert.Equal([2, 1, 0, 1], data.Labels);
    }

    [Fact]
    public void Load_NoHeader_AllNumericLabelLast()
    {
        string path = _dir.Write("plain.csv", "0.5,1e2,0\n\n-1.25,3,1\n");
        var data = CsvLoader.Load(path);
        Assert.Equal(2, data.Count);
        Assert.Equal(2, data.FeatureCount);
        Assert.Equal([0.5f, 100f, -1.25f, 3f], data.Features);
    }

    [Fact]
    public void Load_CountHeader_UsesClassNamesFromFirstLine()
    {
        string path = _dir.Write("tiny.csv", "3,2,setosa,virginica\n1,2,0\n3,4,1\n5,6,1\n");
        var data = CsvLoader.Load(path);
        Assert.Equal(3, data.Count);
        Assert.Equal(2, data.FeatureCount);
        Assert.Equal(["setosa", "virginica"], data.ClassNames);
        Assert.Equal([0, 1, 1], data.Labels);
    }

    [Fact]
    public void Load_QuotedHeader_StripsQuotes()
    {
        string path = _dir.Write("q.csv", "\"x\",\"y\",\"label\"\n1,2,\"a\"\n3,4,\"b\"\n");
        var data = CsvLoader.Load(path);
        Assert.Equal(["x", "y"], data.FeatureNames);
        Assert.Equal(["a", "b"], data.ClassNames);
    }

    [Fact]
    public void Load_GzipFile_ReadTransparently()
    {
        string path = Path.Combine(_dir.Path, "data.csv.gz");
        using (var file = File.Create(path))
        using (var gz = new GZipStream(file, CompressionLevel.Fastest))
        {
            gz.Write(Encoding.UTF8.GetBytes("a,b,label\n1,2,0\n3,4,1\n"));
        }

        var data = CsvLoader.Load(path);
        Assert.Equal("data", data.Name);
        Assert.Equal(2, data.Count);
        Assert.Equal([1f, 2f, 3f, 4f], data.Features);
    }

    [Fact]
    public void Load_Stream_UsesGivenName()
    {
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes("a,b,label\n1,2,0\n3,x,1\n"));
        var e = AssertOneLineError(() => CsvLoader.Load(stream, "mem.csv"));
        Assert.StartsWith("mem.csv line 3, column 'b': 'x' is not a number", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_RaggedRow_OneLineErrorWithLineNumber()
    {
        string path = _dir.Write("data.csv", "a,b,c,d,label\n1,2,3,4,0\n1,2,3,0\n");
        var e = AssertOneLineError(() => CsvLoader.Load(path));
        Assert.StartsWith($"{path} line 3: expected 5 columns like the header, found 4 (ragged row)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_TextInNumericColumn_OneLineErrorNamingColumn()
    {
        string path = _dir.Write("data.csv", "age,height,label\n30,1.8,0\n abc ,1.7,1\n");
        var e = AssertOneLineError(() => CsvLoader.Load(path));
        Assert.StartsWith($"{path} line 3, column 'age': 'abc' is not a number", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_TextInHeaderlessFile_NamesColumnNumber()
    {
        string path = _dir.Write("plain.csv", "1,2,0\n1,zz,1\n");
        var e = AssertOneLineError(() => CsvLoader.Load(path));
        Assert.StartsWith($"{path} line 2, column 2: 'zz' is not a number", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_UnknownLabelColumn_ListsColumns()
    {
        string path = _dir.Write("data.csv", "a,b,c\n1,2,0\n");
        var e = AssertOneLineError(() => CsvLoader.Load(path, "foo"));
        Assert.Equal($"label column 'foo' not found in {path}; columns are: a, b, c", e.Message);
    }

    [Fact]
    public void Load_MissingFile_SaysNotFound()
    {
        string path = Path.Combine(_dir.Path, "x.csv");
        var e = AssertOneLineError(() => CsvLoader.Load(path));
        Assert.StartsWith($"data file '{path}' not found", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_EmptyFile_SaysEmpty()
    {
        string path = _dir.Write("empty.csv", "\n  \n");
        var e = AssertOneLineError(() => CsvLoader.Load(path));
        Assert.StartsWith($"{path} is empty", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_HeaderOnly_SaysNoDataRows()
    {
        string path = _dir.Write("head.csv", "a,b,label\n");
        var e = AssertOneLineError(() => CsvLoader.Load(path));
        Assert.Contains("header line but no data rows", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MissingValue_SaysMissing()
    {
        string path = _dir.Write("gap.csv", "a,b,label\n1,,0\n");
        var e = AssertOneLineError(() => CsvLoader.Load(path));
        Assert.StartsWith($"{path} line 2, column 'b': the value is missing", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_CountHeaderLabelOutOfRange_Error()
    {
        string path = _dir.Write("bad.csv", "2,2,a,b\n1,2,0\n3,4,2\n");
        var e = AssertOneLineError(() => CsvLoader.Load(path));
        Assert.StartsWith($"{path} line 3, column 3: label '2' is not a class index 0..1", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_CountHeaderWrongRowCount_Error()
    {
        string path = _dir.Write("bad.csv", "3,2,a,b\n1,2,0\n3,4,1\n");
        var e = AssertOneLineError(() => CsvLoader.Load(path));
        Assert.Contains("declares 3 rows but the file has 2", e.Message, StringComparison.Ordinal);
    }
}
