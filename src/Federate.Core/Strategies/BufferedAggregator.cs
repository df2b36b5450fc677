namespace Federate.Core.Strategies;

/// <summary>One validated train reply kept by a buffering strategy.</summary>
/// <param name="NodeId">The node that sent it.</param>
/// <param name="Parameters">Its model (same layout as the global model).</param>
/// <param name="NumExamples">Its example count.</param>
/// <param name="Metrics">Its train metrics.</param>
public sealed record ClientUpdate(long NodeId, ArrayRecord Parameters, double NumExamples, MetricRecord Metrics);

/// <summary>
/// Collects a round's accepted updates for strategies that need all of them at once (median, trimmed mean, Krum,
/// Bulyan, q-FedAvg). Updates are buffered on disk when large (<see cref="Strategies.BufferedUpdates"/>: memory when
/// small, a temporary file each when large) and read back block by block, so server memory stays O(model) and the
/// disk holds clients x model; updates stream in chunk by chunk (<see cref="IStreamingTrainAggregator"/>), so the
/// server never holds a whole update in memory. Updates are ordered by node id before aggregation so the result does
/// not depend on arrival order.
/// </summary>
public sealed class BufferedAggregator : IStreamingTrainAggregator
{
    private readonly ArrayRecord _global;
    private readonly List<Strategies.BufferedUpdates.Entry> _updates = [];
    private readonly Func<Strategies.BufferedUpdates, ArrayRecord?> _aggregate;

    /// <summary>
    /// Creates an aggregator that calls <paramref name="aggregate"/> with every accepted update, read back from the
    /// buffer block by block.
    /// </summary>
    public BufferedAggregator(ArrayRecord global, Func<Strategies.BufferedUpdates, ArrayRecord?> aggregate)
    {
        _global = global ?? throw new ArgumentNullException(nameof(global));
        _aggregate = aggregate ?? throw new ArgumentNullException(nameof(aggregate));
        foreach (var (name, tensor) in global)
        {
            if (tensor.DType is not (DType.Float32 or DType.Float64))
            {
                throw new NotSupportedException($"This strategy aggregates float32 and float64 tensors; '{name}' is {tensor.DType}.");
            }
        }
    }

    /// <summary>
    /// Creates an aggregator that calls <paramref name="aggregate"/> with every accepted update loaded whole into
    /// memory: memory O(clients x model). Prefer the <see cref="Strategies.BufferedUpdates"/> overload.
    /// </summary>
    public BufferedAggregator(ArrayRecord global, Func<IReadOnlyList<ClientUpdate>, ArrayRecord?> aggregate)
        : this(global, set => aggregate([.. Enumerable.Range(0, set.Count).Select(k => new ClientUpdate(set.NodeId(k), set.Load(k), set.NumExamples(k), set.Metrics(k)))]))
    {
        ArgumentNullException.ThrowIfNull(aggregate);
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

        var data = NewBuffer();
        int t = 0;
        foreach (var (_, tensor) in parameters!)
        {
            data.Write(t++, 0, tensor.AsBytes());
        }

        _updates.Add(new(reply.Metadata.SourceNodeId, weight, reply.Content!.Metrics[RecordNames.Metrics], data));
        return null;
    }

    /// <inheritdoc />
    public IUpdateFold BeginUpdate(long nodeId, MetricRecord metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        if (!metrics.TryGetValue(RecordNames.NumExamples, out var n) || !(n > 0) || !double.IsFinite(n))
        {
            throw new ArgumentException("update has no positive 'num_examples' metric");
        }

        return new Fold(this, new(nodeId, n, metrics, NewBuffer()));
    }

    /// <inheritdoc />
    public AggregateResult Complete()
    {
        if (_updates.Count == 0)
        {
            return new AggregateResult(null, new MetricRecord());
        }

        var ordered = _updates.OrderBy(u => u.NodeId).ToList();
        _updates.Clear();
        var metrics = new WeightedMetricFolder();
        foreach (var u in ordered)
        {
            metrics.Add(u.Metrics);
        }

        using var set = new Strategies.BufferedUpdates(_global, ordered);
        var result = _aggregate(set);
        return new AggregateResult(result, metrics.Result());
    }

    private Aggregation.ScratchTensors<byte> NewBuffer() => new([.. _global.Select(kv => kv.Value.ByteLength)]);

    private sealed class Fold(BufferedAggregator owner, Strategies.BufferedUpdates.Entry entry) : IUpdateFold
    {
        private bool _done;

        public void FoldChunk(int tensorIndex, long elementOffset, ReadOnlySpan<byte> bytes) =>
            entry.Data.Write(tensorIndex, elementOffset * owner._global[owner._global.Names[tensorIndex]].DType.SizeOf(), bytes);

        public void UnfoldChunk(int tensorIndex, long elementOffset, ReadOnlySpan<byte> bytes)
        {
            // Buffered chunks count only once committed; an abandoned update's buffer is simply dropped.
        }

        public void Commit()
        {
            ObjectDisposedException.ThrowIf(_done, this);
            _done = true;
            owner._updates.Add(entry);
        }
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
