namespace Federate.Core.Strategies;

/// <summary>Parameters of the built-in strategies; each strategy reads the ones it documents.</summary>
public sealed class StrategyOptions
{
    /// <summary>FedProx proximal term weight mu (sent to clients as <c>proximal_mu</c>). Default 0.1.</summary>
    public double ProximalMu { get; set; } = 0.1;

    /// <summary>Server learning rate eta of FedAdam, FedYogi, FedAdagrad and FedAvgM; null picks the strategy's default.</summary>
    public double? ServerLearningRate { get; set; }

    /// <summary>First-moment decay beta1 of FedAdam and FedYogi. Default 0.9.</summary>
    public double Beta1 { get; set; } = 0.9;

    /// <summary>Second-moment decay beta2 of FedAdam and FedYogi. Default 0.99.</summary>
    public double Beta2 { get; set; } = 0.99;

    /// <summary>Adaptivity tau of FedAdam, FedYogi and FedAdagrad; null picks the strategy's default (1e-3).</summary>
    public double? Tau { get; set; }

    /// <summary>Server momentum of FedAvgM. Default 0.9.</summary>
    public double ServerMomentum { get; set; } = 0.9;

    /// <summary>Fraction trimmed from each end per coordinate by trimmed-mean, in [0, 0.5). Default 0.2.</summary>
    public double TrimFraction { get; set; } = 0.2;

    /// <summary>Number of Byzantine clients f tolerated by Krum, Multi-Krum and Bulyan. Default 1.</summary>
    public int Byzantine { get; set; } = 1;

    /// <summary>Models kept and averaged by Multi-Krum; null keeps n - f.</summary>
    public int? Keep { get; set; }

    /// <summary>Fairness exponent q of q-FedAvg. Default 0.2.</summary>
    public double Q { get; set; } = 0.2;

    /// <summary>Client learning rate q-FedAvg assumes for its Lipschitz estimate (L = 1 / lr). Default 0.05.</summary>
    public double QffedavgLearningRate { get; set; } = 0.05;

    /// <summary>When false, a round with any failed client keeps the previous model (Flower's accept_failures). Default true.</summary>
    public bool AcceptFailures { get; set; } = true;

    /// <summary>Checks ranges; returns a one-line problem or null.</summary>
    public string? Validate()
    {
        if (!(ProximalMu >= 0))
        {
            return $"--proximal-mu must be non-negative, got {ProximalMu}";
        }

        if (ServerLearningRate is { } eta && !(eta > 0))
        {
            return $"--server-lr must be positive, got {eta}";
        }

        if (!(Beta1 >= 0 && Beta1 < 1) || !(Beta2 >= 0 && Beta2 < 1))
        {
            return $"--beta1 and --beta2 must be in [0, 1), got {Beta1} and {Beta2}";
        }

        if (Tau is { } tau && !(tau > 0))
        {
            return $"--tau must be positive, got {tau}";
        }

        if (!(ServerMomentum >= 0 && ServerMomentum < 1))
        {
            return $"--server-momentum must be in [0, 1), got {ServerMomentum}";
        }

        if (!(TrimFraction >= 0 && TrimFraction < 0.5))
        {
            return $"--trim-fraction must be in [0, 0.5), got {TrimFraction}";
        }

        if (Byzantine < 0)
        {
            return $"--byzantine must be non-negative, got {Byzantine}";
        }

        if (Keep is { } keep && keep < 1)
        {
            return $"--keep must be at least 1, got {keep}";
        }

        if (!(Q >= 0))
        {
            return $"--q must be non-negative, got {Q}";
        }

        return null;
    }
}
