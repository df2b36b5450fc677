using System.Globalization;
using Federate.Core;

namespace Federate.Learning.Partitioning;

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
