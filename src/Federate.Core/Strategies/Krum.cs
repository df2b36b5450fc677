namespace Federate.Core.Strategies;

/// <summary>
/// Krum and Multi-Krum (Blanchard et al., 2017, "Machine Learning with Adversaries: Byzantine Tolerant Gradient
/// Descent"). Each update's score is the sum of squared distances to its n - f - 2 nearest neighbours; Krum keeps the
/// update with the lowest score, Multi-Krum averages (example-weighted) the <c>--keep</c> M lowest. Pairwise
/// distances are computed once per round. Parameters: <c>--byzantine</c> f (default 1), <c>--keep</c> M.
/// </summary>
public sealed class Krum : BufferedStrategy
{
    /// <summary>Number of Byzantine clients tolerated.</summary>
    public int Byzantine { get; init; } = 1;

    /// <summary>Models averaged; 1 is plain Krum, null keeps n - f.</summary>
    public int? Keep { get; init; } = 1;

    /// <summary>True for Multi-Krum's naming.</summary>
    public bool Multi { get; init; }

    /// <inheritdoc />
    public override string Name => Multi ? "multi-krum" : "krum";

    /// <inheritdoc />
    protected override ArrayRecord? Aggregate(BufferedUpdates updates, ArrayRecord global)
    {
        var distances = PairwiseSquaredDistances(updates);
        int keep = Math.Clamp(Keep ?? (updates.Count - Byzantine), 1, updates.Count);
        var chosen = Scores(distances, Enumerable.Range(0, updates.Count).ToList(), Byzantine)
            .OrderBy(s => s.Score).ThenBy(s => s.Index).Take(keep).Select(s => s.Index).ToList();
        return WeightedMean(updates, chosen);
    }

    /// <summary>
    /// Squared Euclidean distances between every pair of updates (n x n, symmetric), as
    /// ||a||² + ||b||² - 2·a·b with the dot products computed block by block so that each block of every update is
    /// read from memory once and reused from cache for all pairs (clamped at 0 against rounding).
    /// </summary>
    public static double[,] PairwiseSquaredDistances(BufferedUpdates updates)
    {
        ArgumentNullException.ThrowIfNull(updates);
        const int Block = 1024;
        int n = updates.Count;
        var dots = new double[n, n];
        var blocks32 = new float[n][];
        var blocks64 = new double[n][];
        for (int t = 0; t < updates.Global.Count; t++)
        {
            var first = UpdateMath.At(updates.Global, t);
            long length = first.Length;
            for (long start = 0; start < length; start += Block)
            {
                int size = (int)Math.Min(Block, length - start);
                for (int i = 0; i < n; i++)
                {
                    if (first.DType == DType.Float32)
                    {
                        updates.Read(i, t, start, (blocks32[i] ??= new float[Block]).AsSpan(0, size));
                    }
                    else
                    {
                        updates.Read(i, t, start, (blocks64[i] ??= new double[Block]).AsSpan(0, size));
                    }
                }

                for (int i = 0; i < n; i++)
                {
                    for (int j = i; j < n; j++)
                    {
                        dots[i, j] += first.DType == DType.Float32
                            ? System.Numerics.Tensors.TensorPrimitives.Dot<float>(blocks32[i].AsSpan(0, size), blocks32[j].AsSpan(0, size))
                            : System.Numerics.Tensors.TensorPrimitives.Dot<double>(blocks64[i].AsSpan(0, size), blocks64[j].AsSpan(0, size));
                    }
                }
            }
        }

        return FromDots(dots, n);
    }

