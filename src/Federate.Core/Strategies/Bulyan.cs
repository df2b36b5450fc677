namespace Federate.Core.Strategies;

/// <summary>
/// Bulyan (El Mhamdi et al., 2018, "The Hidden Vulnerability of Distributed Learning in Byzantium"): select
/// theta = n - 2f updates by repeated Krum, then per coordinate average the beta = theta - 2f values closest to the
/// median. Needs n >= 4f + 3 for its guarantee; with fewer updates it uses what it has. Parameter: <c>--byzantine</c> f.
/// </summary>
public sealed class Bulyan : BufferedStrategy
{
    /// <summary>Number of Byzantine clients tolerated.</summary>
    public int Byzantine { get; init; } = 1;

    /// <inheritdoc />
    public override string Name => "bulyan";

    /// <inheritdoc />
    protected override ArrayRecord? Aggregate(BufferedUpdates updates, ArrayRecord global)
    {
        int n = updates.Count;
        int f = Byzantine;
        int theta = Math.Max(1, n - (2 * f));
        var distances = Krum.PairwiseSquaredDistances(updates);
        var remaining = Enumerable.Range(0, n).ToList();
        var selected = new List<int>(theta);
        while (selected.Count < theta)
        {
            var best = Krum.Scores(distances, remaining, f).OrderBy(s => s.Score).ThenBy(s => s.Index).First().Index;
            selected.Add(best);
            remaining.Remove(best);
        }

        selected.Sort();
        int beta = Math.Max(1, theta - (2 * f));
        return CoordinateWise.ReduceModels(updates, selected, v => ClosestToMedianMean(v, beta), v => ClosestToMedianMean(v, beta));
    }

    /// <summary>Mean of the <paramref name="beta"/> values closest to the median of <paramref name="values"/>.</summary>
    public static T ClosestToMedianMean<T>(Span<T> values, int beta)
        where T : System.Numerics.INumber<T>
    {
        // The beta values closest to the median form a contiguous window of the sorted order around it; after a
        // median selection, widen the window greedily from both sides of the median.
        int n = values.Length;
        if (beta >= n)
        {
            var s = T.Zero;
            foreach (var v in values)
            {
                s += v;
            }

            return s / T.CreateChecked(n);
        }

        var median = Selection.Median(values);
        var keys = new T[n];
        for (int i = 0; i < n; i++)
        {
            keys[i] = T.Abs(values[i] - median);
        }

        var kth = keys.ToArray();
        Selection.Select(kth.AsSpan(), beta - 1);
        var limit = kth[beta - 1];
        T sum = T.Zero;
        int taken = 0;
        for (int i = 0; i < n && taken < beta; i++)
        {
            if (keys[i] < limit)
            {
                sum += values[i];
                taken++;
            }
        }

        for (int i = 0; i < n && taken < beta; i++)
        {
            if (keys[i] == limit)
            {
                sum += values[i];
                taken++;
            }
        }

        return sum / T.CreateChecked(beta);
    }
}
