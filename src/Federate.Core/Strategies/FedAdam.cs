namespace Federate.Core.Strategies;

/// <summary>
/// FedAdam (Reddi et al., 2021): v = b2·v + (1-b2)·d². Defaults eta 0.01, b1 0.9, b2 0.99, tau 1e-3.
/// </summary>
public sealed class FedAdam : AdaptiveMomentStrategy
{
    /// <inheritdoc />
    public override string Name => "fedadam";

    /// <inheritdoc />
    protected override float SecondMoment(float v, float delta, float beta2) => (beta2 * v) + ((1 - beta2) * delta * delta);
}
