using Federate.Core;
using Federate.Learning.Internal;

namespace Federate.Learning.Tests.Models;

public class OptimizerTests
{
    [Fact]
    public void Step_SgdMomentumWeightDecay_FollowsTorchOptimSgd()
    {
        var state = new OptimizerState(new TrainOptions { LearningRate = 0.1, Momentum = 0.9, WeightDecay = 0.01 }, 1);
        float[] w = [1f];

        state.Step(w, new[] { 0.5f });
        Assert.Equal(0.949f, w[0], 1e-6f); // g = 0.5 + 0.01·1 = 0.51; buf = 0.51; w = 1 - 0.051.
        state.Step(w, new[] { 0.5f });
        Assert.Equal(0.852151f, w[0], 1e-6f); // g = 0.50949; buf = 0.9·0.51 + 0.50949 = 0.96849.
    }

    [Fact]
    public void Step_Adam_FollowsTorchOptimAdam()
    {
        var state = new OptimizerState(new TrainOptions { Optimizer = LocalOptimizer.Adam, LearningRate = 0.1 }, 2);
        float[] w = [1f, 1f];

        // A constant gradient: the bias-corrected step is lr·g/|g| every time.
        state.Step(w, new[] { 0.5f, -2f });
        Assert.Equal([0.9f, 1.1f], w, (a, b) => Math.Abs(a - b) < 1e-5f);
        state.Step(w, new[] { 0.5f, -2f });
        Assert.Equal([0.8f, 1.2f], w, (a, b) => Math.Abs(a - b) < 1e-5f);
    }

    [Theory]
    [InlineData(LocalOptimizer.Sgd, -0.1, 0, "--momentum must be in [0, 1), got -0.1")]
    [InlineData(LocalOptimizer.Sgd, 1, 0, "--momentum must be in [0, 1), got 1")]
    [InlineData(LocalOptimizer.Sgd, 0, -1, "--weight-decay must be a non-negative number, got -1")]
    [InlineData(LocalOptimizer.Adam, 0.9, 0, "--momentum applies to --optimizer sgd only")]
    public void ValidateOptimizer_BadSettings_OneLine(LocalOptimizer kind, double momentum, double decay, string expected)
    {
        var problem = TrainOptions.ValidateOptimizer(new TrainOptions { Optimizer = kind, Momentum = momentum, WeightDecay = decay });
        Assert.NotNull(problem);
        Assert.StartsWith(expected, problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("mlp:8")]
    [InlineData("cnn:c2k3,p2,f8")]
    public void Fit_RoundConfigMomentumAndDecay_TrainsAsTheOptionsSay(string name)
    {
        var data = SequentialModelTests.Images(40, 144, 3, seed: 3);
        Model Create() => ModelFactory.Create(name, 144, 3);
        var init = Create();
        init.Initialize(2);
        var client = new LearningClient(Create, data, data, new TrainOptions { Epochs = 2, BatchSize = 8, LearningRate = 0.05 }, 7, 1);
        var config = new ConfigRecord { [RecordNames.ServerRound] = 1L, ["momentum"] = 0.9, ["weight_decay"] = 1e-3, ["optimizer"] = "sgd" };

        var fitted = client.Fit(init.GetParameters(), config, CancellationToken.None).Parameters;
        var plain = client.Fit(init.GetParameters(), new ConfigRecord { [RecordNames.ServerRound] = 1L }, CancellationToken.None).Parameters;

        var direct = Create();
        direct.SetParameters(init.GetParameters());
        direct.Train(data, new TrainOptions { Epochs = 2, BatchSize = 8, LearningRate = 0.05, Momentum = 0.9, WeightDecay = 1e-3, Seed = Seeds.Derive(7, 1, 1L, "train") }, CancellationToken.None);
        var expected = direct.GetParameters();
        foreach (var tensorName in expected.Names)
        {
            Assert.Equal(expected[tensorName].AsSpan<float>().ToArray(), fitted[tensorName].AsSpan<float>().ToArray());
        }

        Assert.NotEqual(plain[expected.Names[0]].AsSpan<float>().ToArray(), fitted[expected.Names[0]].AsSpan<float>().ToArray());
    }

    [Fact]
    public void Fit_UnknownOptimizer_ThrowsOneLine()
    {
        var data = SequentialModelTests.Images(10, 144, 3, seed: 3);
        Model Create() => ModelFactory.Create("mlp:4", 144, 3);
        var init = Create();
        init.Initialize(2);
        var client = new LearningClient(Create, data, data, new TrainOptions(), 7, 1);
        var error = Assert.Throws<ArgumentException>(() => client.Fit(init.GetParameters(), new ConfigRecord { ["optimizer"] = "rmsprop" }, CancellationToken.None));
        Assert.Equal("Unknown optimizer 'rmsprop'; use sgd or adam.", error.Message);
    }

    [Fact]
    public void Train_MlpWithAdam_LearnsBlobs()
    {
        var data = SyntheticData.Blobs(90, 4, 3, seed: 1);
        var model = ModelFactory.Create("mlp:8", 4, 3);
        model.Initialize(1);
        var result = model.Train(data, new TrainOptions { Optimizer = LocalOptimizer.Adam, LearningRate = 0.01, Epochs = 20, BatchSize = 16 }, CancellationToken.None);
        Assert.True(result.Loss < 0.2, $"loss {result.Loss}");
    }
}
