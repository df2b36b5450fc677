using System.Globalization;

namespace Federate.Learning.Partitioning;

/// <summary>Train/test splitting.</summary>
public static class TrainTestSplit
{
    /// <summary>
    /// Splits row indices into train and test parts: a seeded shuffle, then the last
    /// round(testFraction * n) rows (at least 1 when n >= 2) go to test.
    /// </summary>
    /// <remarks>
    /// <paramref name="testFraction"/> must be in [0, 1). The test size is round(testFraction * n) (midpoint away
    /// from zero), clamped to [1, n - 1] when n >= 2 so neither part is empty; with n &lt; 2 everything is train.
    /// Both outputs are returned in ascending order, the same for the same rows and seed.
    /// </remarks>
    public static (int[] Train, int[] Test) Split(IReadOnlyList<int> rows, double testFraction, int seed)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (double.IsNaN(testFraction) || testFraction < 0 || testFraction >= 1)
        {
            throw new ArgumentException($"test fraction must be at least 0 and below 1, got {testFraction.ToString(CultureInfo.InvariantCulture)}");
        }

        int[] shuffled = [.. rows];
        int n = shuffled.Length;
        if (n < 2)
        {
            return (shuffled, []);
        }

        Partitioner.Shuffle(shuffled, new Random(seed));
        int testCount = (int)Math.Round(testFraction * n, MidpointRounding.AwayFromZero);
        testCount = Math.Clamp(testCount, 1, n - 1);
        int[] train = shuffled[..(n - testCount)];
        int[] test = shuffled[(n - testCount)..];
        Array.Sort(train);
        Array.Sort(test);
        return (train, test);
    }
}
