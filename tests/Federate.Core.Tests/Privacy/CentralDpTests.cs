using Federate.Core.Privacy;

namespace Federate.Core.Tests.Privacy;

public class CentralDpTests
{
    private static readonly NodeInfo[] FourNodes = [new(1, "a"), new(2, "b"), new(3, "c"), new(4, "d")];

    private static RoundContext Context(int round = 1, int seed = 0) => new() { RunId = "r", Round = round, Seed = seed };

    private static ArrayRecord Aggregate(CentralDpStrategy strategy, ArrayRecord global, IReadOnlyList<NodeInfo> nodes, params float[][] models)
    {
        var context = Context();
        strategy.ConfigureTrain(context, global, new ConfigRecord(), nodes);
        var aggregator = strategy.CreateTrainAggregator(context, global);
        long node = 1;
        foreach (var m in models)
        {
            Assert.Null(aggregator.Add(Records.Reply(Records.Vector(m), 10 * node, node)));
            node++;
        }

        return aggregator.Complete().Parameters!;
    }

    [Fact]
    public void FixedClipping_ZeroNoise_ClipsEachUpdateAndDividesByExpectedClients()
    {
        var strategy = new CentralDpStrategy(new FedAvg(), new CentralDpOptions { NoiseMultiplier = 0, ClipNorm = 1, SampleRate = 1 });
        // Updates (3, 4) (norm 5, clipped to (0.6, 0.8)) and (0.3, 0.4) (norm 0.5, kept); example weights are ignored.
        var result = Aggregate(strategy, Records.Vector(1, 1), FourNodes[..2], [4, 5], [1.3f, 1.4f]);
        var w = result["w"].AsSpan<float>();
        Assert.Equal(1 + ((0.6 + 0.3) / 2), w[0], 5);
        Assert.Equal(1 + ((0.8 + 0.4) / 2), w[1], 5);
    }

    [Fact]
    public void FixedDenominator_IsSampleRateTimesAvailableClients()
    {
        // q = 0.5 of 4 clients: the denominator is 2 whoever is sampled.
        var strategy = new CentralDpStrategy(new FedAvg(), new CentralDpOptions { NoiseMultiplier = 0, ClipNorm = 10, SampleRate = 0.5 });
        var context = Context();
        var global = Records.Vector(0);
        strategy.ConfigureTrain(context, global, new ConfigRecord(), FourNodes);
        var aggregator = strategy.CreateTrainAggregator(context, global);
        Assert.Null(aggregator.Add(Records.Reply(Records.Vector(3), 1, 1)));
        Assert.Equal(1.5f, aggregator.Complete().Parameters!["w"].AsSpan<float>()[0], 5);
    }

    [Fact]
    public void ConfigureTrain_PoissonSampling_RateAndDeterminism()
    {
        var nodes = Enumerable.Range(1, 200).Select(i => new NodeInfo(i, $"n{i}")).ToArray();
        var strategy = new CentralDpStrategy(new FedAvg(), new CentralDpOptions { SampleRate = 0.25 });
        int total = 0;
        for (int round = 1; round <= 40; round++)
        {
            var a = strategy.ConfigureTrain(Context(round, 7), Records.Vector(0), new ConfigRecord(), nodes);
            var b = strategy.ConfigureTrain(Context(round, 7), Records.Vector(0), new ConfigRecord(), nodes);
            Assert.Equal(a.Select(m => m.Metadata.DestinationNodeId), b.Select(m => m.Metadata.DestinationNodeId));
            total += a.Count;
        }

        // 40 rounds x 200 clients x 0.25 = 2000 expected; std sqrt(8000 * 0.1875) = 39.
        Assert.InRange(total, 1850, 2150);
    }

    [Fact]
    public void Noise_SeededByRunSeedAndRound_RepeatsAndHasStdZSOverM()
    {
        ArrayRecord Run(int seed)
        {
            var strategy = new CentralDpStrategy(new FedAvg(), new CentralDpOptions { NoiseMultiplier = 2, ClipNorm = 0.5, SampleRate = 1 });
            var global = new ArrayRecord { { "w", Tensor.FromArray(new float[4000], 4000) } };
            var context = Context(1, seed);
            strategy.ConfigureTrain(context, global, new ConfigRecord(), FourNodes);
            var aggregator = strategy.CreateTrainAggregator(context, global);
            for (long n = 1; n <= 4; n++)
            {
                Assert.Null(aggregator.Add(Records.Reply(new ArrayRecord { { "w", Tensor.FromArray(new float[4000], 4000) } }, 1, n)));
            }

            return aggregator.Complete().Parameters!;
        }

        var a = Run(3)["w"].AsSpan<float>().ToArray();
        Assert.Equal(a, Run(3)["w"].AsSpan<float>().ToArray());
        Assert.NotEqual(a, Run(4)["w"].AsSpan<float>().ToArray());
        double std = Math.Sqrt(a.Average(v => (double)v * v));
        Assert.InRange(std, 0.25 * 0.95, 0.25 * 1.05); // z * S / m = 2 * 0.5 / 4
    }

