namespace Federate.Core.Strategies;

/// <summary>
/// FedAvgM (Hsu et al., 2019, "Measuring the Effects of Non-Identical Data Distribution"): server momentum on the
/// pseudo-gradient: m = beta·m + d; w += eta·m. Defaults eta 1.0, beta 0.9.
/// </summary>
public sealed class FedAvgM : ServerOptimizerStrategy
{
    /// <summary>Server momentum beta.</summary>
    public double Momentum { get; init; } = 0.9;

    /// <inheritdoc />
    public override string Name => "fedavgm";

    /// <inheritdoc />
    protected override void Update(int round, Span<float> weights, ReadOnlySpan<float> delta, Span<float> m, Span<float> v)
    {
        float beta = (float)Momentum;
        float eta = (float)ServerLearningRate;
        for (int i = 0; i < weights.Length; i++)
        {
            m[i] = (beta * m[i]) + delta[i];
            weights[i] += eta * m[i];
        }
    }
}
