using System.Globalization;

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
