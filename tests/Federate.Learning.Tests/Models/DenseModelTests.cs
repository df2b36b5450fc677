using Federate.Core;

namespace Federate.Learning.Tests.Models;

public class DenseModelTests
{
    public static TheoryData<string> ModelNames => new() { "logistic", "mlp:6", "mlp:7,5", "mlp:40" };

    private static DenseModel CreateRandom(string name, int inputSize, int classes, int seed)
    {
        var model = (DenseModel)ModelFactory.Create(name, inputSize, classes);
        // Random parameters everywhere (including biases) so every gradient entry is exercised.
        model.SetParametersFrom(SyntheticData.RandomFloats(model.ParameterCount, seed, 0.5));
        return model;
    }

    /// <summary>Float64 reference of the mean softmax cross-entropy for the given flat parameters.</summary>
    private static double ReferenceLoss(IReadOnlyList<int> sizes, double[] theta, float[] x, int[] y)
    {
        int batch = y.Length;
        double total = 0;
        for (int b = 0; b < batch; b++)
        {
            double[] a = [.. x.AsSpan(b * sizes[0], sizes[0]).ToArray().Select(v => (double)v)];
            int offset = 0;
            for (int l = 0; l + 1 < sizes.Count; l++)
            {
                int fanIn = sizes[l];
                int fanOut = sizes[l + 1];
                var z = new double[fanOut];
                for (int j = 0; j < fanOut; j++)
                {
                    z[j] = theta[offset + fanIn * fanOut + j];
                    for (int i = 0; i < fanIn; i++)
                    {
                        z[j] += a[i] * theta[offset + i * fanOut + j];
                    }
                }

                offset += fanIn * fanOut + fanOut;
                a = l + 2 < sizes.Count ? [.. z.Select(v => Math.Max(v, 0))] : z;
            }

            double max = a.Max();
            double lse = max + Math.Log(a.Sum(v => Math.Exp(v - max)));
            total += lse - a[y[b]];
        }

        return total / batch;
    }

    private static IEnumerable<int> SampleIndices(int start, int length, int count, Random random)
    {
        yield return start;
        yield return start + length - 1;
        for (int i = 0; i < count; i++)
        {
            yield return start + random.Next(length);
        }
    }

    private static IEnumerable<int> IndicesOfEveryTensor(DenseModel model, Random random)
    {
        var sizes = model.LayerSizes;
        int offset = 0;
        for (int l = 0; l + 1 < sizes.Count; l++)
        {
            int w = sizes[l] * sizes[l + 1];
            foreach (var i in SampleIndices(offset, w, 6, random))
            {
                yield return i;
            }

            foreach (var i in SampleIndices(offset + w, sizes[l + 1], 3, random))
            {
                yield return i;
            }

            offset += w + sizes[l + 1];
        }
    }

    [Theory]
    [MemberData(nameof(ModelNames))]
    public void LossAndGradient_SmallModel_MatchesFloat64FiniteDifferences(string name)
    {
        const int inputs = 5;
        const int classes = 3;
        const int batch = 7;
        var model = CreateRandom(name, inputs, classes, 11);
        var x = SyntheticData.RandomFloats(batch * inputs, 12, 2.0);
        int[] y = [0, 1, 2, 2, 1, 0, 1];
        var gradient = new float[model.ParameterCount];
        double loss = model.LossAndGradient(x, y, gradient);

        var theta32 = new float[model.ParameterCount];
        model.CopyParametersTo(theta32);
        double[] theta = [.. theta32.Select(v => (double)v)];
        Assert.Equal(ReferenceLoss(model.LayerSizes, theta, x, y), loss, 5);

        const double h = 1e-6;
        foreach (int i in IndicesOfEveryTensor(model, new Random(13)))
        {
            double saved = theta[i];
            theta[i] = saved + h;
            double plus = ReferenceLoss(model.LayerSizes, theta, x, y);
            theta[i] = saved - h;
            double minus = ReferenceLoss(model.LayerSizes, theta, x, y);
            theta[i] = saved;
            double numeric = (plus - minus) / (2 * h);
            double error = Math.Abs(numeric - gradient[i]) / Math.Max(1e-3, Math.Max(Math.Abs(numeric), Math.Abs(gradient[i])));
            Assert.True(error < 1e-3, $"{name} parameter {i}: numeric {numeric} analytic {gradient[i]}");
        }
    }

