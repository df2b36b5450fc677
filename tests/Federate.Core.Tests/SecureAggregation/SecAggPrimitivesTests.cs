using Federate.Core.SecureAggregation;
using Federate.Core.SecureAggregation.Internal;

namespace Federate.Core.Tests.SecureAggregation;

public class SecAggPrimitivesTests
{
    [Fact]
    public void Combine_AnyThresholdShares_RebuildTheSecret_FewerDoNot()
    {
        var secret = ShamirSharing.RandomSecret();
        var shares = ShamirSharing.Split(secret, 7, 4);

        foreach (var subset in new[] { new[] { 1, 2, 3, 4 }, [7, 5, 3, 1], [2, 4, 6, 7] })
        {
            Assert.Equal(secret, ShamirSharing.Combine([.. subset.Select(x => (x, shares[x - 1]))]));
        }

        Assert.NotEqual(secret, ShamirSharing.Combine([.. new[] { 1, 2, 3 }.Select(x => (x, shares[x - 1]))]));
        Assert.Throws<ArgumentException>(() => ShamirSharing.Combine([(1, shares[0]), (1, shares[0])]));
    }

    [Fact]
    public void Apply_MaskThenUnmask_GivesBackTheVector()
    {
        var seed = new byte[32];
        seed[0] = 9;
        var vector = Enumerable.Range(0, 100_003).Select(i => (uint)i).ToArray();
        var copy = vector.ToArray();

        MaskStream.Apply(seed, vector, 1);
        Assert.NotEqual(copy, vector);
        MaskStream.Apply(seed, vector, -1);

        Assert.Equal(copy, vector);
    }

    [Fact]
    public void Quantize_ClipsAndRoundsWithinHalfAStep()
    {
        var q = new Quantizer(8, 1 << 22);

        Assert.Equal(0u, q.Quantize(-100));
        Assert.Equal((uint)((1 << 22) - 1), q.Quantize(100));
        double sum = 0;
        uint total = 0;
        foreach (var v in new[] { 0.123456, -3.5, 7.999 })
        {
            total += q.Quantize(v);
            sum += v;
        }

        Assert.True(Math.Abs(q.Dequantize(total, 3) - sum) <= 3 * q.MaxError);
    }

    [Fact]
    public void TryImportPrivate_KeyOfAnotherPair_Refused()
    {
        using var a = KeyAgreement.Create();
        using var b = KeyAgreement.Create();

        Assert.NotNull(KeyAgreement.TryImportPrivate(KeyAgreement.ExportPrivate(a), KeyAgreement.ExportPublic(a)));
        Assert.Null(KeyAgreement.TryImportPrivate(KeyAgreement.ExportPrivate(b), KeyAgreement.ExportPublic(a)));
        Assert.Null(KeyAgreement.TryImportPublic(new byte[64]));
    }

    [Fact]
    public void Graph_IsRegularSymmetricAndSeeded()
    {
        var nodes = Enumerable.Range(1, 100).Select(i => (long)i).ToArray();
        var settings = new SecAggPlusSettings();
        int k = settings.Degree(100);
        var g = new CommunicationGraph(nodes, k, new Random(5));

        Assert.Equal(14, k);
        Assert.Equal(8, settings.Threshold(100));
        Assert.All(nodes, n => Assert.Equal(k, g.Neighbours(n).Count));
        Assert.All(nodes, n => Assert.All(g.Neighbours(n), m => Assert.True(g.AreNeighbours(m, n))));
        Assert.Equal(g.Neighbours(17), new CommunicationGraph(nodes, k, new Random(5)).Neighbours(17));
    }

    [Theory]
    [InlineData(1, null, 8.0, 1L << 22, 1L << 32, "'secagg_shares' must be at least 2, got 1")]
    [InlineData(4, 6, 8.0, 1L << 22, 1L << 32, "'secagg_threshold' (6) cannot exceed 'secagg_shares' (4)")]
    [InlineData(null, null, 0.5, 1L << 22, 1L << 32, "'secagg_clip' must be a finite number of at least 1 (the masked weight lies in [0, 1]), got 0.5")]
    [InlineData(null, null, 8.0, 1L << 22, 3_000_000_000L, "'secagg_modulus' must be a power of two from 4 to 2^32 (4294967296), got 3000000000")]
    [InlineData(null, null, 8.0, 1L << 24, 1L << 24, "'secagg_quantization' must be from 2 to below 'secagg_modulus' (16777216), got 16777216")]
    public void Validate_BadSettings_NameTheSetting(int? shares, int? threshold, double clip, long quantization, long modulus, string expected)
    {
        var settings = new SecAggPlusSettings { NumShares = shares, ReconstructionThreshold = threshold, ClippingRange = clip, QuantizationRange = quantization, ModulusRange = modulus };

        Assert.Equal(expected, settings.Validate());
    }

    [Fact]
    public void ValidateClients_SumCouldWrap_Refused()
    {
        var settings = new SecAggPlusSettings();

        Assert.Null(settings.ValidateClients(1000));
        Assert.Equal("1100 clients' quantized values could wrap around 'secagg_modulus' 4294967296: lower 'secagg_quantization' below 3904516 or sample fewer clients", settings.ValidateClients(1100));
    }
}
