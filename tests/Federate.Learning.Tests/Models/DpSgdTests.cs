using Federate.Core;
using Federate.Core.Privacy;
using Federate.Learning.Internal;

namespace Federate.Learning.Tests.Models;

public class DpSgdTests
{
    private static DenseModel Create(string name, int features, int classes, int seed = 3)
    {
        var model = (DenseModel)ModelFactory.Create(name, features, classes);
        model.Initialize(seed);
        return model;
    }

    private static float Norm(ReadOnlySpan<float> v) => MathF.Sqrt(System.Numerics.Tensors.TensorPrimitives.SumOfSquares(v));

    private static float[] Flat(DifferentiableModel model)
    {
        var p = new float[model.ParameterCount];
        model.CopyParametersTo(p);
        return p;
    }

    [Theory]
    [InlineData("logistic")]
    [InlineData("mlp:16,8")]
    public void ClippedGradientSum_AnyDenseModel_MatchesMaterialisedPerExampleGradients(string name)
    {
        var data = SyntheticData.Blobs(12, 6, 3, seed: 1, separation: 8);
        var model = Create(name, 6, 3);
        int p = model.ParameterCount;
        const float clip = 0.3f;
        var perExample = new float[12 * p];
        model.PerExampleGradients(data.Features, data.Labels, perExample, new float[12]);
        var expected = new float[p];
        var expectedNorms = new float[12];
        for (int b = 0; b < 12; b++)
        {
            var row = perExample.AsSpan(b * p, p);
            expectedNorms[b] = Norm(row);
            float factor = Math.Min(1f, clip / expectedNorms[b]);
            System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(row, factor, expected, expected);
        }

        var sum = new float[p];
        var norms = new float[12];
        model.ClippedGradientSum(data.Features, data.Labels, clip, sum, norms);

        for (int b = 0; b < 12; b++)
        {
            Assert.Equal(expectedNorms[b], norms[b], expectedNorms[b] * 1e-4f);
        }

        Assert.True(expectedNorms.Any(n => n > clip), "some example must be clipped for the test to mean something");
        for (int i = 0; i < p; i++)
        {
            Assert.Equal(expected[i], sum[i], 1e-5f);
        }
    }

    [Theory]
    [InlineData("logistic")]
    [InlineData("mlp:16")]
    public void Train_ZeroNoise_EachExampleContributionAtMostClipNorm(string name)
    {
        var data = SyntheticData.Blobs(20, 5, 2, seed: 2, separation: 50);
        const double clip = 0.25;
        foreach (var row in Enumerable.Range(0, data.Count))
        {
            // One example, batch 1: q = 1, expected batch 1, so the update is -lr * (clipped gradient of that example).
            var one = data.Subset([row]);
            var model = Create(name, 5, 2);
            var before = Flat(model);
            var options = new TrainOptions { Epochs = 1, BatchSize = 1, LearningRate = 1, Seed = row, DpSgd = new DpSgdOptions { NoiseMultiplier = 0, MaxGradNorm = clip } };
            model.Train(one, options, CancellationToken.None);
            var after = Flat(model);
            System.Numerics.Tensors.TensorPrimitives.Subtract(after, before, after);
            Assert.True(Norm(after) <= clip * (1 + 1e-5), $"example {row}: contribution {Norm(after)} > {clip}");
        }
    }