    [Theory]
    [MemberData(nameof(ModelNames))]
    public void LossAndGradient_Float32FiniteDifferences_RelativeErrorBelowOnePercent(string name)
    {
        const int inputs = 6;
        const int classes = 4;
        const int batch = 5;
        // Seed chosen so no ReLU pre-activation lies within h of its kink (finite differences are invalid there).
        var model = CreateRandom(name, inputs, classes, 24);
        var x = SyntheticData.RandomFloats(batch * inputs, 22, 2.0);
        int[] y = [3, 1, 0, 2, 1];
        var gradient = new float[model.ParameterCount];
        model.LossAndGradient(x, y, gradient);
        var theta = new float[model.ParameterCount];
        model.CopyParametersTo(theta);
        var scratch = new float[model.ParameterCount];
        const float h = 1e-3f;
        foreach (int i in IndicesOfEveryTensor(model, new Random(23)))
        {
            float saved = theta[i];
            theta[i] = saved + h;
            model.SetParametersFrom(theta);
            double plus = model.LossAndGradient(x, y, scratch);
            theta[i] = saved - h;
            model.SetParametersFrom(theta);
            double minus = model.LossAndGradient(x, y, scratch);
            theta[i] = saved;
            double numeric = (plus - minus) / (2 * h);
            double error = Math.Abs(numeric - gradient[i]) / Math.Max(1e-2, Math.Max(Math.Abs(numeric), Math.Abs(gradient[i])));
            Assert.True(error < 1e-2, $"{name} parameter {i}: numeric {numeric} analytic {gradient[i]}");
        }
    }

    [Theory]
    [MemberData(nameof(ModelNames))]
    public void PerExampleGradients_Rows_AverageToBatchGradient(string name)
    {
        const int inputs = 9;
        const int classes = 3;
        const int batch = 6;
        var model = CreateRandom(name, inputs, classes, 31);
        var x = SyntheticData.RandomFloats(batch * inputs, 32, 2.0);
        int[] y = [2, 0, 1, 1, 0, 2];
        int p = model.ParameterCount;
        var mean = new float[p];
        double loss = model.LossAndGradient(x, y, mean);
        var rows = new float[batch * p];
        var losses = new float[batch];
        model.PerExampleGradients(x, y, rows, losses);

        Assert.Equal(loss, losses.Average(), 5);
        for (int i = 0; i < p; i++)
        {
            double average = 0;
            for (int b = 0; b < batch; b++)
            {
                average += rows[b * p + i];
            }

            average /= batch;
            Assert.True(Math.Abs(average - mean[i]) <= 1e-5 * (1 + Math.Abs(mean[i])), $"parameter {i}: {average} vs {mean[i]}");
        }

        // Row b is the gradient of example b alone.
        var single = new float[p];
        model.LossAndGradient(x.AsSpan(3 * inputs, inputs), y.AsSpan(3, 1), single);
        for (int i = 0; i < p; i++)
        {
            Assert.True(Math.Abs(single[i] - rows[3 * p + i]) <= 1e-5 * (1 + Math.Abs(single[i])));
        }
    }

    [Theory]
    [InlineData("logistic")]
    [InlineData("mlp")]
    [InlineData("mlp:32,16")]
    public void Train_SameInitAndSeed_GivesIdenticalBytes(string name)
    {
        var data = SyntheticData.Blobs(203, 12, 4, seed: 41);
        var options = new TrainOptions { Epochs = 2, BatchSize = 16, LearningRate = 0.05, Seed = 7 };
        byte[] Run()
        {
            var model = ModelFactory.Create(name, 12, 4);
            model.Initialize(5);
            model.Train(data, options, CancellationToken.None);
            return [.. model.GetParameters().SelectMany(kv => kv.Value.AsBytes().ToArray())];
        }

        Assert.Equal(Run(), Run());
    }

