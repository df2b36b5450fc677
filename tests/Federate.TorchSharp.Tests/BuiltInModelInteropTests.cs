using Federate.Learning;
using TorchSharp;

namespace Federate.TorchSharp.Tests;

/// <summary>
/// Federate's built-in 'cnn' names and lays out its tensors as PyTorch's state_dict, so its weights load into the same
/// network written in TorchSharp and compute the same function: TorchSharp and built-in clients can share a model.
/// </summary>
public sealed class BuiltInModelInteropTests
{
    [Fact]
    public void BuiltInCnnWeights_LoadIntoTorchSharpCnn_SameProbabilities()
    {
        var builtIn = ModelFactory.Create("cnn", 784, 10);
        builtIn.Initialize(seed: 11);
        var rng = new Random(5);
        var features = new float[3 * 784];
        for (int i = 0; i < features.Length; i++)
        {
            features[i] = (float)rng.NextDouble();
        }

        var images = new Dataset("images", features, [0, 1, 2], 784, [.. Enumerable.Range(0, 10).Select(c => c.ToString(System.Globalization.CultureInfo.InvariantCulture))]);
        using var module = TestModels.NiidBenchCnn();

        TorchStateDict.Load(module, builtIn.GetParameters());

        Assert.Equal(builtIn.GetParameters().Names, TorchStateDict.ToRecord(module).Names);
        var expected = builtIn.PredictProbabilities(images);
        using var data = TorchDataset.FromDataset(images, 1, 28, 28);
        module.eval();
        using var probabilities = torch.nn.functional.softmax(module.call(data.Inputs), 1);
        var actual = probabilities.data<float>().ToArray();
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], actual[i], 1e-5f);
        }
    }
}
