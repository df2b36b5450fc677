namespace Federate.Learning.Tests.Partitioning;

public sealed class TrainTestSplitTests
{
    [Fact]
    public void Split_Fraction_TestSizeIsRoundedShareAndCoversAll()
    {
        int[] rows = [.. Enumerable.Range(100, 50)];
        var (train, test) = TrainTestSplit.Split(rows, 0.2, 1);
        Assert.Equal(10, test.Length);
        Assert.Equal(40, train.Length);
        Assert.Equal(rows, train.Concat(test).Order());
        Assert.Equal(train.Order(), train);
        Assert.Equal(test.Order(), test);
    }

    [Fact]
    public void Split_SameSeed_Deterministic_DifferentSeed_Differs()
    {
        int[] rows = [.. Enumerable.Range(0, 100)];
        var a = TrainTestSplit.Split(rows, 0.25, 3);
        var b = TrainTestSplit.Split(rows, 0.25, 3);
        var c = TrainTestSplit.Split(rows, 0.25, 4);
        Assert.Equal(a.Train, b.Train);
        Assert.Equal(a.Test, b.Test);
        Assert.NotEqual(a.Test, c.Test);
    }

    [Theory]
    [InlineData(2, 0.01, 1)]
    [InlineData(3, 0.0, 1)]
    [InlineData(10, 0.99, 9)]
    [InlineData(1, 0.5, 0)]
    [InlineData(0, 0.5, 0)]
    public void Split_SmallInputs_TestSizeClamped(int n, double fraction, int expectedTest)
    {
        var (train, test) = TrainTestSplit.Split([.. Enumerable.Range(0, n)], fraction, 0);
        Assert.Equal(expectedTest, test.Length);
        Assert.Equal(n - expectedTest, train.Length);
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.0)]
    [InlineData(double.NaN)]
    public void Split_BadFraction_Throws(double fraction)
    {
        var e = Assert.Throws<ArgumentException>(() => TrainTestSplit.Split([1, 2, 3], fraction, 0));
        Assert.StartsWith("test fraction must be at least 0 and below 1, got ", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }
}
