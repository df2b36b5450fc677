using Federate.Core;

namespace Federate.Core.Tests;

public class StrategiesTests
{
    private static RoundContext Round(int r = 1) => new() { RunId = "r", Round = r, Seed = 0 };

    private static float[] Aggregate(Strategy strategy, float[] global, params (float[] X, double N)[] updates) => Aggregate(strategy, Round(), global, updates);

    private static float[] Aggregate(Strategy strategy, RoundContext context, float[] global, params (float[] X, double N)[] updates)
    {
        var agg = strategy.CreateTrainAggregator(context, Records.Vector(global));
        long node = 1;
        foreach (var (x, n) in updates)
        {
            Assert.Null(agg.Add(Records.Reply(Records.Vector(x), n, node++)));
        }

        return agg.Complete().Parameters!["w"].AsSpan<float>().ToArray();
    }

    private static (float[], double) U(params float[] x) => (x, 10);

    [Fact]
    public void Median_OddAndEvenCounts()
    {
        Assert.Equal(new[] { 2f, 10f }, Aggregate(new FedMedian(), [0, 0], U(1, 10), U(2, 20), U(100, -5)));
        Assert.Equal(new[] { 2.5f }, Aggregate(new FedMedian(), [0], U(1), U(2), U(3), U(100)));
    }

    [Fact]
    public void TrimmedMean_DropsExtremes()
    {
        // floor(0.2 * 5) = 1 value trimmed at each end: mean(2, 3, 4) = 3.
        Assert.Equal(new[] { 3f }, Aggregate(new FedTrimmedAvg { TrimFraction = 0.2 }, [0], U(100), U(2), U(1), U(4), U(3)));
        Assert.Equal(new[] { 22f }, Aggregate(new FedTrimmedAvg { TrimFraction = 0 }, [0], U(100), U(2), U(1), U(4), U(3)));
    }

    [Fact]
    public void Krum_PicksTheMostCentralUpdate()
    {
        // n = 5, f = 1: each score sums the 2 smallest squared distances: 0 -> 5, 1 -> 2, 2 -> 2, 3 -> 5, 100 -> large.
        Assert.Equal(new[] { 1f }, Aggregate(new Krum { Byzantine = 1 }, [0], U(0), U(1), U(2), U(3), U(100)));
        Assert.Equal(new[] { 1.5f }, Aggregate(new Krum { Byzantine = 1, Keep = 2, Multi = true }, [0], U(0), U(1), U(2), U(3), U(100)));
    }

    [Fact]
    public void Bulyan_SelectsByKrumThenAveragesAroundMedian()
    {
        // n = 7, f = 1: repeated Krum selects {2, 3, 1, 4, 0}; beta = 3 values closest to the median 2: 1, 2, 3.
        Assert.Equal(new[] { 2f }, Aggregate(new Bulyan { Byzantine = 1 }, [0], U(0), U(1), U(2), U(3), U(4), U(5), U(1000)));
        Assert.Equal(3.0, Bulyan.ClosestToMedianMean<double>(new double[] { 9, 1, 3, 2, 4, 100, -50 }, 3));
    }

    [Fact]
    public void FedAdam_FirstStep_MatchesFormula()
    {
        var s = new FedAdam { ServerLearningRate = 0.01, Beta1 = 0.9, Beta2 = 0.99, Tau = 1e-3 };
        var w = Aggregate(s, [0f], U(1f));
        // d = 1, m = 0.1, v = 0.01, eta_t = 0.01 * sqrt(1 - 0.99^2) / (1 - 0.9^2)
        double eta = 0.01 * Math.Sqrt(1 - (0.99 * 0.99)) / (1 - (0.9 * 0.9));
        Assert.Equal(eta * 0.1 / (0.1 + 1e-3), w[0], 6);
    }

    [Fact]
    public void FedYogi_FirstStepEqualsAdamFromZeroState()
    {
        var adam = Aggregate(new FedAdam { ServerLearningRate = 0.01 }, [0f, 0f], U(1f, -2f));
        var yogi = Aggregate(new FedYogi { ServerLearningRate = 0.01 }, [0f, 0f], U(1f, -2f));
        Assert.Equal(adam, yogi);
    }

    [Fact]
    public void FedAdagrad_Step_MatchesFormula()
    {
        var w = Aggregate(new FedAdagrad { ServerLearningRate = 0.1, Tau = 1e-3 }, [1f], U(3f));
        Assert.Equal(1 + (0.1 * 2 / (2 + 1e-3)), w[0], 6);
    }

    [Fact]
    public void FedAvgM_MomentumAccumulatesAcrossRounds()
    {
        var s = new FedAvgM { ServerLearningRate = 1.0, Momentum = 0.9 };
        Assert.Equal(new[] { 1f }, Aggregate(s, Round(1), [0f], U(1f)));
        // d = 0.5, m = 0.9 * 1 + 0.5 = 1.4, w = 1 + 1.4
        Assert.Equal(2.4f, Aggregate(s, Round(2), [1f], U(1.5f))[0], 5);
    }

    [Fact]
    public void QFedAvg_QZero_IsUnweightedMean()
    {
        var w = Aggregate(new QFedAvg { Q = 0, LearningRate = 0.1 }, [0f], ([1f], 1), ([4f], 100));
        Assert.Equal(2.5f, w[0], 5);
    }

