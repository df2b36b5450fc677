namespace Federate.Core.Strategies;

/// <summary>
/// FedYogi (Reddi et al., 2021): v = v - (1-b2)·d²·sign(v - d²), which grows v more slowly than Adam.
/// Defaults eta 0.01, b1 0.9, b2 0.99, tau 1e-3.
/// </summary>
public sealed class FedYogi : AdaptiveMomentStrategy
{
    /// <inheritdoc />
    public override string Name => "fedyogi";

    /// <inheritdoc />
    protected override float SecondMoment(float v, float delta, float beta2)
    {
        float d2 = delta * delta;
        return v - ((1 - beta2) * d2 * MathF.Sign(v - d2));
    }
}
