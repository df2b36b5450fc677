using Federate.Core.Privacy;

namespace Federate.Core.Tests.Privacy;

public sealed class RdpAccountantTests
{
    [Fact]
    public void Step_ConsecutiveIdenticalParameters_MergesEntries()
    {
        var acc = new RdpAccountant();
        acc.Step(1.0, 0.01);
        acc.Step(1.0, 0.01, 9);
        acc.Step(1.5, 0.01, 5);
        acc.Step(1.0, 0.01);
        acc.Step(1.0, 0.01, 0);
        Assert.Equal(
            [new RdpHistoryEntry(1.0, 0.01, 10), new RdpHistoryEntry(1.5, 0.01, 5), new RdpHistoryEntry(1.0, 0.01, 1)],
            acc.History);
    }

    [Fact]
    public void GetPrivacySpent_EmptyHistory_ReturnsZeroLikeOpacus()
    {
        Assert.Equal((0.0, 0.0), new RdpAccountant().GetPrivacySpent(1e-5));
    }

    [Fact]
    public void GetEpsilon_ComposedEqualsMergedSingleEntry()
    {
        var a = new RdpAccountant();
        a.Step(1.1, 0.05, 300);
        var b = new RdpAccountant();
        b.Step(1.1, 0.05, 100);
        b.Step(1.1, 0.05, 200);
        Assert.Single(b.History);
        Assert.Equal(a.GetEpsilon(1e-5), b.GetEpsilon(1e-5));
    }

    [Fact]
    public void GetEpsilon_MoreNoise_GivesLessEpsilon()
    {
        var low = new RdpAccountant();
        low.Step(0.8, 0.01, 1000);
        var high = new RdpAccountant();
        high.Step(1.6, 0.01, 1000);
        Assert.True(high.GetEpsilon(1e-5) < low.GetEpsilon(1e-5));
    }

    [Fact]
    public void ExportImportState_RoundTrip_GivesSameHistoryAndEpsilon()
    {
        var acc = new RdpAccountant();
        acc.Step(0.1 + 0.2, 1.0 / 3.0, 7);
        acc.Step(1.0, 0.01, 100);
        acc.Step(1.5, 0.02, 50);
        string json = acc.ExportState();
        var back = RdpAccountant.ImportState(json);
        Assert.Equal(acc.History, back.History);
        Assert.Equal(acc.GetPrivacySpent(1e-5), back.GetPrivacySpent(1e-5));
        Assert.Equal(json, back.ExportState());
        Assert.Contains("\"format\":\"federate.rdp_accountant\"", json, StringComparison.Ordinal);
    }

    [Fact]
    public void ExportState_KnownHistory_IsTheDocumentedCompactJson()
    {
        var acc = new RdpAccountant();
        acc.Step(0.1 + 0.2, 1.0 / 3.0, 7);
        Assert.Equal(
            "{\"format\":\"federate.rdp_accountant\",\"version\":1,\"history\":[{\"noise_multiplier\":0.30000000000000004,\"sample_rate\":0.3333333333333333,\"steps\":7}]}",
            acc.ExportState());
    }

