namespace Federate.Learning.Tests.Data;

public sealed class FeatureScalingTests
{
    [Fact]
    public void Standardize_Columns_ZeroMeanUnitPopulationStd()
    {
        float[] x = [1, 5, 2, 5, 3, 5, 4, 5];
        FeatureScaling.Standardize(x, 2);
        double mean = (x[0] + x[2] + x[4] + x[6]) / 4.0;
        double var = ((x[0] * x[0]) + (x[2] * x[2]) + (x[4] * x[4]) + (x[6] * x[6])) / 4.0;
        Assert.Equal(0, mean, 6);
        Assert.Equal(1, var, 5);
        Assert.Equal([0f, 0f, 0f, 0f], [x[1], x[3], x[5], x[7]]);
    }
}