    [Fact]
    public void Train_DifferentShuffleSeed_GivesDifferentParameters()
    {
        var data = SyntheticData.Blobs(100, 5, 3, seed: 42);
        var model = ModelFactory.Create("mlp:8", 5, 3);
        model.Initialize(1);
        var start = model.GetParameters();
        model.Train(data, new TrainOptions { BatchSize = 10, Seed = 1 }, CancellationToken.None);
        var a = model.GetParameters()["dense0.weight"].AsSpan<float>().ToArray();
        model.SetParameters(start);
        model.Train(data, new TrainOptions { BatchSize = 10, Seed = 2 }, CancellationToken.None);
        var b = model.GetParameters()["dense0.weight"].AsSpan<float>().ToArray();
        Assert.NotEqual(a, b);
    }

    [Theory]
    [InlineData("logistic")]
    [InlineData("mlp")]
    public void Train_SeparableBlobs_ReachesHighAccuracy(string name)
    {
        var train = SyntheticData.Blobs(600, 10, 3, seed: 51, separation: 2.0);
        var model = ModelFactory.Create(name, 10, 3);
        model.Initialize(3);
        var result = model.Train(train, new TrainOptions { Epochs = 5, BatchSize = 32, LearningRate = 0.05, Seed = 9 }, CancellationToken.None);
        double accuracy = SyntheticData.Accuracy(model.PredictProbabilities(train), train.Labels, 3);
        Assert.True(accuracy > 0.9, $"accuracy {accuracy}");
        Assert.Equal(600, result.Examples);
        Assert.Equal(5 * 19, result.Steps);
        Assert.True(result.Loss is > 0 and < 0.5, $"loss {result.Loss}");
    }

    [Fact]
    public void PredictProbabilities_Rows_SumToOne()
    {
        var data = SyntheticData.Blobs(300, 4, 5, seed: 61);
        var model = ModelFactory.Create("mlp:16", 4, 5);
        model.Initialize(2);
        var p = model.PredictProbabilities(data);
        Assert.Equal(300 * 5, p.Length);
        for (int i = 0; i < 300; i++)
        {
            Assert.Equal(1.0, p.AsSpan(i * 5, 5).ToArray().Sum(), 5);
        }
    }

    [Fact]
    public void GetParameters_MlpNamesAndShapes_AreAsDocumented()
    {
        var model = ModelFactory.Create("mlp:256,128", 784, 10);
        var record = model.GetParameters();
        Assert.Equal(["dense0.weight", "dense0.bias", "dense1.weight", "dense1.bias", "dense2.weight", "dense2.bias"], record.Names);
        Assert.Equal([784L, 256L], record["dense0.weight"].Shape);
        Assert.Equal([10L], record["dense2.bias"].Shape);
        Assert.All(record, kv => Assert.Equal(DType.Float32, kv.Value.DType));
        Assert.Equal(((DifferentiableModel)model).ParameterCount, record.ElementCount);
    }

    [Fact]
    public void GetParameters_Logistic_UsesLinearNames()
    {
        var record = ModelFactory.Create("logistic", 30, 2).GetParameters();
        Assert.Equal(["linear.weight", "linear.bias"], record.Names);
        Assert.Equal([30L, 2L], record["linear.weight"].Shape);
    }

    [Fact]
    public void GetParameters_ReturnsCopy_ModelUnchanged()
    {
        var model = ModelFactory.Create("mlp:4", 3, 2);
        model.Initialize(1);
        var record = model.GetParameters();
        float before = record["dense0.weight"].AsSpan<float>()[0];
        record["dense0.weight"].AsSpan<float>()[0] = 1234f;
        Assert.Equal(before, model.GetParameters()["dense0.weight"].AsSpan<float>()[0]);
    }

    [Fact]
    public void Initialize_SameSeed_SameParameters()
    {
        var a = ModelFactory.Create("mlp", 20, 3);
        var b = ModelFactory.Create("mlp", 20, 3);
        a.Initialize(4);
        b.Initialize(4);
        Assert.Equal(a.GetParameters()["dense0.weight"].AsBytes().ToArray(), b.GetParameters()["dense0.weight"].AsBytes().ToArray());
        float limit = MathF.Sqrt(6f / 20);
        Assert.All(a.GetParameters()["dense0.weight"].AsSpan<float>().ToArray(), w => Assert.InRange(w, -limit, limit));
    }

