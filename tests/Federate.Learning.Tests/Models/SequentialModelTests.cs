using Federate.Core;
using Federate.Learning.Models;

namespace Federate.Learning.Tests.Models;

public class SequentialModelTests
{
    // A small network with every layer kind that has state: conv (padded), group norm, max and avg pool, dropout, linear.
    private const string Small = "cnn:c4k3p1,g2,p2,c3k3,a2,d0.3,f6";

    private static SequentialModel Create(string name, int features = 144, int classes = 3, int seed = 5)
    {
        var model = (SequentialModel)ModelFactory.Create(name, features, classes);
        model.Initialize(seed);
        return model;
    }

    [Fact]
    public void GetParameters_Cnn_NamesAndShapesAsPyTorchStateDict()
    {
        var model = Create("cnn", 784, 10);

        var parameters = model.GetParameters();

        string[] names = ["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias"];
        long[][] shapes = [[6, 1, 5, 5], [6], [16, 6, 5, 5], [16], [120, 256], [120], [84, 120], [84], [10, 84], [10]];
        Assert.Equal(names, parameters.Names);
        for (int i = 0; i < names.Length; i++)
        {
            Assert.Equal(shapes[i], parameters[names[i]].Shape);
        }

        Assert.Equal(44_426, model.ParameterCount);
        Assert.Equal((1, 28, 28), model.InputShape);
    }

    [Fact]
    public void ParameterCount_CnnMcMahan_IsThePapers1663370()
    {
        var model = Create("cnn-mcmahan", 784, 10);

        Assert.Equal(1_663_370, model.ParameterCount);
        Assert.Equal([64L, 32, 5, 5], model.GetParameters()["conv2.weight"].Shape);
        Assert.Equal([512L, 3136], model.GetParameters()["fc1.weight"].Shape);
    }

    [Fact]
    public void Initialize_PyTorchDefault_WeightsWithinOneOverSqrtFanIn()
    {
        var parameters = Create("cnn", 784, 10).GetParameters();

        Assert.All(parameters["conv1.weight"].AsSpan<float>().ToArray(), w => Assert.InRange(w, -0.2f, 0.2f));
        Assert.All(parameters["fc1.weight"].AsSpan<float>().ToArray(), w => Assert.InRange(w, -1f / 16, 1f / 16));
        Assert.Contains(parameters["fc1.weight"].AsSpan<float>().ToArray(), w => Math.Abs(w) > 0.05f);
    }

