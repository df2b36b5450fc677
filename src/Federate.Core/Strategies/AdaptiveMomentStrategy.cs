namespace Federate.Core.Strategies;

/// <summary>
/// The adaptive-moment server optimizers of Reddi et al. (2021): m = b1·m + (1-b1)·d, a second moment v that each
/// subclass updates, and w += eta·sqrt(1-b2^(t+1))/(1-b1^(t+1)) · m / (sqrt(v) + tau).
/// </summary>
public abstract class AdaptiveMomentStrategy : ServerOptimizerStrategy
{
    /// <summary>First-moment decay.</summary>
    public double Beta1 { get; init; } = 0.9;

    /// <summary>Second-moment decay.</summary>
    public double Beta2 { get; init; } = 0.99;

    /// <summary>Adaptivity.</summary>
    public double Tau { get; init; } = 1e-3;

    /// <summary>The new second moment from the old one and the pseudo-gradient.</summary>
    protected abstract float SecondMoment(float v, float delta, float beta2);

    /// <inheritdoc />
    protected sealed override void Update(int round, Span<float> weights, ReadOnlySpan<float> delta, Span<float> m, Span<float> v)
    {
        float b1 = (float)Beta1;
        float b2 = (float)Beta2;
        float eta = (float)(ServerLearningRate * Math.Sqrt(1 - Math.Pow(Beta2, round + 1.0)) / (1 - Math.Pow(Beta1, round + 1.0)));
        float tau = (float)Tau;
        for (int i = 0; i < weights.Length; i++)
        {
            m[i] = (b1 * m[i]) + ((1 - b1) * delta[i]);
            v[i] = SecondMoment(v[i], delta[i], b2);
            weights[i] += eta * m[i] / (MathF.Sqrt(v[i]) + tau);
        }
    }
}
