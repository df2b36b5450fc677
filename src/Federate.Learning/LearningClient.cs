using Federate.Core;
using Federate.Core.Privacy;

namespace Federate.Learning;

/// <summary>
/// A client that trains a built-in <see cref="Model"/> on its local data. Round config keys <c>local_epochs</c>,
/// <c>lr</c>, <c>batch_size</c>, <c>optimizer</c> ("sgd" or "adam"), <c>momentum</c> and <c>weight_decay</c> override the defaults; the training seed is derived from the client seed, the
/// partition id and <c>server_round</c>, so a client trains the same way in simulation and deployment.
/// With <see cref="ClientDpSgd"/> it trains with DP-SGD (round config <c>noise_multiplier</c> and <c>max_grad_norm</c>
/// override its defaults) and reports <c>epsilon</c>, <c>round_epsilon</c>, <c>user_epsilon</c>, <c>delta</c>,
/// <c>sample_rate</c>, <c>steps</c> and <c>noise_multiplier</c> from its ledger, which outlives the client object.
/// </summary>
public sealed class LearningClient : FederatedClient
{
    private readonly Func<Model> _createModel;
    private readonly Dataset _train;
    private readonly Dataset _test;
    private readonly TrainOptions _defaults;
    private readonly int _seed;
    private readonly int _partitionId;
    private readonly ClientDpSgd? _dp;
    private List<(string Name, DType DType, long[] Shape)>? _layout;

    /// <summary>Creates a client over local train and test data.</summary>
    public LearningClient(Func<Model> createModel, Dataset train, Dataset test, TrainOptions defaults, int seed, int partitionId, ClientDpSgd? dp = null)
    {
        _dp = dp;
        _createModel = createModel ?? throw new ArgumentNullException(nameof(createModel));
        _train = train ?? throw new ArgumentNullException(nameof(train));
        _test = test ?? throw new ArgumentNullException(nameof(test));
        _defaults = defaults ?? throw new ArgumentNullException(nameof(defaults));
        _seed = seed;
        _partitionId = partitionId;
    }

    /// <inheritdoc />
    public override ArrayRecord GetParameters(ConfigRecord config)
    {
        var model = _createModel();
        model.Initialize(_seed);
        return model.GetParameters();
    }

    /// <inheritdoc />
    protected override string? DescribeModelMismatch(ArrayRecord global)
    {
        ArgumentNullException.ThrowIfNull(global);

        // The local layout (names, dtypes, shapes) once: a model's parameters can be large.
        _layout ??= [.. _createModel().GetParameters().Select(kv => (kv.Key, kv.Value.DType, kv.Value.Shape.ToArray()))];
        const string fix = "; start the client with the same 'model' as the server";
        if (global.Count != _layout.Count)
        {
            return $"the server's model has {global.Count} tensors, this client's 'model' has {_layout.Count}{fix}";
        }

        foreach (var (name, dtype, shape) in _layout)
        {
            if (!global.TryGetValue(name, out var theirs))
            {
                return $"the server's model has no tensor '{name}', which this client's 'model' has{fix}";
            }

            if (theirs.DType != dtype || !theirs.Shape.SequenceEqual(shape))
            {
                return $"tensor '{name}' is {theirs} in the server's model and {dtype}[{string.Join(",", shape)}] in this client's 'model'{fix}";
            }
        }

        return null;
    }

