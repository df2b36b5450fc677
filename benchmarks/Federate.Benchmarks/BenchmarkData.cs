using Federate.Learning;

namespace Federate.Benchmarks;

/// <summary>The benchmarks' data: seeded random features in [0, 1) and uniform labels.</summary>
internal static class BenchmarkData
{
    /// <summary><paramref name="examples"/> rows of <paramref name="features"/> features and labels in [0, classes), from seed 42.</summary>
    public static Dataset Random(int examples, int features, int classes)
    {
        var random = new Random(42);
        var x = new float[examples * features];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = (float)random.NextDouble();
        }

        var y = new int[examples];
        for (int i = 0; i < examples; i++)
        {
            y[i] = random.Next(classes);
        }

        return new Dataset("bench", x, y, features, [.. Enumerable.Range(0, classes).Select(c => $"c{c}")]);
    }
}
