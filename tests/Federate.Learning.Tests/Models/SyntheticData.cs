namespace Federate.Learning.Tests.Models;

internal static class SyntheticData
{
    /// <summary>Gaussian blobs: class c has a random centre (scale <paramref name="separation"/>) and unit noise.</summary>
    public static Dataset Blobs(int count, int features, int classes, int seed, double separation = 4.0)
    {
        var random = new Random(seed);
        var centres = new double[classes * features];
        for (int i = 0; i < centres.Length; i++)
        {
            centres[i] = (random.NextDouble() * 2 - 1) * separation;
        }

        var x = new float[count * features];
        var y = new int[count];
        for (int i = 0; i < count; i++)
        {
            int c = i % classes;
            y[i] = c;
            for (int j = 0; j < features; j++)
            {
                x[i * features + j] = (float)(centres[c * features + j] + Gaussian(random));
            }
        }

        return new Dataset("blobs", x, y, features, [.. Enumerable.Range(0, classes).Select(c => $"c{c}")]);
    }

    /// <summary>
    /// The central finite difference (L(p + eps·e_i) - L(p - eps·e_i)) / 2eps of the model's mean loss on
    /// <paramref name="data"/> along parameter <paramref name="i"/>; <paramref name="p"/> (the model's parameters) is
    /// restored, in the model too.
    /// </summary>
    public static double FiniteDifference(DifferentiableModel model, Dataset data, float[] p, int i, float eps)
    {
        float keep = p[i];
        p[i] = keep + eps;
        model.SetParametersFrom(p);
        double plus = model.LossAndGradient(data.Features, data.Labels, new float[p.Length]);
        p[i] = keep - eps;
        model.SetParametersFrom(p);
        double minus = model.LossAndGradient(data.Features, data.Labels, new float[p.Length]);
        p[i] = keep;
        model.SetParametersFrom(p);
        return (plus - minus) / (2 * eps);
    }

    public static float[] RandomFloats(int count, int seed, double scale = 1.0)
    {
        var random = new Random(seed);
        var result = new float[count];
        for (int i = 0; i < count; i++)
        {
            result[i] = (float)((random.NextDouble() * 2 - 1) * scale);
        }

        return result;
    }

    public static double Gaussian(Random random)
    {
        double u1 = 1.0 - random.NextDouble();
        double u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    public static double Accuracy(float[] probabilities, int[] labels, int classes)
    {
        int correct = 0;
        for (int i = 0; i < labels.Length; i++)
        {
            var row = probabilities.AsSpan(i * classes, classes);
            int best = 0;
            for (int c = 1; c < classes; c++)
            {
                if (row[c] > row[best])
                {
                    best = c;
                }
            }

            correct += best == labels[i] ? 1 : 0;
        }

        return (double)correct / labels.Length;
    }
}