    [Fact]
    public void AdaptiveClipping_ZeroNoise_MovesClipNormTowardTargetQuantile()
    {
        var options = new CentralDpOptions { Clipping = CentralClipping.Adaptive, NoiseMultiplier = 0, ClippedCountStddev = 0, ClipNorm = 1, TargetQuantile = 0.8, ClipLearningRate = 0.2, SampleRate = 1 };
        var strategy = new CentralDpStrategy(new FedAvg(), options);
        // Update norms 0.5, 3, 0.2, 2 with S = 1: two of four unclipped, fraction 0.5 < 0.8, so S grows by exp(0.2 * 0.3).
        Aggregate(strategy, Records.Vector(0), FourNodes, [0.5f], [3], [0.2f], [2]);
        Assert.Equal(Math.Exp(0.06), strategy.ClipNorm, 12);
        Assert.Equal(Math.Exp(0.06), CentralDpStrategy.NextClipNorm(1, 0.5, 0.8, 0.2), 12);
        Assert.Equal(Math.Exp(-0.2 * 0.5), CentralDpStrategy.NextClipNorm(1, 1.0, 0.5, 0.2), 12);
    }

    [Fact]
    public void UpdateNoiseMultiplier_Adaptive_FollowsAndrewEtAl()
    {
        Assert.Equal(1.0, CentralDpStrategy.UpdateNoiseMultiplier(1.0, 0.1, CentralClipping.Fixed));
        // z = 1, sigma_b = 1: (1 - 1/4)^(-1/2).
        Assert.Equal(1 / Math.Sqrt(0.75), CentralDpStrategy.UpdateNoiseMultiplier(1.0, 1.0, CentralClipping.Adaptive), 12);
        var ex = Assert.Throws<ArgumentException>(() => CentralDpStrategy.UpdateNoiseMultiplier(1.0, 0.4, CentralClipping.Adaptive));
        Assert.Contains("--clipped-count-stddev", ex.Message);
    }

    [Fact]
    public void UserLevelAccountant_ThreeRounds_EqualsRdpAccountant()
    {
        var strategy = new CentralDpStrategy(new FedAvg(), new CentralDpOptions { NoiseMultiplier = 1.3, ClipNorm = 1, SampleRate = 1, Delta = 1e-5 });
        var global = Records.Vector(0);
        MetricRecord metrics = new();
        for (int round = 1; round <= 3; round++)
        {
            var context = Context(round);
            strategy.ConfigureTrain(context, global, new ConfigRecord(), FourNodes[..1]);
            var aggregator = strategy.CreateTrainAggregator(context, global);
            Assert.Null(aggregator.Add(Records.Reply(Records.Vector(1), 1)));
            metrics = aggregator.Complete().Metrics;
        }

        var reference = new RdpAccountant();
        reference.Step(1.3, 1, 3);
        Assert.Equal(reference.GetEpsilon(1e-5), metrics[PrivacyNames.CumulativeUserEpsilon], 12);
        var four = new RdpAccountant();
        four.Step(1.3, 1, 4);
        Assert.Equal(four.GetEpsilon(1e-5), strategy.ProjectEpsilon(), 12);
    }

    [Fact]
    public void ExportImportState_ResumedStrategy_SameEpsilonAndClipNorm()
    {
        var options = new CentralDpOptions { Clipping = CentralClipping.Adaptive, NoiseMultiplier = 0, ClippedCountStddev = 0, ClipNorm = 1, TargetQuantile = 0.9, SampleRate = 0.5 };
        var strategy = new CentralDpStrategy(new FedAvg(), options);
        Aggregate(strategy, Records.Vector(0), FourNodes, [0.5f]);
        var resumed = new CentralDpStrategy(new FedAvg(), options);
        resumed.ImportState(strategy.ExportState());
        Assert.Equal(strategy.ClipNorm, resumed.ClipNorm);
        Assert.NotEqual(1.0, resumed.ClipNorm);
        Assert.Equal(strategy.Accountant.History, resumed.Accountant.History);
        Assert.Throws<FormatException>(() => resumed.ImportState("{\"format\":\"other\"}"));
    }

    [Fact]
    public void Options_Invalid_OneLineProblem()
    {
        Assert.Contains("--client-sample-rate", new CentralDpOptions { SampleRate = 0 }.Validate());
        Assert.Contains("--clip-norm", new CentralDpOptions { ClipNorm = -1 }.Validate());
        Assert.Throws<ArgumentException>(() => new CentralDpStrategy(new FedAvg(), new CentralDpOptions { TargetQuantile = 2 }));
    }
}
