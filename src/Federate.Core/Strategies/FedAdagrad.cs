namespace Federate.Core.Strategies;

/// <summary>
/// FedAdagrad (Reddi et al., 2021): v = v + d²; w += eta · d / (sqrt(v) + tau). Defaults eta 0.05, tau 1e-3.
/// </summary>
public sealed class FedAdagrad : ServerOptimizerStrategy
{
    /// <summary>Adaptivity.</summary>
    public double Tau { get; init; } = 1e-3;

    /// <inheritdoc />
    public override string Name => "fedadagrad";

    /// <inheritdoc />
    protected override void Update(int round, Span<float> weights, ReadOnlySpan<float> delta, Span<float> m, Span<float> v)
    {
        float eta = (float)ServerLearningRate;
        float tau = (float)Tau;
        for (int i = 0; i < weights.Length; i++)
        {
            v[i] += delta[i] * delta[i];
            weights[i] += eta * delta[i] / (MathF.Sqrt(v[i]) + tau);
        }
    }
}
