namespace Federate.Core;

/// <summary>One validated train reply kept by a buffering strategy.</summary>
/// <param name="NodeId">The node that sent it.</param>
/// <param name="Parameters">Its model (same layout as the global model).</param>
/// <param name="NumExamples">Its example count.</param>
/// <param name="Metrics">Its train metrics.</param>
public sealed record ClientUpdate(long NodeId, ArrayRecord Parameters, double NumExamples, MetricRecord Metrics);

/// <summary>
/// Collects validated replies for strategies that need all of them at once (median, trimmed mean, Krum, Bulyan,
/// q-FedAvg): memory O(clients x model), as those algorithms require. Replies are sorted by node id before
/// aggregation so the result does not depend on arrival order.
/// </summary>
public sealed class BufferedAggregator : ITrainAggregator
{
    private readonly ArrayRecord _global;
    private readonly List<ClientUpdate> _updates = [];
    private readonly Func<IReadOnlyList<ClientUpdate>, ArrayRecord?> _aggregate;

    /// <summary>Creates an aggregator that calls <paramref name="aggregate"/> with every accepted update.</summary>
    public BufferedAggregator(ArrayRecord global, Func<IReadOnlyList<ClientUpdate>, ArrayRecord?> aggregate)
    {
        _global = global;
        _aggregate = aggregate;
        foreach (var (name, tensor) in global)
        {
            if (tensor.DType is not (DType.Float32 or DType.Float64))
            {
                throw new NotSupportedException($"This strategy aggregates float32 and float64 tensors; '{name}' is {tensor.DType}.");
            }
        }
    }

    /// <inheritdoc />
    public int Count => _updates.Count;

    /// <inheritdoc />
    public string? Add(Message reply)
    {
        var problem = UpdateValidation.Validate(reply, _global, out var parameters, out var weight);
        if (problem is not null)
        {
            return problem;
        }

        _updates.Add(new ClientUpdate(reply.Metadata.SourceNodeId, parameters!, weight, reply.Content!.Metrics[RecordNames.Metrics]));
        return null;
    }

    /// <inheritdoc />
    public AggregateResult Complete()
    {
        if (_updates.Count == 0)
        {
            return new AggregateResult(null, new MetricRecord());
        }

        var ordered = _updates.OrderBy(u => u.NodeId).ToList();
        var metrics = new WeightedMetricFolder();
        foreach (var u in ordered)
        {
            metrics.Add(u.Metrics);
        }

        var result = _aggregate(ordered);
        _updates.Clear();
        return new AggregateResult(result, metrics.Result());
    }
}

/// <summary>Helpers to view every tensor of a set of updates as flat float64 or float32 spans.</summary>
public static class UpdateMath
{
    /// <summary>Creates a record with the layout of <paramref name="template"/> whose tensors are produced per tensor index.</summary>
    public static ArrayRecord Map(ArrayRecord template, Func<int, Tensor, Tensor> create)
    {
        var result = new ArrayRecord();
        int i = 0;
        foreach (var (name, tensor) in template)
        {
            result.Add(name, create(i++, tensor));
        }

        return result;
    }

    /// <summary>The tensor at position <paramref name="index"/> of a record.</summary>
    public static Tensor At(ArrayRecord record, int index) => record[record.Names[index]];

    /// <summary>Squared Euclidean distance between two models over all tensors.</summary>
    public static double SquaredDistance(ArrayRecord a, ArrayRecord b)
    {
        double sum = 0;
        for (int i = 0; i < a.Count; i++)
        {
            var x = At(a, i);
            var y = At(b, i);
            if (x.DType == DType.Float32)
            {
                var d = System.Numerics.Tensors.TensorPrimitives.Distance<float>(x.AsSpan<float>(), y.AsSpan<float>());
                sum += (double)d * d;
            }
            else
            {
                var d = System.Numerics.Tensors.TensorPrimitives.Distance<double>(x.AsSpan<double>(), y.AsSpan<double>());
                sum += d * d;
            }
        }

        return sum;
    }

    /// <summary>Euclidean norm of <c>a - b</c> over all tensors.</summary>
    public static double Distance(ArrayRecord a, ArrayRecord b) => Math.Sqrt(SquaredDistance(a, b));

    /// <summary>Unweighted mean of some updates.</summary>
    public static ArrayRecord Mean(ArrayRecord template, IReadOnlyList<ArrayRecord> models)
    {
        return Map(template, (i, t) =>
        {
            var sum = Tensor.Zeros(t.DType, [.. t.Shape]);
            foreach (var m in models)
            {
                var x = At(m, i);
                if (t.DType == DType.Float32)
                {
                    AggregationKernels.FoldWeighted(sum.AsSpan<float>(), x.AsSpan<float>(), 1f);
                }
                else
                {
                    AggregationKernels.FoldWeighted(sum.AsSpan<double>(), x.AsSpan<double>(), 1.0);
                }
            }

            if (t.DType == DType.Float32)
            {
                AggregationKernels.Scale(sum.AsSpan<float>(), 1f / models.Count);
            }
            else
            {
                AggregationKernels.Scale(sum.AsSpan<double>(), 1.0 / models.Count);
            }

            return sum;
        });
    }
}
