using System.Globalization;
using Federate.Core;

namespace Federate.Learning.Tests.Models;

public class GaussianNaiveBayesTests
{
    private static Dataset LoadBreastCancer()
    {
        using var stream = typeof(Model).Assembly.GetManifestResourceStream("Federate.Learning.Data.breast_cancer.csv")
            ?? throw new InvalidOperationException("breast_cancer.csv resource missing");
        using var reader = new StreamReader(stream);
        var header = reader.ReadLine()!.Split(',');
        int count = int.Parse(header[0], CultureInfo.InvariantCulture);
        int features = int.Parse(header[1], CultureInfo.InvariantCulture);
        var x = new float[count * features];
        var y = new int[count];
        for (int i = 0; i < count; i++)
        {
            var cells = reader.ReadLine()!.Split(',');
            for (int j = 0; j < features; j++)
            {
                x[i * features + j] = float.Parse(cells[j], CultureInfo.InvariantCulture);
            }

            y[i] = int.Parse(cells[features], CultureInfo.InvariantCulture);
        }

        return new Dataset("breast_cancer", x, y, features, [header[2], header[3]]);
    }

    /// <summary>Textbook GaussianNB (two-pass means and variances), as scikit-learn fits it.</summary>
    private static int[] ReferencePredict(Dataset train, Dataset test)
    {
        int d = train.FeatureCount;
        int classes = train.ClassCount;
        int n = train.Count;
        double maxVar = 0;
        for (int j = 0; j < d; j++)
        {
            double m = Enumerable.Range(0, n).Average(i => (double)train.Row(i)[j]);
            double v = Enumerable.Range(0, n).Average(i => Math.Pow(train.Row(i)[j] - m, 2));
            maxVar = Math.Max(maxVar, v);
        }

        double eps = 1e-9 * maxVar;
        var mean = new double[classes, d];
        var variance = new double[classes, d];
        var prior = new double[classes];
        for (int c = 0; c < classes; c++)
        {
            var rows = Enumerable.Range(0, n).Where(i => train.Labels[i] == c).ToArray();
            prior[c] = (double)rows.Length / n;
            for (int j = 0; j < d; j++)
            {
                mean[c, j] = rows.Average(i => (double)train.Row(i)[j]);
                variance[c, j] = rows.Average(i => Math.Pow(train.Row(i)[j] - mean[c, j], 2)) + eps;
            }
        }

        var predictions = new int[test.Count];
        for (int i = 0; i < test.Count; i++)
        {
            double best = double.NegativeInfinity;
            for (int c = 0; c < classes; c++)
            {
                double jll = Math.Log(prior[c]);
                for (int j = 0; j < d; j++)
                {
                    jll -= 0.5 * Math.Log(2 * Math.PI * variance[c, j]);
                    jll -= Math.Pow(test.Row(i)[j] - mean[c, j], 2) / (2 * variance[c, j]);
                }

                if (jll > best)
                {
                    best = jll;
                    predictions[i] = c;
                }
            }
        }

        return predictions;
    }

    private static int[] Argmax(float[] p, int classes) =>
        [.. Enumerable.Range(0, p.Length / classes).Select(i => Array.IndexOf(p, p.AsSpan(i * classes, classes).ToArray().Max(), i * classes) - i * classes)];

    [Fact]
    public void Train_PooledStatisticsOfThreePartitions_EqualUnionStatistics()
    {
        var all = SyntheticData.Blobs(211, 6, 3, seed: 71);
        int[][] parts = [[.. Enumerable.Range(0, 50)], [.. Enumerable.Range(50, 120)], [.. Enumerable.Range(170, 41)]];
        var union = ModelFactory.Create("gaussian-nb", 6, 3);
        union.Train(all, new TrainOptions(), CancellationToken.None);
        var expected = union.GetParameters();

        var pooled = expected.Names.ToDictionary(name => name, name => new double[expected[name].Length]);
        long total = 0;
        foreach (var part in parts)
        {
            var model = ModelFactory.Create("gaussian-nb", 6, 3);
            var result = model.Train(all.Subset(part), new TrainOptions(), CancellationToken.None);
            Assert.Equal(part.Length, result.Examples);
            total += result.Examples;
            foreach (var (name, tensor) in model.GetParameters())
            {
                Assert.Equal(DType.Float64, tensor.DType);
                var values = tensor.AsSpan<double>();
                for (int i = 0; i < values.Length; i++)
                {
                    pooled[name][i] += values[i] * result.Examples;
                }
            }
        }

        foreach (var name in expected.Names)
        {
            var want = expected[name].AsSpan<double>();
            for (int i = 0; i < want.Length; i++)
            {
                Assert.True(Math.Abs(pooled[name][i] / total - want[i]) <= 1e-12, $"{name}[{i}]");
            }
        }
    }

