namespace Federate.Core.Strategies;

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
