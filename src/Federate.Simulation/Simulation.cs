using System.Globalization;
using Federate.Core.Privacy;
using Federate.Learning;
using Federate.State;

namespace Federate.Simulation;

/// <summary>
/// A simulation composed from <see cref="SimulationSettings"/>: the dataset split among virtual clients, one
/// <see cref="LearningClient"/> per partition (DP-SGD, budgets and attacks applied), the in-memory grid, and the
/// <see cref="RunPlan"/> (strategy with privacy, stop rules, outputs, durability with
/// <see cref="SimulationSettings.StateDir"/>). Run it with <see cref="RunAsync"/>; the same seed gives a
/// byte-identical model, also across a kill and a resume from the state directory.
/// </summary>
public sealed class Simulation : IDisposable
{
    private readonly SimulationSettings _settings;
    private readonly ClientPrivacyStore? _ledgers;
    private readonly StateDirectory? _state;

    // A virtual client's secure-aggregation keys live across the messages of a round (apps are created per message).
    private readonly System.Collections.Concurrent.ConcurrentDictionary<int, Core.SecureAggregation.SecAggPlusClient> _secagg = new();

    // A virtual client's error-feedback residuals live across rounds (apps are created per message).
    private readonly Core.Compression.CompressionResiduals _residuals = new();

    private Simulation(SimulationSettings settings, FederatedDataset data, int rows, Attack? attack, RunPrivacy privacy, ClientPrivacyStore? ledgers, StateDirectory? state)
    {
        (_settings, Data, Rows, Attack, Privacy, _ledgers, _state) = (settings, data, rows, attack, privacy, ledgers, state);
        Grid = new InMemoryGrid(CreateApp, new SimulationOptions { Clients = settings.Clients, Parallelism = settings.Parallelism, DropRate = settings.DropRate, Seed = settings.Seed });

        var options = new RunOptions
        {
            RunId = string.Create(CultureInfo.InvariantCulture, $"sim-{settings.Seed}-{DateTime.UtcNow:yyyyMMddHHmmss}-{Guid.NewGuid().ToString("N")[..6]}"),
            Seed = settings.Seed,
            Rounds = settings.Rounds,
            Threshold = settings.Threshold,
            ThresholdMetric = settings.ThresholdMetric,
            Target = settings.Target,
            MinNodes = 1,
            MinResults = 1,
        };
        options.TrainConfig["local_epochs"] = settings.LocalEpochs;
        options.TrainConfig["lr"] = settings.LearningRate;
        options.TrainConfig["batch_size"] = settings.BatchSize;
        settings.Optimizer.AddOptimizerTo(options.TrainConfig);
        Core.Compression.UpdateCompression.Configure(options, settings.UpdateCompression);
        privacy.Configure(options, ProjectSampleEpsilon());
        if (settings.SecAgg is { } secagg)
        {
            Core.SecureAggregation.SecAggPlusWorkflow.Apply(options, secagg);
        }

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["format"] = "federate",
            ["model"] = settings.Model,
            ["dataset"] = data.Name,
            ["features"] = data.FeatureCount.ToString(CultureInfo.InvariantCulture),
            ["classes"] = data.ClassCount.ToString(CultureInfo.InvariantCulture),
        };
        if (state is not null)
        {
            foreach (var (key, value) in metadata)
            {
                state.CheckpointMetadata[key] = value;
            }
        }

        Plan = new RunPlan
        {
            Strategy = privacy.Strategy,
            Options = options,
            Initial = RunPlan.Fixed(() =>
            {
                var model = CreateModel();
                model.Initialize(settings.Seed);
                return model.GetParameters();
            }),
            Config = settings.ToConfig(),
            Outputs = new RunOutputs { Directory = settings.Out, ModelMetadata = metadata },
            Durability = state,
        };
        if (Core.Compression.UpdateCodec.Parse(settings.UpdateCompression) is not null)
        {
            // The clients' error-feedback residuals resume with the run, so the resumed run ends with the same model.
            Plan.DurableState.Add(_residuals);
        }

