using Federate.Core.Privacy;

namespace Federate.Core.Tests.Privacy;

public sealed class PrivacyMathTests
{
    // Reference values from the C library's erfc/erf (glibc, accurate to about 1 ulp).
    [Theory]
    [InlineData(-3.0, 1.9999779095030015)]
    [InlineData(-1.0, 1.842700792949715)]
    [InlineData(-0.3, 1.3286267594591274)]
    [InlineData(0.0, 1.0)]
    [InlineData(0.1, 0.8875370839817152)]
    [InlineData(0.3, 0.6713732405408726)]
    [InlineData(0.5, 0.4795001221869535)]
    [InlineData(0.7, 0.32219880616258156)]
    [InlineData(1.0, 0.15729920705028513)]
    [InlineData(1.5, 0.033894853524689274)]
    [InlineData(1.9, 0.0072095707647425325)]
    [InlineData(2.0, 0.004677734981047265)]
    [InlineData(2.1, 0.002979466656332984)]
    [InlineData(3.0, 2.2090496998585438e-05)]
    [InlineData(5.0, 1.5374597944280351e-12)]
    [InlineData(8.0, 1.1224297172982928e-29)]
    [InlineData(10.0, 2.088487583762545e-45)]
    [InlineData(14.0, 3.037229847750312e-87)]
    [InlineData(20.0, 5.3958656116079005e-176)]
    [InlineData(26.0, 5.663192408856143e-296)]
    public void Erfc_KnownPoints_RelativeErrorBelow1e14(double x, double expected)
    {
        Assert.True(DpReference.RelErr(PrivacyMath.Erfc(x), expected) < 1e-14, $"erfc({x}) = {PrivacyMath.Erfc(x):R}");
    }

    [Theory]
    [InlineData(0.1, 0.1124629160182849)]
    [InlineData(0.5, 0.5204998778130465)]
    [InlineData(1.5, 0.9661051464753108)]
    [InlineData(-1.0, -0.8427007929497149)]
    [InlineData(3.0, 0.9999779095030014)]
    public void Erf_KnownPoints_RelativeErrorBelow1e15(double x, double expected)
    {
        Assert.True(DpReference.RelErr(PrivacyMath.Erf(x), expected) < 1e-15, $"erf({x}) = {PrivacyMath.Erf(x):R}");
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(1.99)]
    [InlineData(2.0)]
    [InlineData(5.0)]
    [InlineData(14.14)]
    public void LogNdtr_AcrossBranchBoundaries_IsContinuousAndMatchesErfc(double u)
    {
        // ln Phi(-u sqrt 2) = ln(erfc(u) / 2)
        double t = -u * Math.Sqrt(2);
        double expected = Math.Log(0.5 * PrivacyMath.Erfc(u));
        Assert.True(DpReference.RelErr(PrivacyMath.LogNdtr(t), expected) < 1e-13);
    }

    [Fact]
    public void LogNdtr_AsymptoticBranch_ContinuousAtMinus20()
    {
        double below = PrivacyMath.LogNdtr(-20.0 - 1e-12);
        double above = PrivacyMath.LogNdtr(-20.0);
        // d/dt ln Phi(t) ~ -t = 20 near t = -20
        Assert.True(Math.Abs(above - below - 20.0 * 1e-12) < 1e-12 * Math.Abs(above));
        Assert.Equal(double.NegativeInfinity, PrivacyMath.LogNdtr(double.NegativeInfinity));
        Assert.Equal(0.0, PrivacyMath.LogNdtr(50.0));
    }

    [Fact]
    public void Log1PAndExpM1_SmallArguments_AreAccurate()
    {
        Assert.True(DpReference.RelErr(PrivacyMath.Log1P(1e-10), 9.999999999500001e-11) < 1e-15);
        Assert.True(DpReference.RelErr(PrivacyMath.Log1P(-0.3), -0.35667494393873234) < 1e-15);
        Assert.True(DpReference.RelErr(PrivacyMath.ExpM1(1e-7), 1.0000000500000016e-07) < 1e-15);
        Assert.True(DpReference.RelErr(PrivacyMath.ExpM1(0.3), 0.3498588075760031) < 1e-15);
        Assert.True(DpReference.RelErr(PrivacyMath.ExpM1(-2.5), -0.9179150013761013) < 1e-15);
    }

    [Fact]
    public void LogAddAndLogSub_RoundTrip_AndEdgeCases()
    {
        double a = Math.Log(3.0), b = Math.Log(5.0);
        Assert.True(DpReference.RelErr(PrivacyMath.LogAdd(a, b), Math.Log(8.0)) < 1e-15);
        Assert.True(DpReference.RelErr(PrivacyMath.LogSub(b, a), Math.Log(2.0)) < 1e-15);
        Assert.Equal(a, PrivacyMath.LogAdd(double.NegativeInfinity, a));
        Assert.Equal(a, PrivacyMath.LogSub(a, double.NegativeInfinity));
        Assert.Equal(double.NegativeInfinity, PrivacyMath.LogSub(a, a));
        Assert.Equal(1000.0, PrivacyMath.LogSub(1000.0, -1000.0)); // exp overflow: the larger term wins
        Assert.Throws<InvalidOperationException>(() => PrivacyMath.LogSub(a, b));
    }

    [Fact]
    public void Binomial_IntegerArguments_AreExactAndSymmetric()
    {
        Assert.Equal(252.0, PrivacyMath.Binomial(10, 5));
        Assert.Equal(PrivacyMath.Binomial(63, 20), PrivacyMath.Binomial(63, 43));
        Assert.True(DpReference.RelErr(PrivacyMath.Binomial(63, 31), 916312070471295267.0) < 1e-14);
        Assert.Equal(0.0, PrivacyMath.Binomial(5, 6));
        Assert.Equal(1.0, PrivacyMath.Binomial(1.1, 0));
    }

    [Fact]
    public void RdpOneStep_SpecialCases_FollowReference()
    {
        Assert.Equal(0.0, PrivacyMath.RdpOneStep(0.0, 1.0, 2.5));
        Assert.Equal(double.PositiveInfinity, PrivacyMath.RdpOneStep(0.1, 0.0, 2.5));
        Assert.Equal(2.5 / 2.0, PrivacyMath.RdpOneStep(1.0, 1.0, 2.5));
        // Integer order 2 has the closed form ln(1 + q^2 (e^{1/sigma^2} - 1)).
        double q = 0.1, sigma = 1.3;
        double closed = Math.Log(1 + q * q * (Math.Exp(1 / (sigma * sigma)) - 1));
        Assert.True(DpReference.RelErr(PrivacyMath.RdpOneStep(q, sigma, 2.0), closed) < 1e-13);
    }
}
