namespace Federate.Core.Strategies;

/// <summary>
/// A train aggregator that can take the sum of several clients' updates, each already clipped to an L2 norm by the
/// client, instead of the updates one by one: what secure aggregation gives a server that adds central DP noise
/// (the server never sees one update, so the clients clip, and the noise goes on the unmasked sum). Decorators
/// (<see cref="DelegatingTrainAggregator"/>) pass it on.
/// </summary>
public interface IClippedSumAggregator : ITrainAggregator
{
    /// <summary>The L2 norm every client must clip its update (x − global) to; null when this aggregator needs no clipping.</summary>
    double? ClipNorm { get; }

    /// <summary>
    /// Folds <paramref name="updateSum"/>, the sum of <paramref name="count"/> clients' clipped updates (x − global,
    /// in the global model's layout), with their mean train <paramref name="metrics"/>. Returns null when accepted or a
    /// one-line reason.
    /// </summary>
    string? AddClippedSum(ArrayRecord updateSum, int count, MetricRecord metrics);
}
