using Federate.Core.Privacy;

namespace Federate.Simulation;

/// <summary>
/// The settings of a simulation (<c>federate sim</c>): data, model, clients, local training, strategy, privacy,
/// attacks, fault injection, outputs and, with <see cref="StateDir"/>, durability.
/// </summary>
public sealed class SimulationSettings
{
    /// <summary>Embedded dataset name (digits, iris, fashion-mnist, ...) or a CSV file path. Default "digits".</summary>
    public string Dataset { get; set; } = "digits";
    /// <summary>Folder holding Fashion-MNIST's IDX files (null: /usr/share/datasets/fashion-mnist).</summary>
    public string? DataDir { get; set; }
    /// <summary>Label column of a CSV file (null: 'label' if present, else the last column).</summary>
    public string? LabelColumn { get; set; }
    /// <summary>Model: logistic, mlp, mlp:H1[,H2...], gaussian-nb, cnn, cnn-mcmahan, cnn:LAYERS, unet-small. Default "mlp".</summary>
    public string Model { get; set; } = "mlp";
    /// <summary>Number of virtual clients. Default 10.</summary>
    public int Clients { get; set; } = 10;
    /// <summary>Fraction of the clients sampled to train each round, in (0, 1]. Default 1.</summary>
    public double Fraction { get; set; } = 1.0;
    /// <summary>Fraction of the clients sampled to evaluate each round, in [0, 1]. Default 1.</summary>
    public double FractionEvaluate { get; set; } = 1.0;
    /// <summary>Minimum number of clients sampled to train. Default 1.</summary>
    public int MinFitClients { get; set; } = 1;
    /// <summary>Round limit. Default 20.</summary>
    public int Rounds { get; set; } = 20;
    /// <summary>Local epochs per round. Default 5.</summary>
    public int LocalEpochs { get; set; } = 5;
    /// <summary>Local minibatch size. Default 16.</summary>
    public int BatchSize { get; set; } = 16;
    /// <summary>Local learning rate. Default 0.1.</summary>
    public double LearningRate { get; set; } = 0.1;
    /// <summary>How rows are split among clients: iid, dirichlet:ALPHA, shards:K, column:NAME. Default "dirichlet:0.5".</summary>
    public string Partition { get; set; } = "dirichlet:0.5";
    /// <summary>Fraction of each client's rows kept for local evaluation, in [0, 1). Default 0.2.</summary>
    public double TestFraction { get; set; } = 0.2;
    /// <summary>Aggregation strategy by name (fedavg, fedprox, fedadam, krum, ...). Default "fedavg".</summary>
    public string Strategy { get; set; } = "fedavg";
    /// <summary>Seed for every random choice; the same seed gives a byte-identical model. Default 0.</summary>
    public int Seed { get; set; }
    /// <summary>Stop when <see cref="ThresholdMetric"/> changes by less than this between rounds (null: no such rule).</summary>
    public double? Threshold { get; set; }
    /// <summary>The evaluate metric <see cref="Threshold"/> watches. Default "accuracy".</summary>
    public string ThresholdMetric { get; set; } = "accuracy";
    /// <summary>Stop once the evaluate metric reaches the value (null: no target).</summary>
    public (string Metric, double Value)? Target { get; set; }
    /// <summary>Probability that a sampled client fails (fault injection), in [0, 1). Default 0.</summary>
    public double DropRate { get; set; }
    /// <summary>Clients computing at once, one thread each. Default: the processor count.</summary>
    public int Parallelism { get; set; } = Environment.ProcessorCount;
    /// <summary>Output folder for history.json and model.safetensors. Default "out".</summary>
    public string Out { get; set; } = "out";

    /// <summary>State directory: checkpoints every round, and a run started again with the same settings resumes (null: not durable).</summary>
    public string? StateDir { get; set; }

    /// <summary>With <see cref="StateDir"/>: keep only the newest N round checkpoints of the run (0, the default: all).</summary>
    public int KeepCheckpoints { get; set; }

    /// <summary>With <see cref="StateDir"/>: start a new run even if the directory holds an unfinished or finished run with these settings (an unfinished one is marked abandoned).</summary>
    public bool NewRun { get; set; }
    /// <summary>Minimum number of clients sampled to evaluate. Default 1.</summary>
    public int MinEvaluateClients { get; set; } = 1;
    /// <summary>Simulated attackers as KIND:FRACTION (sign-flip, gaussian, label-flip, scale), e.g. "sign-flip:0.2"; null for none.</summary>
    public string? Attack { get; set; }
    /// <summary>The strategy's parameters (proximal mu, server learning rate, trim fraction, ...).</summary>
    public StrategyOptions StrategyOptions { get; set; } = new();
    /// <summary>Differential privacy: DP-SGD on clients, central DP, budgets.</summary>
    public PrivacySettings Privacy { get; set; } = new();
    /// <summary>The clients' local optimizer (SGD or Adam, momentum, weight decay).</summary>
    public Learning.Models.TrainOptions Optimizer { get; set; } = new();

    /// <summary>Secure aggregation (SecAgg+): the server learns only the sum of the clients' updates. Null: off.</summary>
    public Core.SecureAggregation.SecAggPlusSettings? SecAgg { get; set; }

    /// <summary>
    /// Update compression: none, fp16, int8 or topk:F (see <see cref="Core.Compression.UpdateCompression"/>). Null or
    /// "none": updates travel as float32, as before.
    /// </summary>
    public string? UpdateCompression { get; set; }

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
        Require(KeepCheckpoints >= 0, $"'keep_checkpoints' must be 0 (keep all) or more, got {KeepCheckpoints}");
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
        if (Core.Compression.UpdateCompression.Check(UpdateCompression, SecAgg is not null) is { } compression)
        {
            throw new ArgumentException(compression);
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
        if (Core.Compression.UpdateCodec.Parse(UpdateCompression) is { } codec)
        {
            config[Core.Compression.UpdateCompression.ConfigKey] = codec.Name;
        }

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