    [Fact]
    public void QFedAvg_QOne_FavoursHighLossClients()
    {
        static Message Reply(float x, double initialLoss, long node)
        {
            var m = Records.Reply(Records.Vector(x), 10, node);
            m.Content!.Metrics[RecordNames.Metrics]["initial_loss"] = initialLoss;
            return m;
        }

        var agg = new QFedAvg { Q = 1, LearningRate = 1 }.CreateTrainAggregator(Round(), Records.Vector(0f));
        agg.Add(Reply(1f, 1.0, 1));
        agg.Add(Reply(-1f, 3.0, 2));
        var w = agg.Complete().Parameters!["w"].AsSpan<float>()[0];
        // L = 1; Δ1 = -1, Δ2 = 1; h_k = q F^(q-1) |Δ|^2 + L F^q = 1 + F; weights F: w = -(1*(-1) + 3*1) / (2 + 4) = -1/3.
        Assert.Equal(-1f / 3f, w, 5);
    }

    [Fact]
    public void FedProx_SendsProximalMu()
    {
        var nodes = new[] { new NodeInfo(1, "a") };
        var m = new FedProx { ProximalMu = 0.3 }.ConfigureTrain(Round(), Records.Vector(0), new ConfigRecord(), nodes);
        Assert.Equal(0.3, m[0].Content!.Configs[RecordNames.Config].GetDouble("proximal_mu", 0));
    }

    [Fact]
    public async Task AcceptFailuresFalse_KeepsModelWhenAClientFails()
    {
        var ok = new FixedClient((p, r) => Records.Vector(5), 1, _ => 0.5).ToClientApp();
        var bad = new ModularClientApp((m, ct) => throw new InvalidOperationException("down"));
        var grid = new DirectGrid(new Dictionary<long, IClientApp> { [1] = ok, [2] = bad });
        var strategy = StrategyCatalog.Create("fedavg", new SamplingOptions(), new StrategyOptions { AcceptFailures = false });
        var result = await new RunDriver(grid, strategy, new RunOptions { Rounds = 1 }).RunAsync(Records.Vector(0)).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0f, result.Parameters["w"].AsSpan<float>()[0]);
    }

    [Theory]
    [InlineData("trim", "--trim-fraction must be in [0, 0.5)")]
    [InlineData("mu", "--proximal-mu must be non-negative")]
    [InlineData("byz", "--byzantine must be non-negative")]
    public void Catalog_BadParameters_OneLineError(string kind, string expected)
    {
        var o = kind switch
        {
            "trim" => new StrategyOptions { TrimFraction = 0.5 },
            "mu" => new StrategyOptions { ProximalMu = -1 },
            _ => new StrategyOptions { Byzantine = -1 },
        };
        var ex = Assert.Throws<ArgumentException>(() => StrategyCatalog.Create("median", new SamplingOptions(), o));
        Assert.StartsWith(expected, ex.Message);
    }

    [Fact]
    public void Catalog_CreatesEveryNamedStrategy()
    {
        foreach (var name in StrategyCatalog.Names)
        {
            Assert.Equal(name, StrategyCatalog.Create(name, new SamplingOptions()).Name);
        }
    }
}

public class SelectionTests
{
    [Fact]
    public void Select_AgreesWithSortOnRandomData()
    {
        var rng = new Random(11);
        for (int trial = 0; trial < 500; trial++)
        {
            int n = rng.Next(1, 60);
            var values = Enumerable.Range(0, n).Select(_ => (float)Math.Round(rng.NextDouble() * 10, 1)).ToArray();
            var sorted = values.Order().ToArray();
            int k = rng.Next(n);
            var copy = values.ToArray();
            Selection.Select<float>(copy, k);
            Assert.Equal(sorted[k], copy[k]);
            Assert.All(copy[..k], v => Assert.True(v <= copy[k]));
            Assert.All(copy[(k + 1)..], v => Assert.True(v >= copy[k]));

            var median = n % 2 == 1 ? sorted[n / 2] : (sorted[(n / 2) - 1] + sorted[n / 2]) / 2;
            Assert.Equal(median, Selection.Median<float>(values.ToArray()), 5);
            int trim = rng.Next(0, (n - 1) / 2 + 1);
            var expected = sorted.Skip(trim).Take(n - (2 * trim)).Average();
            Assert.Equal(expected, Selection.TrimmedMean<float>(values.ToArray(), trim), 4);
        }
    }
}

public class PairwiseDistanceTests
{
    [Fact]
    public void PairwiseSquaredDistances_MatchDirectComputation()
    {
        var rng = new Random(5);
        var updates = Enumerable.Range(0, 7).Select(c =>
        {
            var a = Enumerable.Range(0, 3000).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
            var b = Enumerable.Range(0, 10).Select(_ => rng.NextDouble()).ToArray();
            var record = new ArrayRecord { { "a", Tensor.FromArray(a, 3000) }, { "b", Tensor.FromArray(b, 10) } };
            return new ClientUpdate(c + 1, record, 1, new MetricRecord());
        }).ToList();
        var d = Krum.PairwiseSquaredDistances(updates);
        for (int i = 0; i < updates.Count; i++)
        {
            Assert.Equal(0, d[i, i]);
            for (int j = 0; j < updates.Count; j++)
            {
                double expected = UpdateMath.SquaredDistance(updates[i].Parameters, updates[j].Parameters);
                Assert.Equal(expected, d[i, j], expected * 1e-5);
            }
        }
    }
}
