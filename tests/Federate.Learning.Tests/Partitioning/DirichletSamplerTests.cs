namespace Federate.Learning.Tests.Partitioning;

public sealed class DirichletSamplerTests
{
    [Theory]
    [InlineData(0.3)]
    [InlineData(1.0)]
    [InlineData(4.5)]
    public void Gamma_ManyDraws_MeanAndVarianceMatchShape(double shape)
    {
        var rng = new Random(42);
        const int N = 200_000;
        double sum = 0;
        double sq = 0;
        for (int i = 0; i < N; i++)
        {
            double g = DirichletSampler.Gamma(shape, rng);
            sum += g;
            sq += g * g;
        }

        double mean = sum / N;
        double variance = (sq / N) - (mean * mean);
        Assert.InRange(mean, shape * 0.98, shape * 1.02);
        Assert.InRange(variance, shape * 0.95, shape * 1.05);
    }

    [Theory]
    [InlineData(0.001)]
    [InlineData(0.1)]
    [InlineData(1000)]
    public void Sample_AnyAlpha_PointOnSimplex(double alpha)
    {
        var p = new double[10];
        DirichletSampler.Sample(alpha, p, new Random(1));
        Assert.All(p, v => Assert.True(v >= 0 && double.IsFinite(v)));
        Assert.Equal(1.0, p.Sum(), 9);
    }
}
