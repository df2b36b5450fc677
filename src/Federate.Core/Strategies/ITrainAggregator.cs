namespace Federate.Core.Strategies;

/// <summary>
/// Folds train replies one at a time as they arrive, so FedAvg-like strategies hold one running sum:
/// memory O(model), not O(clients x model).
/// </summary>
public interface ITrainAggregator
{
    /// <summary>Number of replies folded so far.</summary>
    int Count { get; }

    /// <summary>
    /// Folds one successful reply. Returns null when it was accepted, or a one-line reason when the reply cannot be
    /// used (it then counts as a failure and leaves the running state untouched).
    /// </summary>
    string? Add(Message reply);

    /// <summary>
    /// Told by the grid before the first reply: at most <paramref name="count"/> replies will come this round (one per
    /// instruction sent). A hint only: an aggregator may use it to do its last pass while it folds the last reply
    /// (<see cref="WeightedMeanAggregator"/> scales the mean then), and must give the same result when fewer come.
    /// The default ignores it.
    /// </summary>
    void ExpectReplies(int count)
    {
    }

    /// <summary>Finishes the round.</summary>
    AggregateResult Complete();
}
