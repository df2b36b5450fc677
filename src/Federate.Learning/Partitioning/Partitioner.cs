namespace Federate.Learning;

/// <summary>Splits a dataset's rows among clients.</summary>
public abstract class Partitioner
{
    /// <summary>
    /// Parses "iid", "dirichlet:ALPHA", "shards:K" or "column:NAME"; throws <see cref="ArgumentException"/> with a
    /// one-line message otherwise.
    /// </summary>
    public static Partitioner Parse(string spec) => throw new NotImplementedException();

    /// <summary>
    /// Row indices of each of <paramref name="clients"/> partitions; deterministic for a seed. Throws
    /// <see cref="ArgumentException"/> (one line) when the split is impossible (e.g. more clients than rows).
    /// </summary>
    public abstract int[][] Split(Dataset data, int clients, int seed);
}

/// <summary>Train/test splitting.</summary>
public static class TrainTestSplit
{
    /// <summary>
    /// Splits row indices into train and test parts: a seeded shuffle, then the last
    /// round(testFraction * n) rows (at least 1 when n >= 2) go to test.
    /// </summary>
    public static (int[] Train, int[] Test) Split(IReadOnlyList<int> rows, double testFraction, int seed) => throw new NotImplementedException();
}
