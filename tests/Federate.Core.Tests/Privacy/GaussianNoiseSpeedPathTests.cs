using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Federate.Core.Privacy;

namespace Federate.Core.Tests.Privacy;

/// <summary>
/// The fast paths of DP-SGD's randomness (fused polar refill, Poisson sampling without per-draw calls, the cached
/// one-step RDP) give exactly the numbers of the straightforward code they replace.
/// </summary>
public class GaussianNoiseSpeedPathTests
{
    [Fact]
    public void FillStandard_Seed42_SameStreamAsBeforeTheFusedRefill()
    {
        // SHA-256 of 100,003 floats (drawn as 5 + 99,998) from the generator as it was before the polar refill was fused
        // into one vectorised pass (separate passes, scalar packing): the noise of every DP-SGD run is unchanged.
        var x = new float[100_003];
        var g = new GaussianNoise(42);
        g.FillStandard(x.AsSpan(0, 5));
        g.FillStandard(x.AsSpan(5));
        Assert.Equal(-1.69108f, x[0]);
        Assert.Equal(1.2569951f, x[1]);
        Assert.Equal(0.4432555f, x[100_002]);
        Assert.Equal("11D4E1274A7F8CDEE076488622174C951A4871568FD2FB28DE3EFE2EEFCF2CE2", Convert.ToHexString(SHA256.HashData(MemoryMarshal.AsBytes(x.AsSpan()))));
    }

    [Theory]
    [InlineData(0, 0.5)]
    [InlineData(1, 0.5)]
    [InlineData(1000, 0.1)]
    [InlineData(5000, 1.0 / 3)]
    [InlineData(777, 0.0)]
    [InlineData(777, 1.0)]
    [InlineData(20000, 1e-4)]
    public void SampleIndices_SameChoicesAndStateAsNextDoubleLoop(int n, double q)
    {
        var reference = new GaussianNoise(11);
        var expected = new List<int>();
        for (int i = 0; i < n; i++)
        {
            if (reference.NextDouble() < q)
            {
                expected.Add(i);
            }
        }

        var fast = new GaussianNoise(11);
        var rows = new int[n];
        int count = fast.SampleIndices(n, q, rows);
        Assert.Equal(expected, rows.AsSpan(0, count).ToArray());
        Assert.Equal(reference.NextDouble(), fast.NextDouble()); // the generator advanced by exactly n draws
    }

    [Fact]
    public void SampleIndices_ThresholdIsExactAtTheBoundary()
    {
        // q equal to a draw: NextDouble() < q is false for that draw, and true for the next representable q above it.
        double draw = new GaussianNoise(3).NextDouble();
        var rows = new int[1];
        Assert.Equal(0, new GaussianNoise(3).SampleIndices(1, draw, rows));
        Assert.Equal(1, new GaussianNoise(3).SampleIndices(1, Math.BitIncrement(draw), rows));
    }

    [Fact]
    public void SampleIndices_DestinationTooShort_Throws()
    {
        var ex = Assert.Throws<ArgumentException>(() => new GaussianNoise(1).SampleIndices(10, 0.5, new int[9]));
        Assert.Contains("room", ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new GaussianNoise(1).SampleIndices(-1, 0.5, new int[1]));
    }

    [Fact]
    public void RdpAccountant_CachedOneStepRdp_EqualsFreshComputation()
    {
        // Twice the same (sigma, q): the second read comes from the cache and must match ComputeRdp bit for bit.
        var orders = RdpAccountant.DefaultOrders;
        foreach (var (sigma, q, steps) in new[] { (1.1, 0.25, 85), (0.7, 1.0 / 6, 12), (1.1, 0.25, 170), (2.0, 0.01, 1) })
        {
            var accountant = new RdpAccountant();
            accountant.Step(sigma, q, steps);
            var expected = RdpAccountant.PrivacySpentFromRdp(orders, RdpAccountant.ComputeRdp(q, sigma, steps, orders), 1e-5);
            Assert.Equal(expected, accountant.GetPrivacySpent(1e-5));
            Assert.Equal(expected, accountant.GetPrivacySpent(1e-5));
        }

        var mixed = new RdpAccountant();
        mixed.Step(1.1, 0.25, 85);
        mixed.Step(0.7, 1.0 / 6, 12);
        var a = RdpAccountant.ComputeRdp(0.25, 1.1, 85, orders);
        var b = RdpAccountant.ComputeRdp(1.0 / 6, 0.7, 12, orders);
        var total = new double[a.Length];
        for (int k = 0; k < total.Length; k++)
        {
            total[k] = 0 + a[k] + b[k];
        }

        Assert.Equal(RdpAccountant.PrivacySpentFromRdp(orders, total, 1e-5), mixed.GetPrivacySpent(1e-5));
    }
}
