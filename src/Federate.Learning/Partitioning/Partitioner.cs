using System.Globalization;
using Federate.Core;

namespace Federate.Learning.Partitioning;

/// <summary>
/// Splits a dataset's rows among clients. Specs: <c>iid</c>, <c>dirichlet:ALPHA</c> (label skew),
/// <c>shards:K</c> (pathological label split) and <c>column:NAME</c> (natural split by a column's values).
/// Every partitioner returns each client's row indices in ascending order; partitions are disjoint, every client
/// gets at least one row, and the result depends only on the data, the client count and the seed.
/// </summary>
public abstract class Partitioner
{
    /// <summary>The accepted spec forms, for messages.</summary>
    internal const string ValidSpecs = "iid, dirichlet:ALPHA (e.g. dirichlet:0.5), shards:K (e.g. shards:2), column:NAME (e.g. column:mote_id)";

    /// <summary>
    /// Parses "iid", "dirichlet:ALPHA", "shards:K" or "column:NAME"; throws <see cref="ArgumentException"/> with a
    /// one-line message otherwise.
    /// </summary>
    public static Partitioner Parse(string spec)
    {
        if (string.IsNullOrWhiteSpace(spec))
        {
            throw new ArgumentException($"no partitioning given; valid partitionings are: {ValidSpecs}");
        }

        string s = spec.Trim();
        int colon = s.IndexOf(':', StringComparison.Ordinal);
        string kind = (colon < 0 ? s : s[..colon]).Trim().ToLowerInvariant();
        string? arg = colon < 0 ? null : s[(colon + 1)..].Trim();
        switch (kind)
        {
            case "iid" when arg is null:
                return new IidPartitioner();
            case "dirichlet":
                if (arg is null || !double.TryParse(arg, NumberStyles.Float, CultureInfo.InvariantCulture, out double alpha) || !double.IsFinite(alpha) || alpha <= 0)
                {
                    throw new ArgumentException($"dirichlet alpha must be a number > 0 (e.g. dirichlet:0.5), got '{arg ?? string.Empty}'");
                }

                return new DirichletPartitioner(alpha);
            case "shards":
                if (arg is null || !int.TryParse(arg, NumberStyles.None, CultureInfo.InvariantCulture, out int k) || k < 1)
                {
                    throw new ArgumentException($"shards K must be a whole number >= 1 (e.g. shards:2), got '{arg ?? string.Empty}'");
                }

                return new ShardPartitioner(k);
            case "column":
                if (string.IsNullOrEmpty(arg))
                {
                    throw new ArgumentException("column partitioning needs a column name (e.g. column:mote_id)");
                }

                return new ColumnPartitioner(arg);
            default:
                throw new ArgumentException($"unknown partitioning '{spec}'; valid partitionings are: {ValidSpecs}");
        }
    }

    /// <summary>
    /// Row indices of each of <paramref name="clients"/> partitions; deterministic for a seed. Throws
    /// <see cref="ArgumentException"/> (one line) when the split is impossible (e.g. more clients than rows).
    /// </summary>
    public abstract int[][] Split(Dataset data, int clients, int seed);

    /// <summary>Checks the client count against the data (clients >= 1 and at most one client per row).</summary>
    private protected static void Validate(Dataset data, int clients)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (clients < 1)
        {
            throw new ArgumentException($"the number of clients must be at least 1, got {clients}");
        }

        if (clients > data.Count)
        {
            throw new ArgumentException($"cannot split {data.Count} rows among {clients} clients; use at most {data.Count} clients");
        }
    }

    /// <summary>Fisher–Yates shuffle in place.</summary>
    internal static void Shuffle(int[] values, Random rng)
    {
        for (int i = values.Length - 1; i > 0; i--)
        {
            int j = rng.Next(i + 1);
            (values[i], values[j]) = (values[j], values[i]);
        }
    }

    /// <summary>Sorted copies of per-client index lists.</summary>
    private protected static int[][] Sorted(List<int>[] parts)
    {
        var result = new int[parts.Length][];
        for (int c = 0; c < parts.Length; c++)
        {
            result[c] = [.. parts[c]];
            Array.Sort(result[c]);
        }

        return result;
    }
}

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

/// <summary><c>iid</c>: a seeded shuffle cut into near-equal parts (sizes differ by at most 1).</summary>
internal sealed class IidPartitioner : Partitioner
{
    public override int[][] Split(Dataset data, int clients, int seed)
    {
        Validate(data, clients);
        int n = data.Count;
        int[] order = [.. Enumerable.Range(0, n)];
        Shuffle(order, new Random(Seeds.Derive(seed, 0, "partition:iid")));
        var result = new int[clients][];
        int start = 0;
        for (int c = 0; c < clients; c++)
        {
            int size = (n / clients) + (c < n % clients ? 1 : 0);
            result[c] = order[start..(start + size)];
            Array.Sort(result[c]);
            start += size;
        }

        return result;
    }

    public override string ToString() => "iid";
}

/// <summary>
/// <c>dirichlet:ALPHA</c>: label skew as in Hsu et al. (2019) and Flower's DirichletPartitioner. For each class,
/// client proportions are drawn from Dirichlet(alpha) and the class's shuffled rows are cut accordingly. The draw is
/// repeated (up to 100 times, each with a seed derived from the given one) until every client has at least
/// max(1, min(10, n / clients / 2)) rows.
/// </summary>
internal sealed class DirichletPartitioner(double alpha) : Partitioner
{
    internal const int MaxAttempts = 100;

    public double Alpha { get; } = alpha;

