namespace Federate.Core.Strategies;

/// <summary>How a strategy samples nodes each round.</summary>
public sealed class SamplingOptions
{
    /// <summary>Fraction of available nodes sampled for training (0, 1]. Default 1.</summary>
    public double FractionTrain { get; set; } = 1.0;

    /// <summary>Fraction of available nodes sampled for evaluation [0, 1]; 0 disables federated evaluation. Default 1.</summary>
    public double FractionEvaluate { get; set; } = 1.0;

    /// <summary>Lower bound on nodes sampled for training. Default 1.</summary>
    public int MinTrainNodes { get; set; } = 1;

    /// <summary>Lower bound on nodes sampled for evaluation. Default 1.</summary>
    public int MinEvaluateNodes { get; set; } = 1;

    /// <summary>Checks the options; returns a one-line problem or null.</summary>
    public string? Validate()
    {
        if (!(FractionTrain > 0 && FractionTrain <= 1))
        {
            return $"--fraction must be in (0, 1], got {FractionTrain}; use e.g. --fraction 0.1 to sample 10% of the clients each round";
        }

        if (!(FractionEvaluate >= 0 && FractionEvaluate <= 1))
        {
            return $"--fraction-evaluate must be in [0, 1], got {FractionEvaluate}";
        }

        if (MinTrainNodes < 1)
        {
            return $"--min-fit-clients must be at least 1, got {MinTrainNodes}";
        }

        return null;
    }
}
