using System.Numerics.Tensors;
using Federate.Core;

namespace Federate.Learning.Tests.Models;

public class UNetTests
{
    // 16 x 16 images keep the finite differences and training quick; the catalog's are 32 x 32.
    private const int Side = 16;

    private static UNet Create(int side = Side, int seed = 5)
    {
        var model = (UNet)ModelFactory.Create("unet-small", 2 * side * side, 2);
        model.Initialize(seed);
        return model;
    }

    private static float[] Flat(DifferentiableModel model)
    {
        var p = new float[model.ParameterCount];
        model.CopyParametersTo(p);
        return p;
    }

    [Fact]
    public void GetParameters_UNetSmall_NamesAndShapesAsPyTorchStateDict()
    {
        var model = Create(32);

        var parameters = model.GetParameters();

        string[] blocks = ["enc1", "enc2", "bottleneck", "dec2", "dec1"];
        int[][] channels = [[1, 8], [8, 16], [16, 32], [48, 16], [24, 8]];
        var expected = new List<(string, long[])>();
        for (int i = 0; i < blocks.Length; i++)
        {
            int input = channels[i][0];
            int output = channels[i][1];
            expected.Add(($"{blocks[i]}.0.weight", [output, input, 3, 3]));
            expected.Add(($"{blocks[i]}.0.bias", [output]));
            expected.Add(($"{blocks[i]}.1.weight", [output]));
            expected.Add(($"{blocks[i]}.1.bias", [output]));
            expected.Add(($"{blocks[i]}.3.weight", [output, output, 3, 3]));
            expected.Add(($"{blocks[i]}.3.bias", [output]));
            expected.Add(($"{blocks[i]}.4.weight", [output]));
            expected.Add(($"{blocks[i]}.4.bias", [output]));
        }

        expected.Add(("head.weight", [2, 8, 1, 1]));
        expected.Add(("head.bias", [2]));
        Assert.Equal(expected.Select(e => e.Item1), parameters.Names);
        foreach (var (name, shape) in expected)
        {
            Assert.Equal(shape, parameters[name].Shape);
        }

        Assert.Equal(29_946, model.ParameterCount);
        Assert.Equal(new SegmentationLayout(1, 32, 32), model.Layout);
        Assert.Equal(2048, model.InputSize);
    }

    [Fact]
    public void LossAndGradient_ZeroParameters_IsLn2PerPixel()
    {
        var model = Create();
        model.SetParametersFrom(new float[model.ParameterCount]);
        var data = ShapesSegmentation.Generate(3, seed: 1, size: Side);

        double loss = model.LossAndGradient(data.Features, data.Labels, new float[model.ParameterCount]);

        Assert.Equal(Math.Log(2), loss, 1e-6);
    }

    [Fact]
    public void LossAndGradient_EveryTensor_MatchesFiniteDifferences()
    {
        // Parameters of every tensor: the encoder's gradients flow through both the pooling path and the skip connection.
        var model = Create();
        var data = ShapesSegmentation.Generate(3, seed: 2, size: Side);
        var gradient = new float[model.ParameterCount];
        model.LossAndGradient(data.Features, data.Labels, gradient);
        var p = Flat(model);
        const float eps = 1e-3f;
        var random = new Random(3);
        int offset = 0;
        double error = 0;
        double norm = 0;
        foreach (var (name, tensor) in model.GetParameters())
        {
            int size = (int)tensor.Shape.Aggregate(1L, (a, b) => a * b);
            for (int k = 0; k < 6; k++)
            {
                int i = offset + random.Next(size);
                double expected = SyntheticData.FiniteDifference(model, data, p, i, eps);
                Assert.True(Math.Abs(expected - gradient[i]) <= 5e-4 + (2e-2 * Math.Abs(expected)), $"{name} [{i - offset}]: analytic {gradient[i]}, finite differences {expected}");
                error += (expected - gradient[i]) * (expected - gradient[i]);
                norm += expected * expected;
            }

            offset += size;
        }

        // Single entries carry float32 noise near ReLU kinks; together they must agree to well under 1%.
        Assert.True(Math.Sqrt(error / norm) < 0.01, $"relative error {Math.Sqrt(error / norm)}");
    }

