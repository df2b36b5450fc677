namespace Federate.Core.Strategies;

/// <summary>
/// Coordinate-wise median (Yin et al., 2018, "Byzantine-Robust Distributed Learning: Towards Optimal Statistical
/// Rates"): each parameter of the new model is the median of the clients' values (found by selection, not a sort).
/// Tolerates fewer than half of the clients being arbitrary.
/// </summary>
public sealed class FedMedian : Strategy
{
    /// <inheritdoc />
    public override string Name => "median";

    /// <inheritdoc />
    public override ITrainAggregator CreateTrainAggregator(RoundContext context, ArrayRecord global) =>
        new BufferedAggregator(global, (Strategies.BufferedUpdates updates) => CoordinateWise.ReduceModels(updates, All(updates), Selection.Median, Selection.Median));

    internal static int[] All(Strategies.BufferedUpdates updates) => [.. Enumerable.Range(0, updates.Count)];
}

/// <summary>
/// Coordinate-wise trimmed mean (Yin et al., 2018): per parameter, drop the floor(beta·n) smallest and largest
/// client values and average the rest. Tolerates up to beta·n arbitrary clients. Parameter: <c>--trim-fraction</c>
/// beta in [0, 0.5), default 0.2.
/// </summary>
public sealed class FedTrimmedAvg : Strategy
{
    /// <summary>Fraction trimmed at each end.</summary>
    public double TrimFraction { get; init; } = 0.2;

    /// <inheritdoc />
    public override string Name => "trimmed-mean";

    /// <inheritdoc />
    public override ITrainAggregator CreateTrainAggregator(RoundContext context, ArrayRecord global) =>
        new BufferedAggregator(global, (Strategies.BufferedUpdates updates) =>
        {
            int trim = Math.Min((int)Math.Floor(TrimFraction * updates.Count), (updates.Count - 1) / 2);
            return CoordinateWise.ReduceModels(updates, FedMedian.All(updates), v => Selection.TrimmedMean(v, trim), v => Selection.TrimmedMean(v, trim));
        });
}

/// <summary>
/// Krum and Multi-Krum (Blanchard et al., 2017, "Machine Learning with Adversaries: Byzantine Tolerant Gradient
/// Descent"). Each update's score is the sum of squared distances to its n - f - 2 nearest neighbours; Krum keeps the
/// update with the lowest score, Multi-Krum averages (example-weighted) the <c>--keep</c> M lowest. Pairwise
/// distances are computed once per round. Parameters: <c>--byzantine</c> f (default 1), <c>--keep</c> M.
/// </summary>
public sealed class Krum : Strategy
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
    public override ITrainAggregator CreateTrainAggregator(RoundContext context, ArrayRecord global) =>
        new BufferedAggregator(global, (Strategies.BufferedUpdates updates) =>
        {
            var distances = PairwiseSquaredDistances(updates);
            int keep = Math.Clamp(Keep ?? (updates.Count - Byzantine), 1, updates.Count);
            var chosen = Scores(distances, Enumerable.Range(0, updates.Count).ToList(), Byzantine)
                .OrderBy(s => s.Score).ThenBy(s => s.Index).Take(keep).Select(s => s.Index).ToList();
            return WeightedMean(updates, chosen);
        });

    /// <summary>
    /// Squared Euclidean distances between every pair of updates (n x n, symmetric), as
    /// ||a||² + ||b||² - 2·a·b with the dot products computed block by block so that each block of every update is
    /// read from memory once and reused from cache for all pairs (clamped at 0 against rounding).
    /// </summary>
    public static double[,] PairwiseSquaredDistances(Strategies.BufferedUpdates updates)
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
    /// <see cref="Strategies.BufferedUpdates"/> overload.
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
    internal static ArrayRecord WeightedMean(Strategies.BufferedUpdates updates, IReadOnlyList<int> chosen)
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

/// <summary>
/// Bulyan (El Mhamdi et al., 2018, "The Hidden Vulnerability of Distributed Learning in Byzantium"): select
/// theta = n - 2f updates by repeated Krum, then per coordinate average the beta = theta - 2f values closest to the
/// median. Needs n >= 4f + 3 for its guarantee; with fewer updates it uses what it has. Parameter: <c>--byzantine</c> f.
/// </summary>
public sealed class Bulyan : Strategy
{
    /// <summary>Number of Byzantine clients tolerated.</summary>
    public int Byzantine { get; init; } = 1;

    /// <inheritdoc />
    public override string Name => "bulyan";

