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