    /// <summary>
    /// Squared Euclidean distances between every pair of in-memory updates; the same blocks and the same values as the
    /// <see cref="BufferedUpdates"/> overload.
    /// </summary>
    public static double[,] PairwiseSquaredDistances(IReadOnlyList<ClientUpdate> updates)
    {
        ArgumentNullException.ThrowIfNull(updates);
        const int Block = 1024;
        int n = updates.Count;
        var dots = new double[n, n];
        int tensors = updates.Count == 0 ? 0 : updates[0].Parameters.Count;
        for (int t = 0; t < tensors; t++)
        {
            var first = UpdateMath.At(updates[0].Parameters, t);
            long length = first.Length;
            for (long start = 0; start < length; start += Block)
            {
                int size = (int)Math.Min(Block, length - start);
                for (int i = 0; i < n; i++)
                {
                    var a = UpdateMath.At(updates[i].Parameters, t);
                    for (int j = i; j < n; j++)
                    {
                        var b = UpdateMath.At(updates[j].Parameters, t);
                        dots[i, j] += a.DType == DType.Float32
                            ? System.Numerics.Tensors.TensorPrimitives.Dot<float>(a.AsSpan<float>().Slice((int)start, size), b.AsSpan<float>().Slice((int)start, size))
                            : System.Numerics.Tensors.TensorPrimitives.Dot<double>(a.AsSpan<double>().Slice((int)start, size), b.AsSpan<double>().Slice((int)start, size));
                    }
                }
            }
        }

        return FromDots(dots, n);
    }

    private static double[,] FromDots(double[,] dots, int n)
    {
        var d = new double[n, n];
        for (int i = 0; i < n; i++)
        {
            for (int j = i + 1; j < n; j++)
            {
                d[i, j] = d[j, i] = Math.Max(0, dots[i, i] + dots[j, j] - (2 * dots[i, j]));
            }
        }

        return d;
    }

    /// <summary>Krum scores of the candidates among themselves: sum of the n - f - 2 smallest squared distances (at least 1).</summary>
    public static List<(int Index, double Score)> Scores(double[,] distances, IReadOnlyList<int> candidates, int byzantine)
    {
        int neighbours = Math.Max(1, candidates.Count - byzantine - 2);
        var result = new List<(int, double)>(candidates.Count);
        var row = new double[Math.Max(0, candidates.Count - 1)];
        foreach (var i in candidates)
        {
            int k = 0;
            foreach (var j in candidates)
            {
                if (j != i)
                {
                    row[k++] = distances[i, j];
                }
            }

            var span = row.AsSpan(0, k);
            int take = Math.Min(neighbours, k);
            double score = 0;
            if (take > 0)
            {
                Selection.Select(span, take - 1);
                for (int t = 0; t < take; t++)
                {
                    score += span[t];
                }
            }

            result.Add((i, score));
        }

        return result;
    }

    // The example-weighted mean of the chosen buffered updates, streamed into FedAvg's aggregator block by block
    // (bit-identical to folding whole updates).
    internal static ArrayRecord WeightedMean(BufferedUpdates updates, IReadOnlyList<int> chosen)
    {
        var aggregator = new WeightedMeanAggregator(updates.Global);
        var buffer = new byte[1 << 20];
        foreach (var k in chosen)
        {
            var fold = aggregator.BeginUpdate(updates.NodeId(k), new MetricRecord { [RecordNames.NumExamples] = updates.NumExamples(k) });
            int t = 0;
            foreach (var (_, g) in updates.Global)
            {
                int elem = g.DType.SizeOf();
                int step = buffer.Length / elem;
                for (long offset = 0; offset < g.Length; offset += step)
                {
                    int count = (int)Math.Min(step, g.Length - offset);
                    var bytes = buffer.AsSpan(0, count * elem);
                    updates.Read(k, t, offset * elem, bytes);
                    fold.FoldChunk(t, offset, bytes);
                }

                t++;
            }

            fold.Commit();
        }

        return aggregator.Complete().Parameters!;
    }

    internal static ArrayRecord WeightedMean(ArrayRecord global, IReadOnlyList<ClientUpdate> chosen)
    {
        var aggregator = new WeightedMeanAggregator(global);
        foreach (var u in chosen)
        {
            var content = new RecordDict();
            content.Arrays[RecordNames.Model] = u.Parameters;
            content.Metrics[RecordNames.Metrics] = new MetricRecord { [RecordNames.NumExamples] = u.NumExamples };
            aggregator.Add(new Message(new MessageMetadata { RunId = "", Round = 0, MessageType = MessageType.Train, SourceNodeId = u.NodeId }, content));
        }

        return aggregator.Complete().Parameters!;
    }
}