    /// <inheritdoc />
    public override FitResult Fit(ArrayRecord parameters, ConfigRecord config, CancellationToken cancellationToken)
    {
        if (_train.Count == 0)
        {
            throw new InvalidOperationException("this client has no local training data");
        }

        var model = _createModel();
        model.SetParameters(parameters);
        long round = config.GetLong(RecordNames.ServerRound, 0);
        var options = new TrainOptions
        {
            Epochs = (int)config.GetLong("local_epochs", _defaults.Epochs),
            BatchSize = (int)config.GetLong("batch_size", _defaults.BatchSize),
            LearningRate = config.GetDouble("lr", _defaults.LearningRate),
            Seed = Seeds.Derive(_seed, _partitionId, round, "train"),
            ProximalMu = config.GetDouble("proximal_mu", _defaults.ProximalMu),
            Optimizer = ParseOptimizer(config.GetString("optimizer", null), _defaults.Optimizer),
            Momentum = config.GetDouble("momentum", _defaults.Momentum),
            WeightDecay = config.GetDouble("weight_decay", _defaults.WeightDecay),
        };
        if (TrainOptions.ValidateOptimizer(options) is { } optimizerProblem)
        {
            throw new ArgumentException(optimizerProblem);
        }

        DpSgdRound? dpRound = null;
        if (_dp is not null && _dp.AppliesTo(config))
        {
            // The noop model (transport and memory benchmarks) takes DP-SGD settings too: the accountant counts the
            // steps as for a real model; it has no gradients, so nothing is clipped or noised.
            if (model is not DifferentiableModel and not NoopModel)
            {
                throw new InvalidOperationException(ClientDpSgd.NotSgdMessage);
            }

            options.DpSgd = _dp.OptionsFor(config);
            dpRound = _dp.RoundFor(options, _train.Count);
        }

        double? initialLoss = null;
        if (config.GetBool("report_initial_loss", false))
        {
            // The loss of the received global model on the local training data (q-FedAvg's F_k).
            initialLoss = ClassificationMetrics.Compute(model.PredictProbabilities(_train), TrueLabels(_train), model.ClassCount)["loss"];
        }

        // "{partition}" in the path lets clients on one machine keep separate checkpoints.
        var checkpointPath = config.GetString("checkpoint_path", null)?.Replace("{partition}", _partitionId.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
        int resumedFrom = 0;
        var result = checkpointPath is not null && dpRound is null && model is DifferentiableModel differentiable
            ? TrainWithCheckpoints(differentiable, parameters, options, round, checkpointPath, config.GetBool("resume_from_checkpoint", false), out resumedFrom, cancellationToken)
            : model.Train(_train, options, cancellationToken);
        var metrics = new MetricRecord { ["loss"] = result.Loss };
        if (resumedFrom > 0)
        {
            metrics["resumed_from_epoch"] = resumedFrom;
        }
        if (initialLoss is { } f)
        {
            metrics["initial_loss"] = f;
        }

        if (dpRound is { } spent)
        {
            _dp!.Report(model is NoopModel ? spent : spent with { Steps = (int)result.Steps }, metrics);
        }

        return new FitResult(model.GetParameters(), result.Examples, metrics);
    }

    /// <summary>
    /// Design 3's client checkpoints: trains one epoch at a time and writes the local model after each epoch to
    /// <paramref name="path"/> (safetensors, atomically), tagged with the round, the partition and a fingerprint of the
    /// global model it started from. With <paramref name="resume"/>, a checkpoint of the same round, partition and
    /// global model is loaded and training continues from the next epoch; each epoch shuffles with its own seed, so the
    /// result equals an uninterrupted run. A missing, stale or corrupted checkpoint means training starts over.
    /// </summary>
    private TrainResult TrainWithCheckpoints(DifferentiableModel model, ArrayRecord global, TrainOptions options, long round, string path, bool resume, out int resumedFrom, CancellationToken cancellationToken)
    {
        resumedFrom = 0;
        string fingerprint;
        using (var ms = new MemoryStream())
        {
            Safetensors.Write(ms, global);
            fingerprint = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(ms.ToArray()));
        }

        var anchor = new float[model.ParameterCount];
        model.CopyParametersTo(anchor);
        string Tag(long value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);
        int startEpoch = 0;
        long steps = 0;
        double loss = 0;
        if (resume && File.Exists(path))
        {
            try
            {
                var saved = Safetensors.ReadFile(path, out var meta);
                if (meta.GetValueOrDefault("round") == Tag(round) && meta.GetValueOrDefault("partition") == Tag(_partitionId)
                    && meta.GetValueOrDefault("global") == fingerprint && int.TryParse(meta.GetValueOrDefault("epochs_done"), out var done) && done <= options.Epochs)
                {
                    model.SetParameters(saved);
                    startEpoch = done;
                    steps = long.Parse(meta.GetValueOrDefault("steps") ?? "0", System.Globalization.CultureInfo.InvariantCulture);
                    loss = double.Parse(meta.GetValueOrDefault("loss") ?? "0", System.Globalization.CultureInfo.InvariantCulture);
                    resumedFrom = done;
                }
            }
            catch (Exception ex) when (ex is InvalidDataException or IOException or ArgumentException or FormatException)
            {
                // A corrupted or foreign checkpoint: start the round's training over.
            }
        }

        for (int epoch = startEpoch; epoch < options.Epochs; epoch++)
        {
            // One epoch at a time from the checkpoint (this path trains without DP-SGD, as before).
            var one = options with { Epochs = epoch + 1, StartEpoch = epoch, ProximalAnchor = options.ProximalMu > 0 ? anchor : null, DpSgd = null };
            var r = model.Train(_train, one, cancellationToken);
            loss = r.Loss;
            steps += r.Steps;
            var directory = Path.GetDirectoryName(Path.GetFullPath(path));
            if (directory is not null)
            {
                Directory.CreateDirectory(directory);
            }

            Safetensors.WriteFile(path, model.GetParameters(), new Dictionary<string, string>
            {
                ["round"] = Tag(round),
                ["partition"] = Tag(_partitionId),
                ["global"] = fingerprint,
                ["epochs_done"] = Tag(epoch + 1),
                ["steps"] = Tag(steps),
                ["loss"] = loss.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
            });
        }

        return new TrainResult(loss, _train.Count, steps);
    }