    /// <inheritdoc />
    public override ITrainAggregator CreateTrainAggregator(RoundContext context, ArrayRecord global) =>
        new BufferedAggregator(global, (Strategies.BufferedUpdates updates) =>
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
        });

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

/// <summary>
/// q-FedAvg (Li et al., 2020, "Fair Resource Allocation in Federated Learning"): weights clients by their loss to the
/// power q so that clients the model serves badly count more. With L = 1/lr, Δk = L·(w - wk),
/// hk = q·Fk^(q-1)·||Δk||² + L·Fk^q, the new model is w - Σ Fk^q·Δk / Σ hk, where Fk is the loss of the global model
/// on client k's data (reported as <c>initial_loss</c>, falling back to <c>loss</c>). Parameters: <c>--q</c>, <c>--qffl-lr</c>.
/// </summary>
public sealed class QFedAvg : Strategy
{
    /// <summary>Fairness exponent q.</summary>
    public double Q { get; init; } = 0.2;

    /// <summary>The client learning rate assumed for L = 1/lr.</summary>
    public double LearningRate { get; init; } = 0.05;

    /// <inheritdoc />
    public override string Name => "qfedavg";

    /// <inheritdoc />
    public override IReadOnlyList<Message> ConfigureTrain(RoundContext context, ArrayRecord global, ConfigRecord config, IReadOnlyList<NodeInfo> nodes)
    {
        var c = config.Clone();
        c["report_initial_loss"] = true;
        return base.ConfigureTrain(context, global, c, nodes);
    }

    /// <inheritdoc />
    public override ITrainAggregator CreateTrainAggregator(RoundContext context, ArrayRecord global) =>
        new BufferedAggregator(global, (Strategies.BufferedUpdates updates) =>
        {
            double l = 1.0 / LearningRate;
            var weights = new double[updates.Count];
            double hSum = 0;
            for (int k = 0; k < updates.Count; k++)
            {
                var m = updates.Metrics(k);
                double loss = (m.TryGetValue("initial_loss", out var f0) ? f0 : m.TryGetValue("loss", out var f1) ? f1 : 1.0) + 1e-10;
                double norm2 = SquaredDistance(updates, k) * l * l;
                hSum += (Q * Math.Pow(loss, Q - 1) * norm2) + (l * Math.Pow(loss, Q));
                weights[k] = Math.Pow(loss, Q) * l;
            }

            // w_new = w - Σ weights_k·(w - w_k) / Σ h_k, block by block (element-wise, so the blocks change nothing).
            const int Block = 1 << 16;
            return UpdateMath.Map(global, (i, t) =>
            {
                var result = t.Clone();
                for (int k = 0; k < updates.Count; k++)
                {
                    double c = weights[k] / hSum;
                    for (long start = 0; start < t.Length; start += Block)
                    {
                        int size = (int)Math.Min(Block, t.Length - start);
                        if (t.DType == DType.Float32)
                        {
                            // r += c·(x_k - w)
                            var diff = new float[size];
                            updates.Read(k, i, start, diff.AsSpan());
                            System.Numerics.Tensors.TensorPrimitives.Subtract(diff, t.AsSpan<float>().Slice((int)start, size), diff);
                            var r = result.AsSpan<float>().Slice((int)start, size);
                            System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(diff, (float)c, r, r);
                        }
                        else
                        {
                            var diff = new double[size];
                            updates.Read(k, i, start, diff.AsSpan());
                            System.Numerics.Tensors.TensorPrimitives.Subtract(diff, t.AsSpan<double>().Slice((int)start, size), diff);
                            var r = result.AsSpan<double>().Slice((int)start, size);
                            System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(diff, c, r, r);
                        }
                    }
                }

                return result;
            });
        });

    // ||global - update k||² tensor by tensor (one tensor of the update in memory at a time), as UpdateMath.SquaredDistance.
    private static double SquaredDistance(Strategies.BufferedUpdates updates, int k)
    {
        double sum = 0;
        for (int i = 0; i < updates.Global.Count; i++)
        {
            var g = UpdateMath.At(updates.Global, i);
            if (g.DType == DType.Float32)
            {
                var x = new float[g.Length];
                updates.Read(k, i, 0, x.AsSpan());
                var d = System.Numerics.Tensors.TensorPrimitives.Distance<float>(g.AsSpan<float>(), x);
                sum += (double)d * d;
            }
            else
            {
                var x = new double[g.Length];
                updates.Read(k, i, 0, x.AsSpan());
                var d = System.Numerics.Tensors.TensorPrimitives.Distance<double>(g.AsSpan<double>(), x);
                sum += d * d;
            }
        }

        return sum;
    }
}