    [Fact]
    public void Train_NoiseDominates_UpdateStdIsSigmaTimesClipOverExpectedBatch()
    {
        // 16 examples, batch 16: one step with q = 1 and expected batch L = 16. With sigma*C = 1 and a clipped sum of
        // norm at most 16 * 1e-4, the update of each of the 1,005 parameters is ~ N(0, (lr * sigma * C / L)^2).
        var data = SyntheticData.Blobs(16, 200, 5, seed: 4);
        var model = Create("logistic", 200, 5);
        var before = Flat(model);
        var options = new TrainOptions { Epochs = 1, BatchSize = 16, LearningRate = 1, Seed = 9, DpSgd = new DpSgdOptions { NoiseMultiplier = 1e4, MaxGradNorm = 1e-4 } };
        var result = model.Train(data, options, CancellationToken.None);
        Assert.Equal(1, result.Steps);
        var delta = Flat(model);
        System.Numerics.Tensors.TensorPrimitives.Subtract(delta, before, delta);
        double mean = delta.Average(v => (double)v);
        double std = Math.Sqrt(delta.Average(v => (v - mean) * (v - mean)));
        Assert.InRange(std, 1.0 / 16 * 0.92, 1.0 / 16 * 1.08);
        Assert.InRange(mean, -0.2 / 16, 0.2 / 16);
    }

    [Fact]
    public void PoissonSample_Rate_MatchesQ()
    {
        var sampler = new GaussianNoise(5);
        var rows = new int[1000];
        var hits = new int[1000];
        long total = 0;
        const int draws = 400;
        for (int d = 0; d < draws; d++)
        {
            int count = NetworkTrainer.PoissonSample(sampler, 1000, 0.1, rows);
            total += count;
            for (int i = 0; i < count; i++)
            {
                hits[rows[i]]++;
            }
        }

        // Mean batch q*n = 100; its standard error is sqrt(1000 * 0.09 / 400) = 0.47.
        Assert.InRange(total / (double)draws, 98.5, 101.5);
        Assert.InRange(hits.Min(), 15, 65); // every example is sampled independently, around 40 times
        Assert.InRange(hits.Max(), 15, 65);
    }

    [Theory]
    [InlineData(1, 0.5)]
    [InlineData(15, 0.5)]
    [InlineData(4096, 2.0)]
    [InlineData(4097, 1.0)]
    [InlineData(10_000, 0.0)]
    [InlineData(101_770, 1.3)]
    public void NoisyStep_SameNumbersAsNoiseOnTheWholeGradientThenStep(int length, double std)
    {
        // The fused chunked step must give exactly what the unfused code gave: noise added to the whole gradient, then w += step·g.
        var random = new Random(length);
        var gradient = Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        var parameters = Enumerable.Range(0, length).Select(_ => (float)random.NextDouble()).ToArray();
        const float step = -0.037f;

        var expectedGradient = gradient.ToArray();
        var expected = parameters.ToArray();
        var reference = new GaussianNoise(77);
        reference.AddTo(expectedGradient.AsSpan(), std);
        System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(expectedGradient, step, expected, expected);

        var noise = new GaussianNoise(77);
        NetworkTrainer.NoisyStep(noise, gradient, std, step, parameters, new TrainingBuffers().Noise);
        Assert.Equal(expected, parameters);
        Assert.Equal(reference.NextDouble(), noise.NextDouble());
        var nextExpected = new float[3];
        var next = new float[3];
        reference.FillStandard(nextExpected);
        noise.FillStandard(next);
        Assert.Equal(nextExpected, next); // the noise stream continues from the same place
    }

    [Fact]
    public void NoisyStep_BadStd_Throws()
    {
        var values = new float[4];
        Assert.Throws<ArgumentOutOfRangeException>(() => NetworkTrainer.NoisyStep(new GaussianNoise(1), values, double.NaN, 1f, values, new float[16]));
        Assert.Throws<ArgumentOutOfRangeException>(() => NetworkTrainer.NoisyStep(new GaussianNoise(1), values, -1, 1f, values, new float[16]));
    }

    [Fact]
    public void Train_SameSeed_IdenticalParameters_DifferentSeedDiffers()
    {
        var data = SyntheticData.Blobs(100, 8, 3, seed: 6);
        float[] Run(int seed)
        {
            var model = Create("mlp:16", 8, 3);
            model.Train(data, new TrainOptions { Epochs = 2, BatchSize = 10, LearningRate = 0.1, Seed = seed, DpSgd = new DpSgdOptions() }, CancellationToken.None);
            return Flat(model);
        }

        Assert.Equal(Run(1), Run(1));
        Assert.NotEqual(Run(1), Run(2));
    }

