namespace Federate.Core.Strategies;

/// <summary>
/// Coordinate-wise median (Yin et al., 2018, "Byzantine-Robust Distributed Learning: Towards Optimal Statistical
/// Rates"): each parameter of the new model is the median of the clients' values (found by selection, not a sort).
/// Tolerates fewer than half of the clients being arbitrary.
/// </summary>
public sealed class FedMedian : BufferedStrategy
{
    /// <inheritdoc />
    public override string Name => "median";

    /// <inheritdoc />
    protected override ArrayRecord? Aggregate(BufferedUpdates updates, ArrayRecord global) =>
        CoordinateWise.ReduceModels(updates, All(updates), Selection.Median, Selection.Median);

    internal static int[] All(BufferedUpdates updates) => [.. Enumerable.Range(0, updates.Count)];
}
