using Federate.Learning;
using TorchSharp;
using Xunit.Abstractions;

namespace Federate.TorchSharp.Tests;

public sealed class TorchTrainerTests(ITestOutputHelper output)
{
    private static readonly Lazy<TorchDataset> Digits = new(() => TorchDataset.FromDataset(DatasetCatalog.Load("digits").Train, 1, 8, 8));

    private static double DistanceFromStart(TrainOptions options)
    {
        torch.manual_seed(1);
        using var module = TestModels.Cnn();
        var start = TorchStateDict.ToRecord(module);
        TorchTrainer.Train(module, Digits.Value, options);
        var end = TorchStateDict.ToRecord(module);
        return Math.Sqrt(start.Sum(kv => kv.Value.GetArray<float>().Zip(end[kv.Key].GetArray<float>(), (a, b) => (double)(a - b) * (a - b)).Sum()));
    }

    [Fact]
    public void Train_ProximalMu_StaysCloserToTheStartingModel()
    {
        var plain = new TrainOptions { Epochs = 1, BatchSize = 32, LearningRate = 0.1, Seed = 2 };

        double free = DistanceFromStart(plain);
        double pulled = DistanceFromStart(plain with { ProximalMu = 5 });

        output.WriteLine($"distance from the start: {free} without the proximal term, {pulled} with mu 5");
        Assert.True(pulled < 0.8 * free, $"distance {pulled} with mu 5, {free} without");
    }

    [Fact]
    public void Train_AdamOverThreeEpochs_LowersTheLoss()
    {
        torch.manual_seed(3);
        using var module = TestModels.Cnn();
        var options = new TrainOptions { Epochs = 1, BatchSize = 32, LearningRate = 0.01, Optimizer = LocalOptimizer.Adam, Seed = 4 };

        var first = TorchTrainer.Train(module, Digits.Value, options);
        var third = TorchTrainer.Train(module, Digits.Value, options with { Epochs = 3, StartEpoch = 1 });

        output.WriteLine($"mean loss: {first.Loss} in epoch 1, {third.Loss} in epoch 3");
        Assert.Equal(Digits.Value.Count, first.Examples);
        Assert.Equal(2 * ((Digits.Value.Count + 31) / 32), third.Steps);
        Assert.True(third.Loss < 0.5 * first.Loss, $"loss {first.Loss} after epoch 1, {third.Loss} after epoch 3");
    }

    [Theory]
    [InlineData(0, 32, 0.1, 0, "'local_epochs' and 'batch_size' must be at least 1, got 0 and 32")]
    [InlineData(1, 0, 0.1, 0, "'local_epochs' and 'batch_size' must be at least 1, got 1 and 0")]
    [InlineData(1, 32, 0.1, -1, "'proximal_mu' must be non-negative, got -1")]
    public void Train_BadOptions_OneLineErrorNamingTheSetting(int epochs, int batchSize, double lr, double mu, string message)
    {
        using var module = TestModels.Cnn();

        var error = Assert.Throws<ArgumentException>(() => TorchTrainer.Train(module, Digits.Value, new TrainOptions { Epochs = epochs, BatchSize = batchSize, LearningRate = lr, ProximalMu = mu }));

        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void Train_ModuleWithDropout_SameSeedSameModel_OtherSeedOtherModel()
    {
        byte[] Trained(int seed, int drawsBefore = 0)
        {
            torch.manual_seed(9);
            using var module = torch.nn.Sequential(("flatten", torch.nn.Flatten()), ("drop", torch.nn.Dropout(0.5)), ("fc", torch.nn.Linear(64, 10)));
            using var draws = torch.rand(drawsBefore); // moves libtorch's generator: training must not depend on it
            TorchTrainer.Train(module, Digits.Value, new TrainOptions { Epochs = 1, BatchSize = 64, LearningRate = 0.1, Seed = seed });
            return Federation.Bytes(TorchStateDict.ToRecord(module));
        }

        Assert.Equal(Trained(1), Trained(1, drawsBefore: 1000));
        Assert.NotEqual(Trained(1), Trained(2));
    }
}
