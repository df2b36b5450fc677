namespace Federate.Learning.Tests.Partitioning;

public sealed class PartitionerTests
{
    private static Dataset Digits => DatasetCatalog.Load("digits").Train;

    /// <summary>A synthetic dataset: <paramref name="n"/> rows, labels i % classes, an extra column "group" = i % groups.</summary>
    private static Dataset Synthetic(int n, int classes = 3, int groups = 4)
    {
        var features = new float[n];
        var labels = new int[n];
        var group = new double[n];
        for (int i = 0; i < n; i++)
        {
            features[i] = i;
            labels[i] = i % classes;
            group[i] = (i % groups) * 10;
        }

        return new Dataset("synthetic", features, labels, 1, [.. Enumerable.Range(0, classes).Select(c => $"c{c}")], ["f"], new Dictionary<string, double[]> { ["group"] = group });
    }

    private static void AssertValidPartition(int[][] parts, int n, int clients)
    {
        Assert.Equal(clients, parts.Length);
        Assert.Equal(n, parts.Sum(p => p.Length));
        var all = parts.SelectMany(p => p).ToArray();
        Assert.Equal(n, all.Distinct().Count());
        Assert.All(all, i => Assert.InRange(i, 0, n - 1));
        Assert.All(parts, p => Assert.NotEmpty(p));
        Assert.All(parts, p => Assert.Equal(p.Order().ToArray(), p));
    }

    private static double MeanMaxClassShare(Dataset data, int[][] parts) =>
        parts.Average(p => p.GroupBy(i => data.Labels[i]).Max(g => g.Count()) / (double)p.Length);

    [Theory]
    [InlineData("iid")]
    [InlineData("dirichlet:0.5")]
    [InlineData("dirichlet:100")]
    [InlineData("shards:2")]
    [InlineData("column:group")]
    public void Split_AnySpec_DisjointCoverAscending(string spec)
    {
        var data = spec.StartsWith("column", StringComparison.Ordinal) ? Synthetic(1000) : Digits;
        int clients = spec.StartsWith("column", StringComparison.Ordinal) ? 4 : 10;
        var parts = Partitioner.Parse(spec).Split(data, clients, seed: 7);
        AssertValidPartition(parts, data.Count, clients);
    }

    [Theory]
    [InlineData("iid")]
    [InlineData("dirichlet:0.5")]
    [InlineData("shards:2")]
    public void Split_SameSeed_SameSplit_DifferentSeed_DifferentSplit(string spec)
    {
        var p = Partitioner.Parse(spec);
        var a = p.Split(Digits, 10, 1);
        var b = Partitioner.Parse(spec).Split(Digits, 10, 1);
        var c = p.Split(Digits, 10, 2);
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Theory]
    [InlineData(1797, 10)]
    [InlineData(150, 7)]
    [InlineData(5, 5)]
    [InlineData(10, 1)]
    public void Split_Iid_SizesDifferByAtMostOne(int n, int clients)
    {
        var parts = Partitioner.Parse("iid").Split(Synthetic(n), clients, 3);
        AssertValidPartition(parts, n, clients);
        Assert.InRange(parts.Max(p => p.Length) - parts.Min(p => p.Length), 0, 1);
    }

    [Fact]
    public void Split_DirichletSmallAlpha_MuchMoreLabelSkewThanLargeAlpha()
    {
        var data = Digits;
        double skewed = MeanMaxClassShare(data, Partitioner.Parse("dirichlet:0.1").Split(data, 10, 5));
        double balanced = MeanMaxClassShare(data, Partitioner.Parse("dirichlet:100").Split(data, 10, 5));
        Assert.True(skewed > 0.5, $"dirichlet:0.1 mean max class share {skewed}");
        Assert.True(balanced < 0.2, $"dirichlet:100 mean max class share {balanced}");
    }

    [Fact]
    public void Split_Dirichlet_EveryClientHasMinimumRows()
    {
        var parts = Partitioner.Parse("dirichlet:0.3").Split(Digits, 20, 11);
        Assert.All(parts, p => Assert.True(p.Length >= 10));
    }

