namespace Federate.Core.Running;

/// <summary>
/// Sends messages to nodes and collects their replies. Implementations: in-memory (simulation), gRPC fleet
/// (deployment), Flower bridge.
/// </summary>
public interface IGrid
{
    /// <summary>Waits until at least <paramref name="minimum"/> nodes are connected and returns them.</summary>
    ValueTask<IReadOnlyList<NodeInfo>> WaitForNodesAsync(int minimum, CancellationToken cancellationToken);

    /// <summary>
    /// Sends the instructions and yields exactly one reply per instruction, as replies arrive. A node that fails,
    /// drops or misses <paramref name="timeout"/> yields an error reply (<see cref="Message.Error"/>), never an
    /// exception.
    /// </summary>
    IAsyncEnumerable<Message> SendAndReceiveAsync(IReadOnlyList<Message> instructions, TimeSpan timeout, CancellationToken cancellationToken);

    /// <summary>
    /// Sends a round's train instructions and folds every successful reply into <paramref name="aggregator"/>, yielding
    /// exactly one reply per instruction as for <see cref="SendAndReceiveAsync(IReadOnlyList{Message}, TimeSpan, CancellationToken)"/>.
    /// A reply the aggregator refuses is yielded as an error reply with code <c>invalid_update</c> and the aggregator's
    /// reason. A grid that receives updates piece by piece folds them chunk by chunk when the aggregator is an
    /// <see cref="IStreamingTrainAggregator"/> whose <see cref="IStreamingTrainAggregator.CanStream"/> is true (server
    /// memory O(model)); a yielded reply then need not carry the model. The default folds each whole reply in the
    /// order the replies are yielded. A grid that wraps another must forward this overload to it, or updates stop
    /// streaming.
    /// </summary>
    IAsyncEnumerable<Message> SendAndReceiveAsync(IReadOnlyList<Message> instructions, ITrainAggregator aggregator, TimeSpan timeout, CancellationToken cancellationToken) =>
        Running.GridFolding.FoldEachAsync(SendAndReceiveAsync(instructions, timeout, cancellationToken), aggregator, cancellationToken);
}