    [Fact]
    public void SetParameters_WrongName_ThrowsNamingMismatch()
    {
        var model = ModelFactory.Create("mlp:4", 3, 2);
        var record = new ArrayRecord(model.GetParameters().Select((kv, i) => new KeyValuePair<string, Tensor>(i == 2 ? "dense9.weight" : kv.Key, kv.Value)));
        var e = Assert.Throws<ArgumentException>(() => model.SetParameters(record));
        Assert.Contains("dense1.weight", e.Message);
        Assert.Contains("dense9.weight", e.Message);
    }

    [Fact]
    public void SetParameters_WrongShape_ThrowsNamingTensor()
    {
        var model = ModelFactory.Create("logistic", 3, 2);
        var record = new ArrayRecord { { "linear.weight", Tensor.FromArray(new float[6], 2, 3) }, { "linear.bias", Tensor.FromArray(new float[2], 2) } };
        var e = Assert.Throws<ArgumentException>(() => model.SetParameters(record));
        Assert.Contains("linear.weight", e.Message);
    }

    [Fact]
    public void SetParameters_WrongDType_ThrowsNamingTensor()
    {
        var model = ModelFactory.Create("logistic", 3, 2);
        var record = new ArrayRecord { { "linear.weight", Tensor.FromArray(new float[6], 3, 2) }, { "linear.bias", Tensor.FromArray(new double[2], 2) } };
        var e = Assert.Throws<ArgumentException>(() => model.SetParameters(record));
        Assert.Contains("linear.bias", e.Message);
    }

    [Fact]
    public void SetParameters_WrongCount_Throws()
    {
        var model = ModelFactory.Create("logistic", 3, 2);
        var record = new ArrayRecord { { "linear.weight", Tensor.FromArray(new float[6], 3, 2) } };
        Assert.Throws<ArgumentException>(() => model.SetParameters(record));
    }

    [Fact]
    public void SetParameters_RoundTrip_RestoresValues()
    {
        var a = ModelFactory.Create("mlp:5", 4, 3);
        a.Initialize(8);
        var b = ModelFactory.Create("mlp:5", 4, 3);
        b.SetParameters(a.GetParameters());
        var data = SyntheticData.Blobs(10, 4, 3, seed: 1);
        Assert.Equal(a.PredictProbabilities(data), b.PredictProbabilities(data));
    }

    [Fact]
    public void LossAndGradient_LabelOutOfRange_Throws()
    {
        var model = (DifferentiableModel)ModelFactory.Create("logistic", 2, 2);
        Assert.Throws<ArgumentOutOfRangeException>(() => model.LossAndGradient(new float[2], [2], new float[model.ParameterCount]));
    }

    [Fact]
    public void Train_WrongFeatureCount_Throws()
    {
        var model = ModelFactory.Create("mlp", 3, 2);
        var data = SyntheticData.Blobs(10, 4, 2, seed: 1);
        Assert.Throws<ArgumentException>(() => model.Train(data, new TrainOptions(), CancellationToken.None));
    }
}

public class ProximalTermTests
{
    [Fact]
    public void Train_LargeProximalMu_StaysCloserToStart()
    {
        var data = Federate.Learning.Data.DatasetCatalog.Load("iris").Train;
        double Drift(double mu)
        {
            var model = Federate.Learning.Models.ModelFactory.Create("mlp:16", data.FeatureCount, data.ClassCount);
            model.Initialize(3);
            var start = model.GetParameters()["dense0.weight"].AsSpan<float>().ToArray();
            model.Train(data, new Federate.Learning.Models.TrainOptions { Epochs = 5, BatchSize = 8, LearningRate = 0.1, Seed = 1, ProximalMu = mu }, CancellationToken.None);
            var end = model.GetParameters()["dense0.weight"].AsSpan<float>().ToArray();
            return Math.Sqrt(start.Zip(end).Sum(p => (double)(p.First - p.Second) * (p.First - p.Second)));
        }

        double free = Drift(0);
        double prox = Drift(5);
        Assert.True(prox < 0.5 * free, $"drift with mu=5: {prox}, without: {free}");
    }
}
