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

    /// <summary>Finishes the round.</summary>
    AggregateResult Complete();
}