    [Fact]
    public void ExportImportState_EmptyAccountant_RoundTrips()
    {
        var back = RdpAccountant.ImportState(new RdpAccountant().ExportState());
        Assert.Empty(back.History);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[]")]
    [InlineData("{\"format\":\"other\",\"version\":1,\"history\":[]}")]
    [InlineData("{\"format\":\"federate.rdp_accountant\",\"version\":2,\"history\":[]}")]
    [InlineData("{\"format\":\"federate.rdp_accountant\",\"version\":1}")]
    [InlineData("{\"format\":\"federate.rdp_accountant\",\"version\":1,\"history\":[{\"noise_multiplier\":1,\"sample_rate\":0.1}]}")]
    [InlineData("{\"format\":\"federate.rdp_accountant\",\"version\":1,\"history\":[{\"noise_multiplier\":\"1\",\"sample_rate\":0.1,\"steps\":1}]}")]
    [InlineData("{\"format\":\"federate.rdp_accountant\",\"version\":1,\"history\":[{\"noise_multiplier\":-1,\"sample_rate\":0.1,\"steps\":1}]}")]
    [InlineData("{\"format\":\"federate.rdp_accountant\",\"version\":1,\"history\":[{\"noise_multiplier\":1,\"sample_rate\":1.5,\"steps\":1}]}")]
    [InlineData("{\"format\":\"federate.rdp_accountant\",\"version\":1,\"history\":[{\"noise_multiplier\":1,\"sample_rate\":0.5,\"steps\":2.5}]}")]
    public void ImportState_InvalidInput_ThrowsOneLineFormatException(string json)
    {
        var ex = Assert.Throws<FormatException>(() => RdpAccountant.ImportState(json));
        Assert.StartsWith("Invalid RDP accountant state: ", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Theory]
    [InlineData(-0.1, 0.1, 1, "noiseMultiplier")]
    [InlineData(double.NaN, 0.1, 1, "noiseMultiplier")]
    [InlineData(1.0, -0.01, 1, "sampleRate")]
    [InlineData(1.0, 1.01, 1, "sampleRate")]
    [InlineData(1.0, 0.1, -1, "steps")]
    public void Step_InvalidArguments_ThrowsNamingParameterAndRange(double sigma, double q, int steps, string param)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new RdpAccountant().Step(sigma, q, steps));
        Assert.Equal(param, ex.ParamName);
        Assert.Matches(@"\[0, 1\]|>= 0", ex.Message);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    [InlineData(-1e-5)]
    [InlineData(double.NaN)]
    public void GetEpsilon_DeltaOutsideOpenUnitInterval_Throws(double delta)
    {
        var acc = new RdpAccountant();
        acc.Step(1.0, 0.1);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => acc.GetEpsilon(delta));
        Assert.Equal("delta", ex.ParamName);
        Assert.Contains("(0, 1)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ComputeRdp_InvalidArguments_NameSigmaAndQ()
    {
        Assert.Equal("sigma", Assert.Throws<ArgumentOutOfRangeException>(() => RdpAccountant.ComputeRdp(0.1, -1, 1, [2.0])).ParamName);
        Assert.Equal("q", Assert.Throws<ArgumentOutOfRangeException>(() => RdpAccountant.ComputeRdp(2, 1, 1, [2.0])).ParamName);
        Assert.Equal("steps", Assert.Throws<ArgumentOutOfRangeException>(() => RdpAccountant.ComputeRdp(0.1, 1, -3, [2.0])).ParamName);
        Assert.Equal("orders", Assert.Throws<ArgumentOutOfRangeException>(() => RdpAccountant.ComputeRdp(0.1, 1, 1, [1.0])).ParamName);
    }

    [Fact]
    public void GetNoiseMultiplier_InvalidArguments_Throw()
    {
        Assert.Equal("targetEpsilon", Assert.Throws<ArgumentOutOfRangeException>(() => RdpAccountant.GetNoiseMultiplier(0, 1e-5, 0.1, 10)).ParamName);
        Assert.Equal("delta", Assert.Throws<ArgumentOutOfRangeException>(() => RdpAccountant.GetNoiseMultiplier(1, 2, 0.1, 10)).ParamName);
        Assert.Equal("sampleRate", Assert.Throws<ArgumentOutOfRangeException>(() => RdpAccountant.GetNoiseMultiplier(1, 1e-5, -0.1, 10)).ParamName);
        Assert.Equal("steps", Assert.Throws<ArgumentOutOfRangeException>(() => RdpAccountant.GetNoiseMultiplier(1, 1e-5, 0.1, -1)).ParamName);
        Assert.Equal("epsilonTolerance", Assert.Throws<ArgumentOutOfRangeException>(() => RdpAccountant.GetNoiseMultiplier(1, 1e-5, 0.1, 10, 0)).ParamName);
    }

    [Fact]
    public void GetNoiseMultiplier_UnreachableBudget_ThrowsBudgetTooLow()
    {
        // q = 0 still pays the conversion term (about 0.1 at delta 1e-5 over the default orders).
        var ex = Assert.Throws<ArgumentException>(() => RdpAccountant.GetNoiseMultiplier(0.01, 1e-5, 0.0, 10));
        Assert.Equal("targetEpsilon", ex.ParamName);
        Assert.Contains("too low", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GetNoiseMultiplier_Result_ReachesTargetWithinTolerance()
    {
        double sigma = RdpAccountant.GetNoiseMultiplier(2.0, 1e-5, 0.02, 500);
        var acc = new RdpAccountant();
        acc.Step(sigma, 0.02, 500);
        double eps = acc.GetEpsilon(1e-5);
        Assert.InRange(eps, 2.0 - 0.01, 2.0);
    }
}
