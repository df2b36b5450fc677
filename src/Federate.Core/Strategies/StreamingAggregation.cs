using System.Runtime.InteropServices;

namespace Federate.Core.Strategies;

/// <summary>
/// A train aggregator that can fold an update piece by piece as its tensors arrive, so a server never holds a
/// whole update in memory: memory stays O(model) whatever the number or size of the updates. Implemented by
/// aggregators whose fold is element-wise (FedAvg's weighted sum) and by decorators that pass it on (server
/// optimisers, privacy wrappers, <see cref="Strategies.DelegatingTrainAggregator"/>). Grids are handed the round's
/// aggregator (<see cref="IGrid.SendAndReceiveAsync(IReadOnlyList{Message}, ITrainAggregator, TimeSpan, CancellationToken)"/>)
/// and fold through this interface when <see cref="CanStream"/> is true.
/// </summary>
public interface IStreamingTrainAggregator : ITrainAggregator
{
    /// <summary>
    /// True when <see cref="BeginUpdate"/> may be called. Decorators (<see cref="Strategies.DelegatingTrainAggregator"/>)
    /// implement this interface always and answer whether the aggregator they wrap can stream. Default true.
    /// </summary>
    bool CanStream => true;

    /// <summary>
    /// Starts folding one update from <paramref name="nodeId"/> with its train <paramref name="metrics"/> (which must
    /// carry a positive <c>num_examples</c>). Only one update may be folding at a time; callers serialise.
    /// </summary>
    /// <exception cref="ArgumentException"><c>num_examples</c> is missing or not positive (one-line message).</exception>
    IUpdateFold BeginUpdate(long nodeId, MetricRecord metrics);
}

/// <summary>
/// One update being folded into a <see cref="IStreamingTrainAggregator"/>'s running state. Chunks must already be
/// validated (layout, integrity, finite values): a folded chunk changes the running state at once.
/// </summary>
public interface IUpdateFold
{
    /// <summary>
    /// Folds the little-endian elements in <paramref name="bytes"/> of tensor <paramref name="tensorIndex"/> (in the
    /// global model's order) starting at element <paramref name="elementOffset"/>.
    /// </summary>
    void FoldChunk(int tensorIndex, long elementOffset, ReadOnlySpan<byte> bytes);

    /// <summary>
    /// Takes a chunk folded earlier back out (to abandon an update after part of it was folded). The undo is exact
    /// up to float rounding: <c>(s + w·x) − w·x</c> need not equal <c>s</c> bit for bit.
    /// </summary>
    void UnfoldChunk(int tensorIndex, long elementOffset, ReadOnlySpan<byte> bytes);

    /// <summary>Counts the update (its weight and metrics). Without a commit, the folded chunks must be unfolded.</summary>
    void Commit();
}

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
        return new Fold(this, n, metrics);
    }

    private sealed class Fold(WeightedMeanAggregator owner, double weight, MetricRecord metrics) : IUpdateFold
    {
        // Dropped on commit: a fold object that outlives its round must not keep the aggregator (and the global
        // model it was created for) alive.
        private WeightedMeanAggregator? _owner = owner;

        public void FoldChunk(int tensorIndex, long elementOffset, ReadOnlySpan<byte> bytes) => Apply(tensorIndex, elementOffset, bytes, weight);

        public void UnfoldChunk(int tensorIndex, long elementOffset, ReadOnlySpan<byte> bytes) => Apply(tensorIndex, elementOffset, bytes, -weight);

        public void Commit()
        {
            var o = _owner ?? throw new InvalidOperationException("the update was already committed");
            _owner = null;
            o._totalWeight += weight;
            o._metrics.Add(metrics);
            o.Count++;
        }

        private void Apply(int tensorIndex, long elementOffset, ReadOnlySpan<byte> bytes, double w)
        {
            var sum = (_owner ?? throw new InvalidOperationException("the update was already committed"))._sums![tensorIndex];
            var o = _owner!;
            var dtype = o._global[o._global.Names[tensorIndex]].DType;
            if (sum.DType == DType.Float32)
            {
                var x = MemoryMarshal.Cast<byte, float>(bytes);
                AggregationKernels.FoldWeighted(sum.AsSpan<float>().Slice(checked((int)elementOffset), x.Length), x, (float)w);
            }
            else if (SumsWide(dtype))
            {
                var x = WideValues.ToDoubles(dtype, bytes);
                AggregationKernels.FoldWeighted(sum.AsSpan<double>().Slice(checked((int)elementOffset), x.Length), x, w);
            }
            else
            {
                var x = MemoryMarshal.Cast<byte, double>(bytes);
                AggregationKernels.FoldWeighted(sum.AsSpan<double>().Slice(checked((int)elementOffset), x.Length), x, w);
            }
        }
    }
}
