namespace Federate.Core.Strategies;

/// <summary>
/// Coordinate-wise median (Yin et al., 2018, "Byzantine-Robust Distributed Learning: Towards Optimal Statistical
/// Rates"): each parameter of the new model is the median of the clients' values (found by selection, not a sort).
/// Tolerates fewer than half of the clients being arbitrary.
/// </summary>
public sealed class FedMedian : Strategy
{
    /// <inheritdoc />
    public override string Name => "median";

    /// <inheritdoc />
    public override ITrainAggregator CreateTrainAggregator(RoundContext context, ArrayRecord global) =>
        new BufferedAggregator(global, (Strategies.BufferedUpdates updates) => CoordinateWise.ReduceModels(updates, All(updates), Selection.Median, Selection.Median));

    internal static int[] All(Strategies.BufferedUpdates updates) => [.. Enumerable.Range(0, updates.Count)];
}
