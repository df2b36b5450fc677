using Federate.Core;
using Federate.Learning;
using Federate.Core.Privacy;
using TorchSharp;
using TorchTensor = TorchSharp.torch.Tensor;

namespace Federate.TorchSharp;

/// <summary>
/// A federated client around any TorchSharp module: the global model arrives as the module's <c>state_dict</c>
/// (PyTorch's names), is trained on local data with <see cref="TorchTrainer"/> and goes back the same way. Round config
/// keys <c>local_epochs</c>, <c>batch_size</c>, <c>lr</c>, <c>optimizer</c> ("sgd" or "adam"), <c>momentum</c>,
/// <c>weight_decay</c> and <c>proximal_mu</c> override <c>defaults</c>, as for <see cref="LearningClient"/>; the
/// training seed is derived from the client seed, the partition id and <c>server_round</c>, so a client trains the
/// same way in simulation and deployment. Evaluation reports <c>loss</c> and, for classification, <c>accuracy</c>.
/// </summary>
/// <remarks>
/// libtorch's random generator and thread pool are process-wide, so the TorchSharp clients of one process train one at
/// a time (libtorch parallelises inside each operation; <c>torch.set_num_threads</c> sets how far). A model that does
/// not fit the module (names, dtypes, shapes) gets a <c>model_mismatch</c> error reply naming the first difference.
/// </remarks>
public sealed class TorchClient : FederatedClient, IDisposable
{
    private static readonly Lock Gate = new();
    private readonly Func<torch.nn.Module<TorchTensor, TorchTensor>> _createModel;
    private readonly TorchDataset _train;
    private readonly TorchDataset _test;
    private readonly TrainOptions _defaults;
    private readonly int _seed;
    private readonly int _partitionId;
    private torch.nn.Module<TorchTensor, TorchTensor>? _module;

    /// <summary>
    /// Creates a client. <paramref name="createModel"/> builds the module (called once, with libtorch's generator
    /// seeded from <paramref name="seed"/>, so <see cref="GetParameters"/> gives the same initial model for a seed).
    /// </summary>
    public TorchClient(Func<torch.nn.Module<TorchTensor, TorchTensor>> createModel, TorchDataset train, TorchDataset test, TrainOptions defaults, int seed, int partitionId)
    {
        ArgumentNullException.ThrowIfNull(createModel);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(test);
        ArgumentNullException.ThrowIfNull(defaults);
        (_createModel, _train, _test, _defaults, _seed, _partitionId) = (createModel, train, test, defaults, seed, partitionId);
    }

    /// <summary>The training and evaluation loss (a mean over the batch); default <see cref="TorchTrainer.CrossEntropy"/>.</summary>
    public Func<TorchTensor, TorchTensor, TorchTensor> Loss { get; init; } = TorchTrainer.CrossEntropy;

    /// <summary>Examples per evaluation batch. Default 256.</summary>
    public int EvaluateBatchSize { get; init; } = 256;

    /// <inheritdoc />
    public override ArrayRecord GetParameters(ConfigRecord config)
    {
        lock (Gate)
        {
            return TorchStateDict.ToRecord(Module());
        }
    }

    /// <inheritdoc />
    protected override string? DescribeModelMismatch(ArrayRecord global)
    {
        lock (Gate)
        {
            return TorchStateDict.DescribeMismatch(Module(), global);
        }
    }

    /// <inheritdoc />
    public override FitResult Fit(ArrayRecord parameters, ConfigRecord config, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.ContainsKey(PrivacyNames.NoiseMultiplier))
        {
            throw new InvalidOperationException("DP-SGD is not available for TorchSharp modules; run the server without DP-SGD");
        }

        long round = config.GetLong(RecordNames.ServerRound, 0);
        var options = _defaults with
        {
            Epochs = (int)config.GetLong("local_epochs", _defaults.Epochs),
            BatchSize = (int)config.GetLong("batch_size", _defaults.BatchSize),
            LearningRate = config.GetDouble("lr", _defaults.LearningRate),
            Optimizer = LearningClient.ParseOptimizer(config.GetString("optimizer", null), _defaults.Optimizer),
            Momentum = config.GetDouble("momentum", _defaults.Momentum),
            WeightDecay = config.GetDouble("weight_decay", _defaults.WeightDecay),
            ProximalMu = config.GetDouble("proximal_mu", _defaults.ProximalMu),
            Seed = Seeds.Derive(_seed, _partitionId, round, "train"),
        };
        lock (Gate)
        {
            var module = Module();
            TorchStateDict.Load(module, parameters);
            var result = TorchTrainer.Train(module, _train, options, Loss, cancellationToken);
            return new FitResult(TorchStateDict.ToRecord(module), result.Examples, new MetricRecord { ["loss"] = result.Loss });
        }
    }

    /// <inheritdoc />
    public override EvaluateResult Evaluate(ArrayRecord parameters, ConfigRecord config, CancellationToken cancellationToken)
    {
        lock (Gate)
        {
            var module = Module();
            TorchStateDict.Load(module, parameters);
            var evaluation = TorchTrainer.Evaluate(module, _test, Loss, EvaluateBatchSize);
            var metrics = new MetricRecord();
            if (evaluation.Accuracy is { } accuracy)
            {
                metrics["accuracy"] = accuracy;
            }

            return new EvaluateResult(evaluation.Loss, evaluation.Examples, metrics);
        }
    }

    /// <summary>Disposes the module (not the datasets, which may be shared).</summary>
    public void Dispose()
    {
        lock (Gate)
        {
            _module?.Dispose();
            _module = null;
        }
    }

    private torch.nn.Module<TorchTensor, TorchTensor> Module()
    {
        if (_module is null)
        {
            torch.manual_seed(_seed);
            _module = _createModel();
        }

        return _module;
    }
}
