using Federate.Core;

namespace Federate.Server.Inspector;

/// <summary>Marks nodes busy while they hold a task, for the inspector's client table.</summary>
internal sealed class InspectingGrid(IGrid inner, InspectorState state) : IGrid
{
    public ValueTask<IReadOnlyList<NodeInfo>> WaitForNodesAsync(int minimum, CancellationToken cancellationToken) => inner.WaitForNodesAsync(minimum, cancellationToken);

    public IAsyncEnumerable<Message> SendAndReceiveAsync(IReadOnlyList<Message> instructions, TimeSpan timeout, CancellationToken cancellationToken)
    {
        state.OnInstructions(instructions);
        return inner.SendAndReceiveAsync(instructions, timeout, cancellationToken);
    }

    // Forwarded so the inner grid still streams updates into the aggregator.
    public IAsyncEnumerable<Message> SendAndReceiveAsync(IReadOnlyList<Message> instructions, ITrainAggregator aggregator, TimeSpan timeout, CancellationToken cancellationToken)
    {
        state.OnInstructions(instructions);
        return inner.SendAndReceiveAsync(instructions, aggregator, timeout, cancellationToken);
    }
}