    [Fact]
    public void Train_DpSgd_StillLearnsSeparableData()
    {
        var train = SyntheticData.Blobs(400, 4, 2, seed: 7, separation: 3);
        var model = Create("logistic", 4, 2);
        model.Train(train, new TrainOptions { Epochs = 5, BatchSize = 20, LearningRate = 0.5, Seed = 1, DpSgd = new DpSgdOptions { NoiseMultiplier = 1, MaxGradNorm = 1 } }, CancellationToken.None);
        var probabilities = model.PredictProbabilities(train);
        int correct = Enumerable.Range(0, train.Count).Count(i => (probabilities[2 * i + 1] > 0.5f ? 1 : 0) == train.Labels[i]);
        Assert.True(correct >= 0.9 * train.Count, $"accuracy {correct / (double)train.Count}");
    }

    [Fact]
    public void LearningClient_NoopModelUnderDpSgd_TrainsAndCountsStepsLikeARealModel()
    {
        // The noop model (transport and memory benchmarks) accepts DP-SGD; the accountant counts its steps exactly.
        var data = SyntheticData.Blobs(90, 4, 2, seed: 8);
        var dp = new ClientDpSgd(new DpSgdOptions { NoiseMultiplier = 1.1, MaxGradNorm = 1 }, new ClientPrivacyState(1e-5));
        var defaults = new TrainOptions { Epochs = 2, BatchSize = 16, LearningRate = 0.1 };
        Model Factory() => ModelFactory.Create("noop:10", 4, 2);
        var initial = Factory();
        initial.Initialize(0);
        var fit = new LearningClient(Factory, data, data, defaults, 0, 0, dp).Fit(initial.GetParameters(), new ConfigRecord { [RecordNames.ServerRound] = 1L }, CancellationToken.None);
        var accountant = new RdpAccountant();
        accountant.Step(1.1, 1.0 / 6, 12);
        Assert.Equal(accountant.GetEpsilon(1e-5), fit.Metrics["epsilon"], 12);
        Assert.Equal(10, fit.Parameters.ElementCount);
    }

    [Fact]
    public void LearningClient_NotAlways_UsesDpSgdOnlyWhenTheServerAsks()
    {
        var data = SyntheticData.Blobs(90, 4, 2, seed: 8);
        var dp = new ClientDpSgd(new DpSgdOptions { NoiseMultiplier = 1.1, MaxGradNorm = 1 }, new ClientPrivacyState(1e-5)) { Always = false };
        var defaults = new TrainOptions { Epochs = 1, BatchSize = 16, LearningRate = 0.1 };
        Model Factory() => ModelFactory.Create("logistic", 4, 2);
        var initial = Factory();
        initial.Initialize(0);
        var plain = new ConfigRecord { [RecordNames.ServerRound] = 1L };
        var asked = new ConfigRecord { [RecordNames.ServerRound] = 2L, [PrivacyNames.NoiseMultiplier] = 1.1 };
        var client = new LearningClient(Factory, data, data, defaults, 0, 0, dp);
        Assert.Null(client.ProjectEpsilon(plain));
        Assert.False(client.Fit(initial.GetParameters(), plain, CancellationToken.None).Metrics.ContainsKey("epsilon"));
        Assert.NotNull(client.ProjectEpsilon(asked));
        Assert.True(client.Fit(initial.GetParameters(), asked, CancellationToken.None).Metrics["epsilon"] > 0);
    }

