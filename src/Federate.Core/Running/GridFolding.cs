using System.Runtime.CompilerServices;

namespace Federate.Core.Running;

/// <summary>
/// Folds whole replies into a round's aggregator as a grid yields them: the default of
/// <see cref="IGrid.SendAndReceiveAsync(IReadOnlyList{Message}, ITrainAggregator, TimeSpan, CancellationToken)"/>, and
/// what a grid that streams does with replies that arrive whole.
/// </summary>
public static class GridFolding
{
    /// <summary>Folds each successful reply of <paramref name="replies"/>; a refused one becomes an <c>invalid_update</c> error reply.</summary>
    public static async IAsyncEnumerable<Message> FoldEachAsync(IAsyncEnumerable<Message> replies, ITrainAggregator aggregator, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(aggregator);
        await foreach (var reply in replies.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            yield return Fold(reply, aggregator);
        }
    }

    /// <summary>Folds one reply; returns it, or an <c>invalid_update</c> error reply when the aggregator refused it.</summary>
    public static Message Fold(Message reply, ITrainAggregator aggregator)
    {
        if (reply.Error is not null)
        {
            return reply;
        }

        return aggregator.Add(reply) is { } problem
            ? new Message(reply.Metadata, new MessageError("invalid_update", problem))
            : reply;
    }
}