    [Fact]
    public void ClippedGradientSum_UNet_MatchesMaterialisedPerExampleGradients()
    {
        var model = Create();
        const int n = 8;
        var data = ShapesSegmentation.Generate(n, seed: 4, size: Side);
        int p = model.ParameterCount;
        var perExample = new float[n * p];
        model.PerExampleGradients(data.Features, data.Labels, perExample, new float[n]);
        var expectedNorms = new float[n];
        for (int b = 0; b < n; b++)
        {
            expectedNorms[b] = MathF.Sqrt(TensorPrimitives.SumOfSquares(perExample.AsSpan(b * p, p)));
        }

        float clip = expectedNorms.Order().ElementAt(n / 2);
        var expected = new float[p];
        for (int b = 0; b < n; b++)
        {
            TensorPrimitives.MultiplyAdd(perExample.AsSpan(b * p, p), Math.Min(1f, clip / expectedNorms[b]), expected, expected);
        }

        var sum = new float[p];
        var norms = new float[n];
        model.ClippedGradientSum(data.Features, data.Labels, clip, sum, norms);

        Assert.True(expectedNorms.Any(x => x > clip) && expectedNorms.Any(x => x < clip), $"some examples must be clipped and some not: {string.Join(", ", expectedNorms)}");
        for (int b = 0; b < n; b++)
        {
            Assert.Equal(expectedNorms[b], norms[b], expectedNorms[b] * 1e-4f);
        }

        float scale = TensorPrimitives.MaxMagnitude(expected);
        for (int i = 0; i < p; i++)
        {
            Assert.True(Math.Abs(expected[i] - sum[i]) <= scale * 1e-4f, $"parameter {i}: clipped sum {sum[i]}, materialised {expected[i]}");
        }
    }

    [Fact]
    public void Train_SameSeed_ByteIdenticalModels_PlainAndDpSgd()
    {
        var data = ShapesSegmentation.Generate(24, seed: 5, size: Side);
        var plain = new TrainOptions { Epochs = 1, BatchSize = 8, LearningRate = 0.05, Momentum = 0.9, Seed = 11 };
        var dp = new TrainOptions { Epochs = 1, BatchSize = 8, LearningRate = 0.05, Seed = 11, DpSgd = new DpSgdOptions { NoiseMultiplier = 1, MaxGradNorm = 1 } };
        foreach (var options in new[] { plain, dp })
        {
            var a = Create();
            var b = Create();
            var before = Flat(a);
            a.Train(data, options, CancellationToken.None);
            b.Train(data, options, CancellationToken.None);
            Assert.Equal(Flat(a), Flat(b));
            Assert.NotEqual(before, Flat(a));
        }
    }

    [Fact]
    public void Train_DpSgdZeroNoise_EachExampleContributionAtMostClipNorm()
    {
        var data = ShapesSegmentation.Generate(3, seed: 6, size: Side);
        const double clip = 0.05;
        for (int row = 0; row < data.Count; row++)
        {
            var model = Create();
            var before = Flat(model);
            model.Train(data.Subset([row]), new TrainOptions { Epochs = 1, BatchSize = 1, LearningRate = 1, Seed = row, DpSgd = new DpSgdOptions { NoiseMultiplier = 0, MaxGradNorm = clip } }, CancellationToken.None);
            var after = Flat(model);
            TensorPrimitives.Subtract(after, before, after);
            Assert.True(MathF.Sqrt(TensorPrimitives.SumOfSquares(after)) <= clip * (1 + 1e-5), $"example {row}");
        }
    }

