namespace Federate.Core;

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
    /// Like <see cref="SendAndReceiveAsync(IReadOnlyList{Message}, TimeSpan, CancellationToken)"/>, with the round's
    /// train aggregator: a grid that can fold updates while their bytes arrive (server memory O(model)) folds them
    /// into <paramref name="aggregator"/> when it can stream (<see cref="IStreamingTrainAggregator"/>), and yields
    /// replies that the aggregator recognises as already folded. The default ignores the aggregator.
    /// </summary>
    IAsyncEnumerable<Message> SendAndReceiveAsync(IReadOnlyList<Message> instructions, TimeSpan timeout, ITrainAggregator? aggregator, CancellationToken cancellationToken)
        => SendAndReceiveAsync(instructions, timeout, cancellationToken);
}