    public override int[][] Split(Dataset data, int clients, int seed)
    {
        Validate(data, clients);
        int n = data.Count;
        int minSize = Math.Max(1, Math.Min(10, n / clients / 2));
        var byClass = new List<int>[data.ClassCount];
        for (int c = 0; c < byClass.Length; c++)
        {
            byClass[c] = [];
        }

        for (int i = 0; i < n; i++)
        {
            byClass[data.Labels[i]].Add(i);
        }

        var proportions = new double[clients];
        for (int attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var rng = new Random(Seeds.Derive(seed, attempt, "partition:dirichlet"));
            var parts = new List<int>[clients];
            for (int k = 0; k < clients; k++)
            {
                parts[k] = [];
            }

            foreach (var classRows in byClass)
            {
                if (classRows.Count == 0)
                {
                    continue;
                }

                int[] rows = [.. classRows];
                Shuffle(rows, rng);
                DirichletSampler.Sample(Alpha, proportions, rng);
                double cumulative = 0;
                int start = 0;
                for (int k = 0; k < clients; k++)
                {
                    cumulative += proportions[k];
                    int end = k == clients - 1 ? rows.Length : Math.Clamp((int)(cumulative * rows.Length), start, rows.Length);
                    for (int r = start; r < end; r++)
                    {
                        parts[k].Add(rows[r]);
                    }

                    start = end;
                }
            }

            if (parts.All(p => p.Count >= minSize))
            {
                return Sorted(parts);
            }
        }

        throw new ArgumentException($"dirichlet:{Alpha.ToString(CultureInfo.InvariantCulture)} could not give each of {clients} clients at least {minSize} {(minSize == 1 ? "row" : "rows")} in {MaxAttempts} tries; raise alpha or reduce clients");
    }

    public override string ToString() => $"dirichlet:{Alpha.ToString(CultureInfo.InvariantCulture)}";
}

/// <summary>
/// <c>shards:K</c>: the pathological non-IID split of McMahan et al. (2017). Rows are sorted by label (stable, so
/// by index within a label), cut into clients * K contiguous shards of near-equal size, and each client gets K
/// shards chosen by a seeded shuffle.
/// </summary>
internal sealed class ShardPartitioner(int shardsPerClient) : Partitioner
{
    public int ShardsPerClient { get; } = shardsPerClient;

    public override int[][] Split(Dataset data, int clients, int seed)
    {
        Validate(data, clients);
        int n = data.Count;
        long shardCount = (long)clients * ShardsPerClient;
        if (shardCount > n)
        {
            throw new ArgumentException($"shards:{ShardsPerClient} cannot cut {n} rows into {shardCount} shards ({clients} clients x {ShardsPerClient}); use fewer clients or a smaller K");
        }

        int[] byLabel = [.. Enumerable.Range(0, n).OrderBy(i => data.Labels[i])];
        int[] shards = [.. Enumerable.Range(0, (int)shardCount)];
        Shuffle(shards, new Random(Seeds.Derive(seed, 0, "partition:shards")));
        var parts = new List<int>[clients];
        for (int c = 0; c < clients; c++)
        {
            parts[c] = [];
            for (int s = 0; s < ShardsPerClient; s++)
            {
                int shard = shards[(c * ShardsPerClient) + s];
                int start = (int)(shard * (long)n / shardCount);
                int end = (int)((shard + 1) * (long)n / shardCount);
                for (int r = start; r < end; r++)
                {
                    parts[c].Add(byLabel[r]);
                }
            }
        }

        return Sorted(parts);
    }

    public override string ToString() => $"shards:{ShardsPerClient}";
}

/// <summary>
/// <c>column:NAME</c>: a natural split by the distinct values of a column, taken in ascending order and dealt
/// round-robin to clients (one value per client when the counts match). The column is looked up in
/// <see cref="Dataset.Columns"/>, then among the features by name. The seed is not used.
/// </summary>
internal sealed class ColumnPartitioner(string column) : Partitioner
{
    public string Column { get; } = column;

    public override int[][] Split(Dataset data, int clients, int seed)
    {
        Validate(data, clients);
        double[] values = ColumnValues(data);
        double[] distinct = [.. values.Distinct().Order()];
        if (clients > distinct.Length)
        {
            throw new ArgumentException($"column '{Column}' has {distinct.Length} distinct values; use --clients {distinct.Length} or fewer");
        }

        var clientOf = new Dictionary<double, int>(distinct.Length);
        for (int v = 0; v < distinct.Length; v++)
        {
            clientOf[distinct[v]] = v % clients;
        }

        var parts = new List<int>[clients];
        for (int c = 0; c < clients; c++)
        {
            parts[c] = [];
        }

        for (int i = 0; i < values.Length; i++)
        {
            parts[clientOf[values[i]]].Add(i);
        }

        return Sorted(parts);
    }

    public override string ToString() => $"column:{Column}";

    private double[] ColumnValues(Dataset data)
    {
        if (data.Columns.TryGetValue(Column, out var values))
        {
            return values;
        }

        int feature = -1;
        for (int j = 0; j < data.FeatureNames.Count; j++)
        {
            if (data.FeatureNames[j] == Column)
            {
                feature = j;
                break;
            }
        }

        if (feature < 0)
        {
            var available = data.Columns.Keys.Concat(data.FeatureNames);
            throw new ArgumentException($"column '{Column}' not found in dataset '{data.Name}'; available columns: {string.Join(", ", available)}");
        }

        var result = new double[data.Count];
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = data.Features[(i * data.FeatureCount) + feature];
        }

        return result;
    }
}
