namespace Federate.Core.Strategies;

/// <summary>
/// Streaming side of <see cref="WeightedMeanAggregator"/>: <c>sum += n_i · x_i</c> one chunk at a time, with the
/// same kernel and element order as <see cref="WeightedMeanAggregator.Add"/>, so a streamed fold is bit-identical
/// to folding the whole update.
/// </summary>
public sealed partial class WeightedMeanAggregator : IStreamingTrainAggregator
{
    /// <inheritdoc />
    public IUpdateFold BeginUpdate(long nodeId, MetricRecord metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        if (!metrics.TryGetValue(RecordNames.NumExamples, out var n) || !(n > 0) || !double.IsFinite(n))
        {
            throw new ArgumentException("update has no positive 'num_examples' metric");
        }

        EnsureSums();
        var fold = new Fold(this, n, metrics);
        Designate(fold, n);
        return fold;
    }

    private sealed class Fold(WeightedMeanAggregator owner, double weight, MetricRecord metrics) : IUpdateFold
    {
        // Dropped on commit: a fold object that outlives its round must not keep the aggregator (and the global
        // model it was created for) alive.
        private WeightedMeanAggregator? _owner = owner;

        public void FoldChunk(int tensorIndex, long elementOffset, ReadOnlySpan<byte> bytes) => Apply(tensorIndex, elementOffset, bytes, weight);

        public void UnfoldChunk(int tensorIndex, long elementOffset, ReadOnlySpan<byte> bytes) => Apply(tensorIndex, elementOffset, bytes, -weight);

        public bool TryFoldFiniteChunk(int tensorIndex, long elementOffset, ReadOnlySpan<byte> bytes, DType dtype)
        {
            var o = _owner ?? throw new InvalidOperationException("the update was already committed");
            long folded = o.FoldRange(tensorIndex, elementOffset, bytes, weight, check: true, this);
            if (folded * dtype.SizeOf() == bytes.Length)
            {
                return true;
            }

            o.FoldRange(tensorIndex, elementOffset, bytes[..checked((int)(folded * dtype.SizeOf()))], -weight, check: false, this);
            return false;
        }

        public void Commit()
        {
            var o = _owner ?? throw new InvalidOperationException("the update was already committed");
            _owner = null;
            o.Committed(this, weight, metrics);
        }

        private void Apply(int tensorIndex, long elementOffset, ReadOnlySpan<byte> bytes, double w) =>
            (_owner ?? throw new InvalidOperationException("the update was already committed")).FoldRange(tensorIndex, elementOffset, bytes, w, check: false, this);
    }
}
