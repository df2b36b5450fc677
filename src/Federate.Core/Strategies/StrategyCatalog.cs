namespace Federate.Core.Strategies;

/// <summary>Creates strategies from their command-line names.</summary>
public static class StrategyCatalog
{
    /// <summary>Strategy names accepted by <see cref="Create"/>.</summary>
    public static IReadOnlyList<string> Names { get; } =
        ["fedavg", "fedprox", "fedadam", "fedyogi", "fedadagrad", "fedavgm", "median", "trimmed-mean", "krum", "multi-krum", "bulyan", "qfedavg"];

    /// <summary>Creates a strategy; throws <see cref="ArgumentException"/> (one line) for an unknown name or bad parameters.</summary>
    public static Strategy Create(string name, SamplingOptions sampling, StrategyOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        var o = options ?? new StrategyOptions();
        if (o.Validate() is { } problem)
        {
            throw new ArgumentException(problem);
        }

        Strategy strategy = name.ToLowerInvariant() switch
        {
            "fedavg" => new FedAvg { Sampling = sampling },
            "fedprox" => new FedProx { Sampling = sampling, ProximalMu = o.ProximalMu },
            "fedadam" => new FedAdam { Sampling = sampling, ServerLearningRate = o.ServerLearningRate ?? 0.01, Beta1 = o.Beta1, Beta2 = o.Beta2, Tau = o.Tau ?? 1e-3 },
            "fedyogi" => new FedYogi { Sampling = sampling, ServerLearningRate = o.ServerLearningRate ?? 0.01, Beta1 = o.Beta1, Beta2 = o.Beta2, Tau = o.Tau ?? 1e-3 },
            "fedadagrad" => new FedAdagrad { Sampling = sampling, ServerLearningRate = o.ServerLearningRate ?? 0.05, Tau = o.Tau ?? 1e-3 },
            "fedavgm" => new FedAvgM { Sampling = sampling, ServerLearningRate = o.ServerLearningRate ?? 1.0, Momentum = o.ServerMomentum },
            "median" => new FedMedian { Sampling = sampling },
            "trimmed-mean" => new FedTrimmedAvg { Sampling = sampling, TrimFraction = o.TrimFraction },
            "krum" => new Krum { Sampling = sampling, Byzantine = o.Byzantine, Keep = 1 },
            "multi-krum" => new Krum { Sampling = sampling, Byzantine = o.Byzantine, Keep = o.Keep, Multi = true },
            "bulyan" => new Bulyan { Sampling = sampling, Byzantine = o.Byzantine },
            "qfedavg" => new QFedAvg { Sampling = sampling, Q = o.Q, LearningRate = o.QffedavgLearningRate },
            _ => throw new ArgumentException($"Unknown strategy '{name}'; use one of: {string.Join(", ", Names)}."),
        };
        strategy.AcceptFailures = o.AcceptFailures;
        return strategy;
    }
}
