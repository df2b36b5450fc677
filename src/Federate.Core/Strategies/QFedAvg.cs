namespace Federate.Core.Strategies;

/// <summary>
/// q-FedAvg (Li et al., 2020, "Fair Resource Allocation in Federated Learning"): weights clients by their loss to the
/// power q so that clients the model serves badly count more. With L = 1/lr, Δk = L·(w - wk),
/// hk = q·Fk^(q-1)·||Δk||² + L·Fk^q, the new model is w - Σ Fk^q·Δk / Σ hk, where Fk is the loss of the global model
/// on client k's data (reported as <c>initial_loss</c>, falling back to <c>loss</c>). Parameters: <c>--q</c>, <c>--qffl-lr</c>.
/// </summary>
public sealed class QFedAvg : BufferedStrategy
{
    /// <summary>Fairness exponent q.</summary>
    public double Q { get; init; } = 0.2;

    /// <summary>The client learning rate assumed for L = 1/lr.</summary>
    public double LearningRate { get; init; } = 0.05;

    /// <inheritdoc />
    public override string Name => "qfedavg";

    /// <inheritdoc />
    public override IReadOnlyList<Message> ConfigureTrain(RoundContext context, ArrayRecord global, ConfigRecord config, IReadOnlyList<NodeInfo> nodes) =>
        base.ConfigureTrain(context, global, config.With("report_initial_loss", true), nodes);

    /// <inheritdoc />
    protected override ArrayRecord? Aggregate(BufferedUpdates updates, ArrayRecord global)
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
    }

    // ||global - update k||² tensor by tensor (one tensor of the update in memory at a time), as UpdateMath.SquaredDistance.
    private static double SquaredDistance(BufferedUpdates updates, int k)
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
