namespace Federate.Core.Strategies;

/// <summary>
/// Coordinate-wise trimmed mean (Yin et al., 2018): per parameter, drop the floor(beta·n) smallest and largest
/// client values and average the rest. Tolerates up to beta·n arbitrary clients. Parameter: <c>--trim-fraction</c>
/// beta in [0, 0.5), default 0.2.
/// </summary>
public sealed class FedTrimmedAvg : BufferedStrategy
{
    /// <summary>Fraction trimmed at each end.</summary>
    public double TrimFraction { get; init; } = 0.2;

    /// <inheritdoc />
    public override string Name => "trimmed-mean";

    /// <inheritdoc />
    protected override ArrayRecord? Aggregate(BufferedUpdates updates, ArrayRecord global)
    {
        int trim = Math.Min((int)Math.Floor(TrimFraction * updates.Count), (updates.Count - 1) / 2);
        return CoordinateWise.ReduceModels(updates, FedMedian.All(updates), v => Selection.TrimmedMean(v, trim), v => Selection.TrimmedMean(v, trim));
    }
}