    [Fact]
    public void SetParameters_RoundTripsAndRejectsWrongShapes()
    {
        var a = Create(Small);
        var b = Create(Small, seed: 9);
        b.SetParameters(a.GetParameters());
        Assert.Equal(Flat(a), Flat(b));

        var other = Create("cnn:c5k3p1,g1,p2,c3k3,a2,d0.3,f6");
        var error = Assert.Throws<ArgumentException>(() => b.SetParameters(other.GetParameters()));
        Assert.Contains("conv1.weight", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LossAndGradient_SmallCnn_MatchesFiniteDifferences()
    {
        var model = Create(Small);
        var data = Images(4, 144, 3, seed: 1);
        var gradient = new float[model.ParameterCount];
        model.LossAndGradient(data.Features, data.Labels, gradient);
        var p = Flat(model);
        const float eps = 1e-3f;
        var random = new Random(3);
        for (int k = 0; k < 60; k++)
        {
            int i = random.Next(p.Length);
            double expected = SyntheticData.FiniteDifference(model, data, p, i, eps);
            Assert.True(Math.Abs(expected - gradient[i]) <= 2e-3 + (2e-2 * Math.Abs(expected)), $"parameter {i}: analytic {gradient[i]}, finite differences {expected}");
        }
    }

    [Theory]
    [InlineData("cnn:c4k3p1,g2,p2,c3k3,a2,f6")]
    [InlineData("cnn:c3k5,p2,f8")]
    public void ClippedGradientSum_SequentialModel_MatchesMaterialisedPerExampleGradients(string name)
    {
        var model = Create(name);
        var data = Images(10, 144, 3, seed: 2);
        int p = model.ParameterCount;
        var perExample = new float[10 * p];
        model.PerExampleGradients(data.Features, data.Labels, perExample, new float[10]);
        var expected = new float[p];
        var expectedNorms = new float[10];
        for (int b = 0; b < 10; b++)
        {
            expectedNorms[b] = MathF.Sqrt(System.Numerics.Tensors.TensorPrimitives.SumOfSquares(perExample.AsSpan(b * p, p)));
        }

        // The median norm: about half the examples are clipped.
        float clip = expectedNorms.Order().ElementAt(5);
        for (int b = 0; b < 10; b++)
        {
            var row = perExample.AsSpan(b * p, p);
            System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(row, Math.Min(1f, clip / expectedNorms[b]), expected, expected);
        }

        var sum = new float[p];
        var norms = new float[10];
        model.ClippedGradientSum(data.Features, data.Labels, clip, sum, norms);

        Assert.True(expectedNorms.Any(n => n > clip) && expectedNorms.Any(n => n < clip), $"some examples must be clipped and some not: {string.Join(", ", expectedNorms)}");
        for (int b = 0; b < 10; b++)
        {
            Assert.Equal(expectedNorms[b], norms[b], expectedNorms[b] * 1e-4f);
        }

        for (int i = 0; i < p; i++)
        {
            Assert.Equal(expected[i], sum[i], 1e-5f);
        }
    }

    [Fact]
    public void Train_SameSeed_ByteIdenticalModels()
    {
        var data = Images(50, 144, 3, seed: 4);
        var options = new TrainOptions { Epochs = 2, BatchSize = 8, LearningRate = 0.05, Momentum = 0.9, WeightDecay = 1e-4, Seed = 11 };
        var a = Create(Small);
        var b = Create(Small);
        a.Train(data, options, CancellationToken.None);
        b.Train(data, options, CancellationToken.None);
        Assert.Equal(Flat(a), Flat(b));

        var dp = new TrainOptions { Epochs = 1, BatchSize = 8, LearningRate = 0.05, Seed = 11, DpSgd = new DpSgdOptions { NoiseMultiplier = 1, MaxGradNorm = 1 } };
        var c = Create(Small);
        var d = Create(Small);
        c.Train(data, dp, CancellationToken.None);
        d.Train(data, dp, CancellationToken.None);
        Assert.Equal(Flat(c), Flat(d));
    }

    [Fact]
    public void Train_SeparableImages_LearnsThem()
    {
        var data = Images(120, 144, 3, seed: 6);
        var model = Create("cnn:c4k3,p2,f16");
        var before = Accuracy(model, data);
        var result = model.Train(data, new TrainOptions { Epochs = 15, BatchSize = 16, LearningRate = 0.05, Momentum = 0.9, Seed = 1 }, CancellationToken.None);
        Assert.True(Accuracy(model, data) >= 0.95, $"accuracy {Accuracy(model, data)} (before {before}), loss {result.Loss}");
        Assert.Equal(15 * 8, result.Steps);
    }

    [Fact]
    public void Train_DpSgdZeroNoise_EachExampleContributionAtMostClipNorm()
    {
        var data = Images(6, 144, 3, seed: 7);
        const double clip = 0.1;
        for (int row = 0; row < data.Count; row++)
        {
            var one = data.Subset([row]);
            var model = Create(Small);
            var before = Flat(model);
            model.Train(one, new TrainOptions { Epochs = 1, BatchSize = 1, LearningRate = 1, Seed = row, DpSgd = new DpSgdOptions { NoiseMultiplier = 0, MaxGradNorm = clip } }, CancellationToken.None);
            var after = Flat(model);
            System.Numerics.Tensors.TensorPrimitives.Subtract(after, before, after);
            Assert.True(MathF.Sqrt(System.Numerics.Tensors.TensorPrimitives.SumOfSquares(after)) <= clip * (1 + 1e-5), $"example {row}");
        }
    }

    [Theory]
    [InlineData("cnn:c6", "Invalid layer 'c6' in model 'cnn:c6'")]
    [InlineData("cnn:c6k5,x3", "Invalid layer 'x3'")]
    [InlineData("cnn:c6k0", "Invalid layer 'c6k0'")]
    [InlineData("cnn:", "Invalid layer ''")]
    [InlineData("cnn:c6k28,c6k5", "does not fit the 1x1")]
    [InlineData("cnn:c6k5,p2,c16k5,p2,c8k5", "kernel does not fit the 4x4 image")]
    [InlineData("cnn:c6k5,g4", "4 groups do not divide 6 channels")]
    [InlineData("cnn:f10,c6k5", "a convolution cannot follow a fully connected layer")]
    [InlineData("cnn:d1.5", "dropout needs a probability in [0, 1)")]
    public void Create_BadSpec_ThrowsOneLineNamingTheLayer(string spec, string expected)
    {
        var error = Assert.Throws<ArgumentException>(() => ModelFactory.Create(spec, 784, 10));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void Create_NonSquareInput_ThrowsOneLine()
    {
        var error = Assert.Throws<ArgumentException>(() => ModelFactory.Create("cnn", 30, 3));
        Assert.StartsWith("Model 'cnn' needs square images", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    internal static float[] Flat(DifferentiableModel model)
    {
        var p = new float[model.ParameterCount];
        model.CopyParametersTo(p);
        return p;
    }

    private static double Accuracy(Model model, Dataset data)
    {
        var probabilities = model.PredictProbabilities(data);
        int correct = 0;
        for (int i = 0; i < data.Count; i++)
        {
            var row = probabilities.AsSpan(i * data.ClassCount, data.ClassCount);
            correct += row.IndexOf(System.Numerics.Tensors.TensorPrimitives.Max(row)) == data.Labels[i] ? 1 : 0;
        }

        return (double)correct / data.Count;
    }

    /// <summary>12 x 12 images: class c is a bright bar in row band c plus noise.</summary>
    internal static Dataset Images(int count, int features, int classes, int seed)
    {
        int side = (int)Math.Sqrt(features);
        var random = new Random(seed);
        var x = new float[count * features];
        var y = new int[count];
        for (int i = 0; i < count; i++)
        {
            int c = i % classes;
            y[i] = c;
            for (int r = 0; r < side; r++)
            {
                for (int col = 0; col < side; col++)
                {
                    bool bar = r / (side / classes) == c;
                    x[(i * features) + (r * side) + col] = (float)((bar ? 1.0 : 0.0) + (0.3 * ((2 * random.NextDouble()) - 1)));
                }
            }
        }

        return new Dataset("bars", x, y, features, [.. Enumerable.Range(0, classes).Select(c => $"c{c}")]);
    }
}
