namespace Federate.Learning.Tests.Data;

public sealed class DatasetCatalogTests
{
    private const string FashionDir = "/usr/share/datasets/fashion-mnist";

    private static int[] ClassCounts(Dataset d)
    {
        var counts = new int[d.ClassCount];
        foreach (int y in d.Labels)
        {
            counts[y]++;
        }

        return counts;
    }

    [Theory]
    [InlineData("digits", 1797, 64, 10)]
    [InlineData("breast-cancer", 569, 30, 2)]
    [InlineData("iris", 150, 4, 3)]
    [InlineData("wine", 178, 13, 3)]
    [InlineData("letter-recognition", 20000, 16, 26)]
    [InlineData("sensor-single-hop", 18914, 2, 2)]
    [InlineData("sensor-multi-hop", 18760, 2, 2)]
    public void Load_EmbeddedDataset_HasDocumentedShape(string name, int rows, int features, int classes)
    {
        var split = DatasetCatalog.Load(name);
        Assert.Null(split.Test);
        Assert.Equal(name, split.Train.Name);
        Assert.Equal(rows, split.Train.Count);
        Assert.Equal(features, split.Train.FeatureCount);
        Assert.Equal(classes, split.Train.ClassCount);
        Assert.All(ClassCounts(split.Train), c => Assert.True(c > 0));
        Assert.All(split.Train.Features, v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void Load_Digits_ScaledTo01WithDigitClassNames()
    {
        var d = DatasetCatalog.Load("digits").Train;
        Assert.Equal([.. Enumerable.Range(0, 10).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))], d.ClassNames);
        Assert.Equal(0f, d.Features.Min());
        Assert.Equal(1f, d.Features.Max());
    }

    [Fact]
    public void Load_BreastCancer_212Malignant357Benign()
    {
        var d = DatasetCatalog.Load("breast-cancer").Train;
        Assert.Equal(["malignant", "benign"], d.ClassNames);
        Assert.Equal([212, 357], ClassCounts(d));
    }

    [Fact]
    public void Load_Iris_FiftyPerClass()
    {
        var d = DatasetCatalog.Load("iris").Train;
        Assert.Equal(["setosa", "versicolor", "virginica"], d.ClassNames);
        Assert.Equal([50, 50, 50], ClassCounts(d));
    }

    [Fact]
    public void Load_Wine_ClassCounts59_71_48()
    {
        var d = DatasetCatalog.Load("wine").Train;
        Assert.Equal([59, 71, 48], ClassCounts(d));
    }

    [Fact]
    public void Load_Letter_ClassesAToZ()
    {
        var d = DatasetCatalog.Load("letter-recognition").Train;
        Assert.Equal([.. Enumerable.Range(0, 26).Select(i => ((char)('A' + i)).ToString())], d.ClassNames);
        Assert.Equal(16, d.FeatureNames.Count);
        Assert.DoesNotContain("lettr", d.FeatureNames);
    }

    [Theory]
    [InlineData("sensor-single-hop")]
    [InlineData("sensor-multi-hop")]
    public void Load_Sensor_MoteIdKeptAsColumnNotFeature(string name)
    {
        var d = DatasetCatalog.Load(name).Train;
        Assert.Equal(["humidity", "temperature"], d.FeatureNames);
        Assert.Equal(["normal", "anomaly"], d.ClassNames);
        Assert.Equal(4, d.Columns["mote_id"].Distinct().Count());
        Assert.True(d.Columns.ContainsKey("reading"));
        Assert.True(d.Columns.ContainsKey("indoor"));
        Assert.Equal(d.Count, d.Columns["mote_id"].Length);
    }

    [Theory]
    [InlineData("iris")]
    [InlineData("wine")]
    [InlineData("sensor-single-hop")]
    public void Load_Tabular_FeaturesStandardised(string name)
    {
        var d = DatasetCatalog.Load(name).Train;
        for (int j = 0; j < d.FeatureCount; j++)
        {
            double mean = 0;
            double sq = 0;
            for (int i = 0; i < d.Count; i++)
            {
                double v = d.Features[(i * d.FeatureCount) + j];
                mean += v;
                sq += v * v;
            }

            mean /= d.Count;
            Assert.Equal(0, mean, 4);
            Assert.Equal(1, (sq / d.Count) - (mean * mean), 3);
        }
    }

    [Fact]
    public void Load_SameNameTwice_SharesCachedArrays()
    {
        var a = DatasetCatalog.Load("wine").Train;
        var b = DatasetCatalog.Load("WINE").Train;
        Assert.Same(a.Features, b.Features);
    }