    /// <summary>Reads the round config's <c>optimizer</c> ("sgd" or "adam"; absent means <paramref name="fallback"/>).</summary>
    public static LocalOptimizer ParseOptimizer(string? name, LocalOptimizer fallback) => name?.Trim().ToLowerInvariant() switch
    {
        null or "" => fallback,
        "sgd" => LocalOptimizer.Sgd,
        "adam" => LocalOptimizer.Adam,
        _ => throw new ArgumentException($"Unknown optimizer '{name}'; use sgd or adam."),
    };

    /// <summary>
    /// The cumulative sample-level epsilon this client would have after the train instruction with
    /// <paramref name="config"/>; null without DP-SGD (for <see cref="PrivacyBudgetMod"/>).
    /// </summary>
    public double? ProjectEpsilon(ConfigRecord config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (_dp is null || _train.Count == 0 || !_dp.AppliesTo(config))
        {
            return null;
        }

        var options = new TrainOptions
        {
            Epochs = (int)config.GetLong("local_epochs", _defaults.Epochs),
            BatchSize = (int)config.GetLong("batch_size", _defaults.BatchSize),
            DpSgd = _dp.OptionsFor(config),
        };
        return _dp.State.ProjectEpsilon(_dp.RoundFor(options, _train.Count));
    }

    /// <inheritdoc />
    public override EvaluateResult Evaluate(ArrayRecord parameters, ConfigRecord config, CancellationToken cancellationToken)
    {
        if (_test.Count == 0)
        {
            throw new InvalidOperationException("this client has no local test data");
        }

        var model = _createModel();
        model.SetParameters(parameters);
        var probabilities = model.PredictProbabilities(_test);
        var all = ClassificationMetrics.Compute(probabilities, TrueLabels(_test), model.ClassCount, includeConfusion: true);
        var metrics = new MetricRecord(all.Where(kv => kv.Key != "loss"));
        return new EvaluateResult(all["loss"], _test.Count, metrics);
    }

    /// <summary>
    /// What the model's probabilities are scored against: each row's label, or for a segmentation dataset every
    /// pixel's class, so loss, accuracy and dice are per pixel (dice of the object class, pooled over the images).
    /// </summary>
    private static int[] TrueLabels(Dataset data) => data.Segmentation is { } layout ? layout.PixelLabels(data) : data.Labels;
}