    [Fact]
    public void PredictProbabilities_BreastCancer_MatchesReferenceImplementation()
    {
        var data = LoadBreastCancer();
        var model = ModelFactory.Create("gaussian-nb", data.FeatureCount, 2);
        var result = model.Train(data, new TrainOptions(), CancellationToken.None);
        var p = model.PredictProbabilities(data);
        var predicted = Argmax(p, 2);
        var reference = ReferencePredict(data, data);
        Assert.Equal(reference, predicted);
        double accuracy = SyntheticData.Accuracy(p, data.Labels, 2);
        // scikit-learn: GaussianNB().fit(X, y).score(X, y) == 0.9420 (536 / 569) on load_breast_cancer.
        Assert.Equal(536.0 / 569, accuracy, 10);
        Assert.True(result.Loss is > 0 and < 1, $"loss {result.Loss}");
        Assert.Equal(569, result.Examples);
    }

    [Fact]
    public void PredictProbabilities_HeldOutSplit_MatchesReferencePredictions()
    {
        var data = SyntheticData.Blobs(400, 8, 4, seed: 81, separation: 1.0);
        var train = data.Subset([.. Enumerable.Range(0, 300)]);
        var test = data.Subset([.. Enumerable.Range(300, 100)]);
        var model = ModelFactory.Create("gaussian-nb", 8, 4);
        model.Train(train, new TrainOptions(), CancellationToken.None);
        var p = model.PredictProbabilities(test);
        Assert.Equal(ReferencePredict(train, test), Argmax(p, 4));
        for (int i = 0; i < test.Count; i++)
        {
            Assert.Equal(1.0, p.AsSpan(i * 4, 4).ToArray().Sum(), 5);
        }
    }

    [Fact]
    public void PredictProbabilities_ClassWithZeroFraction_GetsZeroProbability()
    {
        var data = SyntheticData.Blobs(90, 3, 3, seed: 91);
        var onlyTwo = data.Subset([.. Enumerable.Range(0, 90).Where(i => data.Labels[i] != 1)]);
        var model = ModelFactory.Create("gaussian-nb", 3, 3);
        model.Train(onlyTwo, new TrainOptions(), CancellationToken.None);
        Assert.Equal(0.0, model.GetParameters()["class_fraction"].AsSpan<double>()[1]);
        var p = model.PredictProbabilities(data);
        for (int i = 0; i < data.Count; i++)
        {
            Assert.Equal(0f, p[i * 3 + 1]);
        }
    }

    [Fact]
    public void SetParameters_Float32Tensor_ThrowsNamingTensor()
    {
        var model = ModelFactory.Create("gaussian-nb", 2, 2);
        var record = new ArrayRecord
        {
            { "class_fraction", Tensor.FromArray(new double[2], 2) },
            { "sum_x", Tensor.FromArray(new float[4], 2, 2) },
            { "sum_x2", Tensor.FromArray(new double[4], 2, 2) },
        };
        var e = Assert.Throws<ArgumentException>(() => model.SetParameters(record));
        Assert.Contains("sum_x", e.Message);
    }

    [Fact]
    public void SetParameters_PooledParameters_RoundTrip()
    {
        var data = SyntheticData.Blobs(60, 3, 2, seed: 5);
        var a = ModelFactory.Create("gaussian-nb", 3, 2);
        a.Train(data, new TrainOptions(), CancellationToken.None);
        var b = ModelFactory.Create("gaussian-nb", 3, 2);
        b.SetParameters(a.GetParameters());
        Assert.Equal(a.PredictProbabilities(data), b.PredictProbabilities(data));
    }
}