    [Fact]
    public void Split_DirichletImpossible_SaysRaiseAlphaOrReduceClients()
    {
        var data = Synthetic(40, classes: 2);
        var e = Assert.Throws<ArgumentException>(() => Partitioner.Parse("dirichlet:0.001").Split(data, 20, 1));
        Assert.EndsWith("; raise alpha or reduce clients", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Split_Shards2_EachClientHasFewLabels()
    {
        var data = Digits;
        var parts = Partitioner.Parse("shards:2").Split(data, 10, 4);
        // Each shard spans at most 2 labels (shards are ~90 rows, classes ~180), so a client sees at most 4.
        Assert.All(parts, p => Assert.InRange(p.Select(i => data.Labels[i]).Distinct().Count(), 1, 4));
        Assert.True(MeanMaxClassShare(data, parts) > 0.45);
        Assert.InRange(parts.Max(p => p.Length) - parts.Min(p => p.Length), 0, 2);
    }

    [Fact]
    public void Split_ColumnMoteId_OneMotePerClient()
    {
        var data = DatasetCatalog.Load("sensor-single-hop").Train;
        var parts = Partitioner.Parse("column:mote_id").Split(data, 4, 0);
        AssertValidPartition(parts, data.Count, 4);
        var motes = data.Columns["mote_id"];
        var perClient = parts.Select(p => p.Select(i => motes[i]).Distinct().ToArray()).ToArray();
        Assert.All(perClient, m => Assert.Single(m));
        Assert.Equal(perClient.Select(m => m[0]).Order(), perClient.Select(m => m[0]));
    }

    [Fact]
    public void Split_ColumnFewerClients_RoundRobinValues()
    {
        var data = Synthetic(100, groups: 4);
        var parts = Partitioner.Parse("column:group").Split(data, 2, 0);
        var group = data.Columns["group"];
        Assert.Equal([0.0, 20.0], parts[0].Select(i => group[i]).Distinct().Order());
        Assert.Equal([10.0, 30.0], parts[1].Select(i => group[i]).Distinct().Order());
    }

    [Fact]
    public void Split_ColumnFeatureByName_Works()
    {
        var data = Synthetic(6);
        var parts = Partitioner.Parse("column:f").Split(data, 6, 0);
        Assert.Equal([[0], [1], [2], [3], [4], [5]], parts);
    }

    [Fact]
    public void Split_ColumnMoreClientsThanValues_Error()
    {
        var data = DatasetCatalog.Load("sensor-multi-hop").Train;
        var e = Assert.Throws<ArgumentException>(() => Partitioner.Parse("column:mote_id").Split(data, 5, 0));
        Assert.Equal("column 'mote_id' has 4 distinct values; use --clients 4 or fewer", e.Message);
    }

    [Fact]
    public void Split_ColumnMissing_ListsAvailableColumns()
    {
        var data = Synthetic(10);
        var e = Assert.Throws<ArgumentException>(() => Partitioner.Parse("column:nope").Split(data, 2, 0));
        Assert.Equal("column 'nope' not found in dataset 'synthetic'; available columns: group, f", e.Message);
    }

    [Fact]
    public void Split_MoreClientsThanRows_Error()
    {
        var data = DatasetCatalog.Load("iris").Train;
        var e = Assert.Throws<ArgumentException>(() => Partitioner.Parse("iid").Split(data, 200, 0));
        Assert.Equal("cannot split 150 rows among 200 clients; use at most 150 clients", e.Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    public void Split_ClientsBelowOne_Error(int clients)
    {
        var e = Assert.Throws<ArgumentException>(() => Partitioner.Parse("iid").Split(Synthetic(10), clients, 0));
        Assert.Contains("at least 1", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Split_TooManyShards_Error()
    {
        var e = Assert.Throws<ArgumentException>(() => Partitioner.Parse("shards:3").Split(Synthetic(10), 4, 0));
        Assert.Contains("cannot cut 10 rows into 12 shards", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("random", "unknown partitioning 'random'; valid partitionings are: iid, dirichlet:ALPHA")]
    [InlineData("iid:3", "unknown partitioning 'iid:3'")]
    [InlineData("", "no partitioning given")]
    [InlineData("dirichlet:0", "dirichlet alpha must be a number > 0")]
    [InlineData("dirichlet:-1", "dirichlet alpha must be a number > 0")]
    [InlineData("dirichlet:abc", "dirichlet alpha must be a number > 0")]
    [InlineData("dirichlet", "dirichlet alpha must be a number > 0")]
    [InlineData("shards:0", "shards K must be a whole number >= 1")]
    [InlineData("shards:1.5", "shards K must be a whole number >= 1")]
    [InlineData("column:", "column partitioning needs a column name")]
    public void Parse_BadSpec_OneLineArgumentException(string spec, string expectedStart)
    {
        var e = Assert.Throws<ArgumentException>(() => Partitioner.Parse(spec));
        Assert.StartsWith(expectedStart, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Theory]
    [InlineData("iid", "iid")]
    [InlineData(" Dirichlet:0.50 ", "dirichlet:0.5")]
    [InlineData("shards:2", "shards:2")]
    [InlineData("column:mote_id", "column:mote_id")]
    public void Parse_ValidSpec_RoundTripsToString(string spec, string expected)
    {
        Assert.Equal(expected, Partitioner.Parse(spec).ToString());
    }
}