        if (ledgers is not null)
        {
            // The clients' privacy ledgers resume with the run, so epsilon after a resume is what it would have been.
            Plan.DurableState.Add(ledgers);
        }
    }

    /// <summary>The federated dataset (partitions and their train/test splits).</summary>
    public FederatedDataset Data { get; }

    /// <summary>Training rows of the whole dataset.</summary>
    public int Rows { get; }

    /// <summary>The simulated attack, when asked for.</summary>
    public Attack? Attack { get; }

    /// <summary>The privacy applied to the run.</summary>
    public RunPrivacy Privacy { get; }

    /// <summary>The in-memory grid of virtual clients.</summary>
    public InMemoryGrid Grid { get; }

    /// <summary>The run plan; add observers to <see cref="RunPlan.Observers"/> before <see cref="RunAsync"/>.</summary>
    public RunPlan Plan { get; }

    /// <summary>
    /// Validates <paramref name="settings"/>, loads and splits the data and composes the run. Bad settings throw
    /// <see cref="ArgumentException"/>, unreadable data <see cref="DatasetException"/>, a state directory in use
    /// <see cref="IOException"/>, each with a one-line message. <paramref name="log"/> receives the state directory's
    /// messages (resuming, changed settings).
    /// </summary>
    public static Simulation Create(SimulationSettings settings, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        var split = DatasetCatalog.Load(settings.Dataset, settings.DataDir, settings.LabelColumn);
        ModelFactory.CheckDataset(settings.Model, split.Train.Name, split.Train.Segmentation);
        var rows = split.Train.Count;
        if (settings.Clients > rows)
        {
            throw new ArgumentException($"cannot split {rows} rows of '{split.Train.Name}' among {settings.Clients} clients; use 'clients' {rows} or fewer");
        }

        var data = FederatedDataset.Create(split, settings.Clients, settings.Partition, settings.Seed, settings.TestFraction);
        _ = ModelFactory.Create(settings.Model, data.FeatureCount, data.ClassCount); // a bad model name fails before anything runs
        var sampling = new SamplingOptions
        {
            FractionTrain = settings.Fraction,
            FractionEvaluate = settings.FractionEvaluate,
            MinTrainNodes = settings.MinFitClients,
            MinEvaluateNodes = settings.MinEvaluateClients,
        };
        var privacy = new RunPrivacy(settings.Privacy, StrategyCatalog.Create(settings.Strategy, sampling, settings.StrategyOptions), settings.Fraction);
        var attack = settings.Attack is null ? null : Attack.Parse(settings.Attack, settings.Clients, settings.Seed);
        var ledgers = settings.Privacy.DpSgd ? new ClientPrivacyStore(settings.Privacy.Delta) : null;
        var state = settings.StateDir is null ? null : StateDirectory.Open(settings.StateDir, log);
        if (state is not null)
        {
            state.KeepCheckpoints = settings.KeepCheckpoints;
        }

        return new Simulation(settings, data, rows, attack, privacy, ledgers, state);
    }

    /// <summary>Runs (or resumes) the simulation and writes the model and history to <see cref="SimulationSettings.Out"/>.</summary>
    public Task<RunResult> RunAsync(CancellationToken cancellationToken = default) => FederatedRun.Prepare(Plan, _settings.NewRun).RunAsync(Grid, cancellationToken);

    /// <inheritdoc />
    public void Dispose() => _state?.Dispose();

    private Model CreateModel() => ModelFactory.Create(_settings.Model, Data.FeatureCount, Data.ClassCount);

    private LearningClient CreateClient(int partition, Dataset train, Dataset test)
    {
        var o = _settings.Optimizer;
        var defaults = new TrainOptions { Epochs = _settings.LocalEpochs, BatchSize = _settings.BatchSize, LearningRate = _settings.LearningRate, Optimizer = o.Optimizer, Momentum = o.Momentum, WeightDecay = o.WeightDecay };
        var dp = _ledgers is null
            ? null
            : new ClientDpSgd(new DpSgdOptions { NoiseMultiplier = _settings.Privacy.NoiseMultiplier, MaxGradNorm = _settings.Privacy.MaxGradNorm }, _ledgers.Get(partition));
        return new LearningClient(CreateModel, train, test, defaults, _settings.Seed, partition, dp);
    }

    private IClientApp CreateApp(int partition)
    {
        var (train, test) = Data.GetPartition(partition);
        var mods = new List<ClientMod>();
        if (Attack is { } attack && attack.IsAttacker(partition))
        {
            if (attack.PoisonsLabels)
            {
                var flipped = train.Labels.Select(y => train.ClassCount - 1 - y).ToArray();
                train = new Dataset(train.Name, train.Features, flipped, train.FeatureCount, train.ClassNames, train.FeatureNames, train.Columns) { Segmentation = train.Segmentation };
            }
            else
            {
                mods.Add(attack.CreateMod(_settings.Seed));
            }
        }

        var client = CreateClient(partition, train, test);
        if (_settings.Privacy.MaxEpsilon is { } max)
        {
            mods.Insert(0, PrivacyBudgetMod.Create(max, m => client.ProjectEpsilon(m.Content?.Configs.TryGetValue(RecordNames.Config, out var c) == true ? c : new ConfigRecord())));
        }

        if (_settings.SecAgg is not null)
        {
            // First, so that it masks what every other mod (budget, attack) made of the update.
            mods.Insert(0, _secagg.GetOrAdd(partition, _ => new Core.SecureAggregation.SecAggPlusClient()).Mod);
        }

        if (Core.Compression.UpdateCodec.Parse(_settings.UpdateCompression) is not null)
        {
            // First: it compresses what every other mod (budget, attack) made of the update.
            mods.Insert(0, _residuals.Get(partition).Mod);
        }

        return client.ToClientApp([.. mods]);
    }

    /// <summary>
    /// Exact in simulation: every client's own projection of its next round (sampled or not, so conservative),
    /// leaving out clients whose own budget would make them refuse that round anyway.
    /// </summary>
    private Func<double?>? ProjectSampleEpsilon()
    {
        if (!_settings.Privacy.DpSgd)
        {
            return null;
        }

        double cap = _settings.Privacy.MaxEpsilon ?? double.PositiveInfinity;
        return () =>
        {
            var config = Plan.Options.TrainConfig;
            return Enumerable.Range(0, _settings.Clients)
                .Select(pid => { var (train, test) = Data.GetPartition(pid); return CreateClient(pid, train, test).ProjectEpsilon(config) ?? 0; })
                .Where(e => e <= cap).DefaultIfEmpty(0).Max();
        };
    }
}
