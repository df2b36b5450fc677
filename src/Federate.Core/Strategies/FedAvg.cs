namespace Federate.Core.Strategies;

/// <summary>
/// Federated Averaging (McMahan et al., 2017, "Communication-Efficient Learning of Deep Networks from
/// Decentralized Data"): the new global model is the example-weighted mean of the clients' models. Replies are
/// folded into one running sum as they arrive, so memory is O(model) whatever the number of clients.
/// </summary>
public class FedAvg : Strategy
{
    /// <inheritdoc />
    public override string Name => "fedavg";

    /// <inheritdoc />
    public override ITrainAggregator CreateTrainAggregator(RoundContext context, ArrayRecord global) => new WeightedMeanAggregator(global);
}
