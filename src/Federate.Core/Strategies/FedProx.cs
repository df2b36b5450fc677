namespace Federate.Core.Strategies;

/// <summary>
/// FedProx (Li et al., 2020, "Federated Optimization in Heterogeneous Networks"): FedAvg aggregation, with clients
/// adding the proximal term (mu/2)·||w - w_global||² to their local loss, which keeps non-IID clients from drifting.
/// The built-in trainers read <c>proximal_mu</c> from the round config.
/// </summary>
public sealed class FedProx : FedAvg
{
    /// <summary>The proximal weight mu.</summary>
    public double ProximalMu { get; init; } = 0.1;

    /// <inheritdoc />
    public override string Name => "fedprox";

    /// <inheritdoc />
    public override IReadOnlyList<Message> ConfigureTrain(RoundContext context, ArrayRecord global, ConfigRecord config, IReadOnlyList<NodeInfo> nodes) =>
        base.ConfigureTrain(context, global, config.With("proximal_mu", ProximalMu), nodes);
}