    [Fact]
    public void Load_ConcurrentLoads_AllSucceedWithSameData()
    {
        var results = new Dataset[8];
        Parallel.For(0, results.Length, i => results[i] = DatasetCatalog.Load("breast-cancer").Train);
        Assert.All(results, r => Assert.Same(results[0].Features, r.Features));
    }

    [Fact]
    public void Load_UnknownName_ListsValidNames()
    {
        var e = Assert.Throws<DatasetException>(() => DatasetCatalog.Load("mnist"));
        Assert.DoesNotContain('\n', e.Message);
        Assert.StartsWith("unknown dataset 'mnist'; valid names are: digits, breast-cancer, iris, wine, letter-recognition, sensor-single-hop, sensor-multi-hop, fashion-mnist", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_LabelColumnForBuiltInSet_Error()
    {
        var e = Assert.Throws<DatasetException>(() => DatasetCatalog.Load("iris", labelColumn: "species"));
        Assert.Contains("applies only to CSV files", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_CsvPath_LoadsAndStandardises()
    {
        using var dir = new TempDirectory();
        string path = dir.Write("my.csv", "a,b,label\n1,10,yes\n2,10,no\n3,10,yes\n");
        var split = DatasetCatalog.Load(path);
        Assert.Null(split.Test);
        var d = split.Train;
        Assert.Equal(["no", "yes"], d.ClassNames);
        Assert.Equal(-1.2247449f, d.Features[0], 5);
        Assert.Equal(0f, d.Features[1]);
    }

    [Fact]
    public void Load_RelativeCsvName_ResolvedUnderDataDir()
    {
        using var dir = new TempDirectory();
        dir.Write("rel.csv", "a,label\n1,0\n2,1\n");
        var d = DatasetCatalog.Load("rel.csv", dir.Path).Train;
        Assert.Equal(2, d.Count);
    }

    [Fact]
    public void Load_MissingCsvPath_NotFound()
    {
        var e = Assert.Throws<DatasetException>(() => DatasetCatalog.Load("no/such/x.csv"));
        Assert.StartsWith("data file 'no/such/x.csv' not found", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_FashionMnistMissingDir_OneLineInstallHint()
    {
        using var dir = new TempDirectory();
        var e = Assert.Throws<DatasetException>(() => DatasetCatalog.Load("fashion-mnist", dir.Path));
        Assert.Equal($"Fashion-MNIST not found in {dir.Path}; install it with 'sudo apt-get install dataset-fashion-mnist' or pass --data-dir DIR", e.Message);
    }

    [Fact]
    public void Load_FashionMnistIncompleteDir_NamesMissingFile()
    {
        using var dir = new TempDirectory();
        File.Copy(Path.Combine(FashionDir, "t10k-labels-idx1-ubyte.gz"), Path.Combine(dir.Path, "t10k-labels-idx1-ubyte.gz"));
        var e = Assert.Throws<DatasetException>(() => DatasetCatalog.Load("fashion-mnist", dir.Path));
        Assert.Contains("train-images-idx3-ubyte.gz is missing", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_FashionMnist_TrainAndTestSplits()
    {
        Assert.True(Directory.Exists(FashionDir), $"{FashionDir} is required (apt-get install dataset-fashion-mnist)");
        var split = DatasetCatalog.Load("fashion-mnist");
        Assert.NotNull(split.Test);
        Assert.Equal(60000, split.Train.Count);
        Assert.Equal(10000, split.Test.Count);
        Assert.Equal(784, split.Train.FeatureCount);
        Assert.Equal(10, split.Test.ClassCount);
        Assert.Equal("T-shirt/top", split.Test.ClassNames[0]);
        Assert.Equal("Ankle boot", split.Test.ClassNames[9]);
        Assert.All(ClassCounts(split.Test), c => Assert.Equal(1000, c));
        // Pixels are scaled to [0, 1] (train mean 0.2860, test mean 0.2868) and then standardised with the training
        // set's mean and standard deviation (0.3530).
        double trainMean = split.Train.Features.Average(v => (double)v);
        double trainStd = Math.Sqrt(split.Train.Features.Average(v => (double)v * v) - (trainMean * trainMean));
        Assert.Equal(0.0, trainMean, 4);
        Assert.Equal(1.0, trainStd, 3);
        double testMean = split.Test.Features.Average(v => (double)v);
        Assert.Equal(0.2868, 0.2860 + (testMean * 0.3530), 3);
        Assert.Same(split, DatasetCatalog.Load("fashion-mnist", FashionDir));
    }
}
