namespace Federate.Core.Strategies;

/// <summary>
/// Base of train aggregators that wrap another one (server optimisers, privacy wrappers, your own decorators) and pass
/// its streaming on: when the wrapped aggregator can fold updates chunk by chunk, so can this one, so a grid folds
/// each update as its chunks arrive and server memory stays O(model). Override <see cref="OnAccepted"/> to observe
/// every accepted update (streamed or whole) and <see cref="Complete"/> to post-process the round's result.
/// </summary>
/// <example>
/// <code>
/// sealed class CountingAggregator(ITrainAggregator inner) : DelegatingTrainAggregator(inner)
/// {
///     public int Examples { get; private set; }
///     protected override void OnAccepted(long nodeId, MetricRecord metrics) => Examples += (int)metrics["num_examples"];
/// }
/// </code>
/// </example>
public abstract class DelegatingTrainAggregator : IStreamingTrainAggregator, IClippedSumAggregator
{
    /// <summary>Wraps <paramref name="inner"/>.</summary>
    protected DelegatingTrainAggregator(ITrainAggregator inner)
    {
        Inner = inner ?? throw new ArgumentNullException(nameof(inner));
    }

    /// <summary>The wrapped aggregator.</summary>
    protected ITrainAggregator Inner { get; }

    /// <inheritdoc />
    public virtual int Count => Inner.Count;

    /// <summary>Passes the hint on to the wrapped aggregator, which gets every reply this one gets.</summary>
    public virtual void ExpectReplies(int count) => Inner.ExpectReplies(count);

    /// <summary>True when the wrapped aggregator can fold updates chunk by chunk.</summary>
    public virtual bool CanStream => Inner is IStreamingTrainAggregator { CanStream: true };

    /// <inheritdoc />
    public virtual string? Add(Message reply)
    {
        ArgumentNullException.ThrowIfNull(reply);
        var problem = Inner.Add(reply);
        if (problem is null)
        {
            OnAccepted(reply.Metadata.SourceNodeId, reply.Content?.Metrics.GetValueOrDefault(RecordNames.Metrics) ?? new MetricRecord());
        }

        return problem;
    }

    /// <summary>The wrapped aggregator's clip norm, when it takes clipped sums (<see cref="IClippedSumAggregator"/>).</summary>
    public virtual double? ClipNorm => (Inner as IClippedSumAggregator)?.ClipNorm;

    /// <inheritdoc />
    public virtual string? AddClippedSum(ArrayRecord updateSum, int count, MetricRecord metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        if (Inner is not IClippedSumAggregator { ClipNorm: not null } clipped)
        {
            throw new NotSupportedException($"{GetType().Name} wraps an aggregator that takes no clipped sums ({Inner.GetType().Name}); check ClipNorm first.");
        }

        var problem = clipped.AddClippedSum(updateSum, count, metrics);
        if (problem is null)
        {
            OnAccepted(0, metrics);
        }

        return problem;
    }

    /// <inheritdoc />
    public virtual IUpdateFold BeginUpdate(long nodeId, MetricRecord metrics)
    {
        if (Inner is not IStreamingTrainAggregator { CanStream: true } streaming)
        {
            throw new NotSupportedException($"{GetType().Name} wraps an aggregator that cannot stream ({Inner.GetType().Name}); check CanStream first.");
        }

        return new ObservedFold(this, streaming.BeginUpdate(nodeId, metrics), nodeId, metrics);
    }

    /// <inheritdoc />
    public virtual AggregateResult Complete() => Inner.Complete();

    /// <summary>Called once per update the wrapped aggregator accepted (after its commit when streamed).</summary>
    /// <param name="nodeId">The node that sent the update.</param>
    /// <param name="metrics">Its train metrics.</param>
    protected virtual void OnAccepted(long nodeId, MetricRecord metrics)
    {
    }

    private sealed class ObservedFold(DelegatingTrainAggregator owner, IUpdateFold inner, long nodeId, MetricRecord metrics) : IUpdateFold
    {
        public void FoldChunk(int tensorIndex, long elementOffset, ReadOnlySpan<byte> bytes) => inner.FoldChunk(tensorIndex, elementOffset, bytes);

        public void UnfoldChunk(int tensorIndex, long elementOffset, ReadOnlySpan<byte> bytes) => inner.UnfoldChunk(tensorIndex, elementOffset, bytes);

        public bool TryFoldFiniteChunk(int tensorIndex, long elementOffset, ReadOnlySpan<byte> bytes, DType dtype) => inner.TryFoldFiniteChunk(tensorIndex, elementOffset, bytes, dtype);

        public void Commit()
        {
            inner.Commit();
            owner.OnAccepted(nodeId, metrics);
        }
    }
}