    [Fact]
    public void LearningClient_TwoRounds_EpsilonEqualsAccountantForSameHistory()
    {
        var data = SyntheticData.Blobs(90, 4, 2, seed: 8);
        var state = new ClientPrivacyState(1e-5);
        var dp = new ClientDpSgd(new DpSgdOptions { NoiseMultiplier = 1.1, MaxGradNorm = 1 }, state);
        var defaults = new TrainOptions { Epochs = 2, BatchSize = 16, LearningRate = 0.1 };
        Model Factory() => ModelFactory.Create("logistic", 4, 2);
        var initial = Factory();
        initial.Initialize(0);
        var parameters = initial.GetParameters();
        var config = new ConfigRecord { [RecordNames.ServerRound] = 1L };
        var projected = new LearningClient(Factory, data, data, defaults, 0, 0, dp).ProjectEpsilon(config);
        var first = new LearningClient(Factory, data, data, defaults, 0, 0, dp).Fit(parameters, config, CancellationToken.None);
        var second = new LearningClient(Factory, data, data, defaults, 0, 0, dp).Fit(first.Parameters, new ConfigRecord { [RecordNames.ServerRound] = 2L }, CancellationToken.None);

        double q = 1.0 / 6; // ceil(90 / 16) = 6 steps per epoch
        Assert.Equal(q, second.Metrics["sample_rate"], 12);
        Assert.Equal(12, second.Metrics["steps"]);
        var once = new RdpAccountant();
        once.Step(1.1, q, 12);
        var twice = new RdpAccountant();
        twice.Step(1.1, q, 24);
        Assert.Equal(once.GetEpsilon(1e-5), first.Metrics["epsilon"], 12);
        Assert.Equal(once.GetEpsilon(1e-5), projected!.Value, 12);
        Assert.Equal(twice.GetEpsilon(1e-5), second.Metrics["epsilon"], 12);
        Assert.Equal(once.GetEpsilon(1e-5), second.Metrics["round_epsilon"], 12);
        Assert.Equal(1e-5, second.Metrics["delta"]);
        Assert.Equal(2, state.Rounds);

        var user = new RdpAccountant();
        user.Step(1.1 / 90, 1.0, 24);
        Assert.Equal(user.GetEpsilon(1e-5), second.Metrics["user_epsilon"], 9);
        Assert.True(second.Metrics["user_epsilon"] > second.Metrics["epsilon"]);
    }

    [Fact]
    public void LearningClient_RoundConfigNoiseMultiplier_OverridesDefault()
    {
        var data = SyntheticData.Blobs(40, 3, 2, seed: 9);
        var dp = new ClientDpSgd(new DpSgdOptions { NoiseMultiplier = 1.0 }, new ClientPrivacyState(1e-5));
        var client = new LearningClient(() => ModelFactory.Create("logistic", 3, 2), data, data, new TrainOptions { BatchSize = 10 }, 0, 0, dp);
        var model = ModelFactory.Create("logistic", 3, 2);
        model.Initialize(0);
        var fit = client.Fit(model.GetParameters(), new ConfigRecord { ["noise_multiplier"] = 2.5 }, CancellationToken.None);
        Assert.Equal(2.5, fit.Metrics["noise_multiplier"]);
    }

    [Fact]
    public void LearningClient_GaussianNbWithDpSgd_RefusesWithOneLine()
    {
        var data = SyntheticData.Blobs(40, 3, 2, seed: 9);
        var dp = new ClientDpSgd(new DpSgdOptions(), new ClientPrivacyState(1e-5));
        var client = new LearningClient(() => ModelFactory.Create("gaussian-nb", 3, 2), data, data, new TrainOptions(), 0, 0, dp);
        var model = ModelFactory.Create("gaussian-nb", 3, 2);
        model.Initialize(0);
        var ex = Assert.Throws<InvalidOperationException>(() => client.Fit(model.GetParameters(), new ConfigRecord(), CancellationToken.None));
        Assert.Contains("gaussian-nb", ex.Message);
        Assert.Contains("not by SGD", ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
    }
}
