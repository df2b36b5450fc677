namespace Federate.Core.Strategies;

/// <summary>
/// Folds replies into an example-weighted running sum: <c>sum += n_i * x_i</c>, then divides by <c>sum n_i</c>.
/// Float32 and float64 tensors are summed in their own dtype. Other tensors (float16, integers, bool; e.g. PyTorch's
/// <c>num_batches_tracked</c> from Flower clients) are summed in float64 and the mean is rounded to the nearest
/// value of the dtype (ties to even, clamped to its range); bool tensors so take the weighted majority.
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
    }

    /// <summary>True when a tensor of this dtype is summed in float64 and rounded back (not float32/float64).</summary>
    internal static bool SumsWide(DType dtype) => dtype is not (DType.Float32 or DType.Float64);

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
            else if (SumsWide(tensor.DType))
            {
                AggregationKernels.FoldWeighted(sum.AsSpan<double>(), WideValues.ToDoubles(tensor.DType, tensor.AsBytes()), weight);
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
    private void EnsureSums() => _sums ??= [.. _global.Select(kv => Tensor.Zeros(SumsWide(kv.Value.DType) ? DType.Float64 : kv.Value.DType, [.. kv.Value.Shape]))];

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

            var dtype = _global[name].DType;
            result.Add(name, SumsWide(dtype) ? WideValues.FromDoubles(dtype, sum) : sum);
        }

        _sums = null;
        return new AggregateResult(result, _metrics.Result());
    }
}
