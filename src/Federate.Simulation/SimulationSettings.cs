using Federate.Core.Privacy;

namespace Federate.Simulation;

/// <summary>
/// The settings of a simulation (<c>federate sim</c>): data, model, clients, local training, strategy, privacy,
/// attacks, fault injection, outputs and, with <see cref="StateDir"/>, durability.
/// </summary>
public sealed class SimulationSettings
{
    public string Dataset { get; set; } = "digits";
    public string? DataDir { get; set; }
    public string? LabelColumn { get; set; }
    public string Model { get; set; } = "mlp";
    public int Clients { get; set; } = 10;
    public double Fraction { get; set; } = 1.0;
    public double FractionEvaluate { get; set; } = 1.0;
    public int MinFitClients { get; set; } = 1;
    public int Rounds { get; set; } = 20;
    public int LocalEpochs { get; set; } = 5;
    public int BatchSize { get; set; } = 16;
    public double LearningRate { get; set; } = 0.1;
    public string Partition { get; set; } = "dirichlet:0.5";
    public double TestFraction { get; set; } = 0.2;
    public string Strategy { get; set; } = "fedavg";
    public int Seed { get; set; }
    public double? Threshold { get; set; }
    public string ThresholdMetric { get; set; } = "accuracy";
    public (string Metric, double Value)? Target { get; set; }
    public double DropRate { get; set; }
    public int Parallelism { get; set; } = Environment.ProcessorCount;
    public string Out { get; set; } = "out";

    /// <summary>State directory: checkpoints every round, and a run started again with the same settings resumes (null: not durable).</summary>
    public string? StateDir { get; set; }

    /// <summary>With <see cref="StateDir"/>: start a new run even if the directory holds an unfinished or finished run with these settings (an unfinished one is marked abandoned).</summary>
    public bool NewRun { get; set; }
    public int MinEvaluateClients { get; set; } = 1;
    public string? Attack { get; set; }
    public StrategyOptions StrategyOptions { get; set; } = new();
    public PrivacySettings Privacy { get; set; } = new();
    public Learning.Models.TrainOptions Optimizer { get; set; } = new();

    /// <summary>Secure aggregation (SecAgg+): the server learns only the sum of the clients' updates. Null: off.</summary>
    public Core.SecureAggregation.SecAggPlusSettings? SecAgg { get; set; }

    /// <summary>Checks ranges; throws <see cref="ArgumentException"/> naming the option.</summary>
    public void Validate()
    {
        Require(Clients >= 1, $"'clients' must be at least 1, got {Clients}");
        Require(Fraction > 0 && Fraction <= 1, $"'fraction' must be in (0, 1], got {Fraction}; use e.g. 'fraction' 0.1 to sample 10% of the clients each round");
        Require(FractionEvaluate >= 0 && FractionEvaluate <= 1, $"'fraction_evaluate' must be in [0, 1], got {FractionEvaluate}");
        Require(MinFitClients >= 1, $"'min_fit_clients' must be at least 1, got {MinFitClients}");
        Require(MinFitClients <= Clients, $"'min_fit_clients' ({MinFitClients}) cannot exceed 'clients' ({Clients})");
        Require(Rounds >= 1, $"'rounds' must be at least 1, got {Rounds}");
        Require(LocalEpochs >= 1, $"'local_epochs' must be at least 1, got {LocalEpochs}");
        Require(BatchSize >= 1, $"'batch_size' must be at least 1, got {BatchSize}");
        Require(LearningRate > 0 && double.IsFinite(LearningRate), $"'lr' must be a positive number, got {LearningRate}");
        Require(TestFraction >= 0 && TestFraction < 1, $"'test_fraction' must be in [0, 1), got {TestFraction}");
        Require(Threshold is null || Threshold >= 0, $"'threshold' must be non-negative, got {Threshold}");
        Require(DropRate >= 0 && DropRate < 1, $"'drop_rate' must be in [0, 1), got {DropRate}");
        Require(Parallelism >= 1, $"'parallelism' must be at least 1, got {Parallelism}");
        Require(!string.IsNullOrWhiteSpace(Out), "'out' must name a folder");
        Require(MinEvaluateClients >= 1, $"'min_evaluate_clients' must be at least 1, got {MinEvaluateClients}");
        if (StrategyOptions.Validate() is { } problem)
        {
            throw new ArgumentException(problem);
        }

        Privacy.Validate(Strategy, Fraction);
        if (SecAgg is not null)
        {
            if ((SecAgg.Validate() ?? Core.SecureAggregation.SecAggPlusCompatibility.Check(Strategy, Privacy)) is { } secagg)
            {
                throw new ArgumentException(secagg);
            }
        }
        if (Privacy.DpSgd && Model.Trim().Equals("gaussian-nb", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException(Learning.ClientDpSgd.NotSgdMessage);
        }
    }

    /// <summary>The settings as history.json's "config".</summary>
    public Dictionary<string, object?> ToConfig()
    {
        var config = BaseConfig();
        Privacy.AddTo(config, Fraction);
        SecAgg?.AddTo(config);
        var optimizer = new ConfigRecord();
        Optimizer.AddOptimizerTo(optimizer);
        foreach (var (key, value) in optimizer)
        {
            config[key] = key == "optimizer" ? value.AsString() : value.AsDouble();
        }

        return config;
    }

    private Dictionary<string, object?> BaseConfig() => new()
    {
        ["mode"] = "simulation",
        ["dataset"] = Dataset,
        ["model"] = Model,
        ["clients"] = Clients,
        ["fraction"] = Fraction,
        ["fraction_evaluate"] = FractionEvaluate,
        ["min_fit_clients"] = MinFitClients,
        ["rounds"] = Rounds,
        ["local_epochs"] = LocalEpochs,
        ["batch_size"] = BatchSize,
        ["lr"] = LearningRate,
        ["partition"] = Partition,
        ["test_fraction"] = TestFraction,
        ["strategy"] = Strategy,
        ["seed"] = Seed,
        ["threshold"] = Threshold,
        ["threshold_metric"] = ThresholdMetric,
        ["target"] = Target is { } t ? $"{t.Metric}={t.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)}" : null,
        ["drop_rate"] = DropRate,
        ["attack"] = Attack,
        ["accept_failures"] = StrategyOptions.AcceptFailures,
    };

    private static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new ArgumentException(message);
        }
    }
}
