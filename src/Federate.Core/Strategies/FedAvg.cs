namespace Federate.Core;

/// <summary>
/// Federated Averaging (McMahan et al., 2017, "Communication-Efficient Learning of Deep Networks from
/// Decentralized Data"): the new global model is the example-weighted mean of the clients' models. Replies are
/// folded into one running sum as they arrive, so memory is O(model) whatever the number of clients.
/// </summary>
public class FedAvg : Strategy
{
    /// <inheritdoc />
    public override string Name => "fedavg";

    /// <inheritdoc />
    public override ITrainAggregator CreateTrainAggregator(RoundContext context, ArrayRecord global) => new WeightedMeanAggregator(global);
}

/// <summary>
/// Folds replies into an example-weighted running sum: <c>sum += n_i * x_i</c>, then divides by <c>sum n_i</c>.
/// Float32 and float64 tensors are averaged; integer tensors are refused.
/// </summary>
public sealed partial class WeightedMeanAggregator : ITrainAggregator
{
    private readonly ArrayRecord _global;
    private readonly WeightedMetricFolder _metrics = new();
    private Tensor[]? _sums;
    private double _totalWeight;

    /// <summary>Creates an aggregator for replies shaped like <paramref name="global"/>.</summary>
    public WeightedMeanAggregator(ArrayRecord global)
    {
        _global = global;
        foreach (var (name, tensor) in global)
        {
            if (!tensor.DType.IsFloatingPoint() || tensor.DType == DType.Float16)
            {
                throw new NotSupportedException($"FedAvg averages float32 and float64 tensors; '{name}' is {tensor.DType}.");
            }
        }
    }

    /// <inheritdoc />
    public int Count { get; private set; }

    /// <inheritdoc />
    public string? Add(Message reply)
    {
        var problem = UpdateValidation.Validate(reply, _global, out var parameters, out var weight);
        if (problem is not null)
        {
            return problem;
        }

        EnsureSums();
        int i = 0;
        foreach (var (_, tensor) in parameters!)
        {
            var sum = _sums[i++];
            if (sum.DType == DType.Float32)
            {
                AggregationKernels.FoldWeighted(sum.AsSpan<float>(), tensor.AsSpan<float>(), (float)weight);
            }
            else
            {
                AggregationKernels.FoldWeighted(sum.AsSpan<double>(), tensor.AsSpan<double>(), weight);
            }
        }

        _totalWeight += weight;
        _metrics.Add(reply.Content!.Metrics[RecordNames.Metrics]);
        Count++;
        return null;
    }

    [System.Diagnostics.CodeAnalysis.MemberNotNull(nameof(_sums))]
    private void EnsureSums() => _sums ??= [.. _global.Select(kv => Tensor.Zeros(kv.Value.DType, [.. kv.Value.Shape]))];

    /// <inheritdoc />
    public AggregateResult Complete()
    {
        if (_sums is null || _totalWeight <= 0)
        {
            return new AggregateResult(null, new MetricRecord());
        }

        var result = new ArrayRecord();
        int i = 0;
        foreach (var name in _global.Names)
        {
            var sum = _sums[i++];
            if (sum.DType == DType.Float32)
            {
                AggregationKernels.Scale(sum.AsSpan<float>(), (float)(1.0 / _totalWeight));
            }
            else
            {
                AggregationKernels.Scale(sum.AsSpan<double>(), 1.0 / _totalWeight);
            }

            result.Add(name, sum);
        }

        _sums = null;
        return new AggregateResult(result, _metrics.Result());
    }
}

/// <summary>Checks a train reply before it is folded.</summary>
public static class UpdateValidation
{
    /// <summary>
    /// Checks that a reply carries a model with the global model's layout, finite values and a positive
    /// <c>num_examples</c>. Returns a one-line problem, or null with the parameters and weight.
    /// </summary>
    public static string? Validate(Message reply, ArrayRecord global, out ArrayRecord? parameters, out double weight)
    {
        parameters = null;
        weight = 0;
        if (reply.Content is not { } content)
        {
            return reply.Error?.Reason ?? "reply has no content";
        }

        if (!content.Arrays.TryGetValue(RecordNames.Model, out parameters))
        {
            return "reply has no 'model' array record";
        }

        var mismatch = global.DescribeLayoutMismatch(parameters);
        if (mismatch is not null)
        {
            parameters = null;
            return $"update does not match the global model: {mismatch}";
        }

        if (MetricAggregation.NumExamples(reply) is not { } n)
        {
            parameters = null;
            return "reply has no positive 'num_examples' metric";
        }

        foreach (var (name, tensor) in parameters)
        {
            if (!AggregationKernels.AllFinite(tensor))
            {
                parameters = null;
                return $"update tensor '{name}' contains NaN or infinity";
            }
        }

        weight = n;
        return null;
    }
}
