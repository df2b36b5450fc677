namespace Federate.Core.Strategies;

/// <summary>
/// A strategy that needs every whole update of a round at once (coordinate-wise statistics, distances between
/// updates, loss-weighted steps): the accepted updates are buffered on disk by a <see cref="BufferedAggregator"/>
/// and <see cref="Aggregate"/> reads them back block by block, so server memory stays O(model) however many clients
/// reply.
/// </summary>
public abstract class BufferedStrategy : Strategy
{
    /// <inheritdoc />
    public sealed override ITrainAggregator CreateTrainAggregator(RoundContext context, ArrayRecord global) =>
        new BufferedAggregator(global, updates => Aggregate(updates, global));

    /// <summary>The new global model from the round's buffered updates, or null to keep <paramref name="global"/>.</summary>
    /// <param name="updates">The accepted updates, readable block by block.</param>
    /// <param name="global">The global model the round started from.</param>
    protected abstract ArrayRecord? Aggregate(BufferedUpdates updates, ArrayRecord global);
}