    [Fact]
    public void Train_Shapes_DiceRisesWellAboveAllForeground()
    {
        var train = ShapesSegmentation.Generate(160, seed: 7, size: Side);
        var test = ShapesSegmentation.Generate(40, seed: 8, size: Side);
        var model = Create();
        var labels = test.Segmentation!.PixelLabels(test);

        // Predicting every pixel as shape: dice 2p / (1 + p) for the shape fraction p.
        double p = labels.Average();
        double trivial = 2 * p / (1 + p);
        model.Train(train, new TrainOptions { Epochs = 8, BatchSize = 16, LearningRate = 0.05, Momentum = 0.9, Seed = 1 }, CancellationToken.None);
        var metrics = ClassificationMetrics.Compute(model.PredictProbabilities(test), labels, 2);

        Assert.True(metrics["dice"] > trivial + 0.3, $"dice {metrics["dice"]}, all-shape baseline {trivial}");
    }

    [Fact]
    public void PredictProbabilities_UNet_OneDistributionPerPixel()
    {
        var model = Create();
        var data = ShapesSegmentation.Generate(40, seed: 9, size: Side);

        var probabilities = model.PredictProbabilities(data);

        Assert.Equal(40 * Side * Side * 2, probabilities.Length);
        for (int i = 0; i < probabilities.Length; i += 2)
        {
            Assert.Equal(1f, probabilities[i] + probabilities[i + 1], 1e-5f);
        }

        // The same pixels predicted in one chunk or image by image.
        var single = model.PredictProbabilities(data.Subset([37]));
        Assert.Equal(probabilities.AsSpan(37 * Side * Side * 2, Side * Side * 2).ToArray(), single);
    }

    [Fact]
    public void Evaluate_SegmentationClient_ReportsPixelDiceAndConfusion()
    {
        var data = ShapesSegmentation.Generate(20, seed: 10, size: Side);
        var client = new LearningClient(() => Create(), data, data, new TrainOptions(), seed: 5, partitionId: 0);
        var model = Create();

        var result = client.Evaluate(model.GetParameters(), new ConfigRecord(), CancellationToken.None);

        var expected = ClassificationMetrics.Compute(model.PredictProbabilities(data), data.Segmentation!.PixelLabels(data), 2, includeConfusion: true);
        Assert.Equal(20, result.NumExamples);
        Assert.Equal(expected["loss"], result.Loss);
        Assert.Equal(expected["dice"], result.Metrics["dice"]);
        Assert.Equal(20L * Side * Side, (long)(result.Metrics["confusion_tp_1"] + result.Metrics["confusion_fp_1"] + result.Metrics["confusion_tp_0"] + result.Metrics["confusion_fp_0"]));
    }

    [Theory]
    [InlineData(784, 10)]
    [InlineData(2 * 18 * 18, 2)]
    [InlineData(2048, 1)]
    public void Create_UNetOnRowsThatAreNotImageAndMask_ThrowsOneLine(int features, int classes)
    {
        var error = Assert.Throws<ArgumentException>(() => ModelFactory.Create("unet-small", features, classes));
        Assert.Contains("use a segmentation dataset such as 'dataset' shapes-seg", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void CheckDataset_ModelAndDatasetKindsDiffer_ThrowsOneLineNamingTheFix()
    {
        var digits = DatasetCatalog.Load("digits").Train;
        var shapes = DatasetCatalog.Load("shapes-seg").Train;

        var unetOnDigits = Assert.Throws<ArgumentException>(() => ModelFactory.CheckDataset("unet-small", digits.Name, digits.Segmentation));
        var cnnOnShapes = Assert.Throws<ArgumentException>(() => ModelFactory.CheckDataset("cnn", shapes.Name, shapes.Segmentation));

        Assert.StartsWith("model 'unet-small' segments images but dataset 'digits' has no per-pixel masks; use a segmentation dataset such as 'dataset' shapes-seg", unetOnDigits.Message, StringComparison.Ordinal);
        Assert.StartsWith("dataset 'shapes-seg' is a segmentation dataset (per-pixel masks) and model 'cnn' classifies whole rows; use 'model' unet-small", cnnOnShapes.Message, StringComparison.Ordinal);
        ModelFactory.CheckDataset("unet-small", shapes.Name, shapes.Segmentation);
        ModelFactory.CheckDataset("noop:10", shapes.Name, shapes.Segmentation);
        ModelFactory.CheckDataset("mlp", digits.Name, digits.Segmentation);
    }
}
