using Federate.Core;
using Federate.Learning;
using TorchSharp;
using TorchTensor = TorchSharp.torch.Tensor;

namespace Federate.TorchSharp;

/// <summary>
/// Local training and evaluation of a TorchSharp module: shuffled minibatches, PyTorch's SGD (momentum, weight decay)
/// or Adam, FedProx's proximal term. Shuffling and everything random in the module (dropout) follow
/// <see cref="TrainOptions.Seed"/>, so with libtorch on one thread a seed gives the same model every time. A module
/// on another device (CUDA) trains there: each batch is moved to the device of its parameters.
/// </summary>
public static class TorchTrainer
{
    /// <summary>Cross-entropy on logits and int64 class indices (PyTorch's <c>F.cross_entropy</c>, mean over the batch).</summary>
    public static TorchTensor CrossEntropy(TorchTensor output, TorchTensor labels) => torch.nn.functional.cross_entropy(output, labels);

    /// <summary>
    /// Trains <paramref name="module"/> in place for epochs [<see cref="TrainOptions.StartEpoch"/>,
    /// <see cref="TrainOptions.Epochs"/>) on <paramref name="data"/> with <paramref name="loss"/> (a mean over the
    /// batch; default <see cref="CrossEntropy"/>). Epoch e shuffles with a seed derived from the options' seed and e.
    /// libtorch's generator is seeded per epoch the same way (dropout). Returns the mean loss over the last epoch, the
    /// examples (the FedAvg weight) and the optimizer steps.
    /// </summary>
    public static TrainResult Train(torch.nn.Module<TorchTensor, TorchTensor> module, TorchDataset data, TrainOptions options, Func<TorchTensor, TorchTensor, TorchTensor>? loss = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(options);
        if ((TrainOptions.ValidateOptimizer(options) ?? Validate(options)) is { } problem)
        {
            throw new ArgumentException(problem);
        }

        if (data.Count == 0)
        {
            throw new InvalidOperationException("this client has no local training data");
        }

        loss ??= CrossEntropy;
        var parameters = module.parameters().ToArray();
        using var optimizer = options.Optimizer == LocalOptimizer.Adam
            ? (torch.optim.Optimizer)torch.optim.Adam(parameters, options.LearningRate, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: options.WeightDecay)
            : torch.optim.SGD(parameters, options.LearningRate, momentum: options.Momentum, weight_decay: options.WeightDecay);
        var anchor = options.ProximalMu > 0 ? parameters.Select(p => p.detach().clone()).ToArray() : null;
        try
        {
            module.train();
            var device = DeviceOf(parameters);
            long n = data.Count;
            long steps = 0;
            double epochLoss = 0;
            for (int epoch = options.StartEpoch; epoch < options.Epochs; epoch++)
            {
                var order = new long[n];
                for (long i = 0; i < n; i++)
                {
                    order[i] = i;
                }

                new Random(Seeds.Derive(options.Seed, epoch, "shuffle")).Shuffle(order);
                torch.manual_seed(Seeds.Derive(options.Seed, epoch, "torch")); // dropout and other random modules
                using var permutation = torch.tensor(order);
                double sum = 0;
                for (long start = 0; start < n; start += options.BatchSize)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    using var scope = torch.NewDisposeScope();
                    long size = Math.Min(options.BatchSize, n - start);
                    var index = permutation.narrow(0, start, size);
                    var batchLoss = loss(module.call(OnDevice(data.Inputs.index_select(0, index), device)), OnDevice(data.Labels.index_select(0, index), device));
                    optimizer.zero_grad();
                    batchLoss.backward();
                    if (anchor is not null)
                    {
                        AddProximalGradient(parameters, anchor, options.ProximalMu);
                    }

                    optimizer.step();
                    sum += batchLoss.ToDouble() * size;
                    steps++;
                }

                epochLoss = sum / n;
            }

            return new TrainResult(epochLoss, n, steps);
        }
        finally
        {
            if (anchor is not null)
            {
                foreach (var a in anchor)
                {
                    a.Dispose();
                }
            }
        }
    }

    /// <summary>
    /// Evaluates <paramref name="module"/> on <paramref name="data"/> in batches without gradients: the mean loss
    /// (default <see cref="CrossEntropy"/>) and, for classification, the accuracy.
    /// </summary>
    public static TorchEvaluation Evaluate(torch.nn.Module<TorchTensor, TorchTensor> module, TorchDataset data, Func<TorchTensor, TorchTensor, TorchTensor>? loss = null, int batchSize = 256)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        if (data.Count == 0)
        {
            throw new InvalidOperationException("this client has no local test data");
        }

        loss ??= CrossEntropy;
        module.eval();
        using var noGrad = torch.no_grad();
        var device = DeviceOf([.. module.parameters()]);
        bool classes = data.Labels.dtype == torch.ScalarType.Int64 && data.Labels.dim() == 1;
        double sum = 0;
        long correct = 0;
        for (long start = 0; start < data.Count; start += batchSize)
        {
            using var scope = torch.NewDisposeScope();
            long size = Math.Min(batchSize, data.Count - start);
            var labels = OnDevice(data.Labels.narrow(0, start, size), device);
            var output = module.call(OnDevice(data.Inputs.narrow(0, start, size), device));
            sum += loss(output, labels).ToDouble() * size;
            classes &= output.dim() == 2;
            if (classes)
            {
                correct += output.argmax(1).eq(labels).sum().item<long>();
            }
        }

        return new TorchEvaluation(sum / data.Count, data.Count, classes ? (double)correct / data.Count : null);
    }

    /// <summary>The device of the module's parameters (a module moved to CUDA trains there; the data follows by batch).</summary>
    private static torch.Device? DeviceOf(global::TorchSharp.Modules.Parameter[] parameters) => parameters.Length > 0 ? parameters[0].device : null;

    private static TorchTensor OnDevice(TorchTensor batch, torch.Device? device) =>
        device is null || (batch.device_type == device.type && batch.device_index == device.index) ? batch : batch.to(device);

    private static void AddProximalGradient(global::TorchSharp.Modules.Parameter[] parameters, TorchTensor[] anchor, double mu)
    {
        // The gradient of (mu/2)·||w - w_start||² is mu·(w - w_start).
        using var noGrad = torch.no_grad();
        for (int i = 0; i < parameters.Length; i++)
        {
            if (parameters[i].grad is { } grad)
            {
                using var difference = parameters[i].detach().sub(anchor[i]);
                grad.add_(difference, alpha: mu);
            }
        }
    }

    private static string? Validate(TrainOptions options)
    {
        if (options.Epochs < 1 || options.BatchSize < 1)
        {
            return $"'local_epochs' and 'batch_size' must be at least 1, got {options.Epochs} and {options.BatchSize}";
        }

        if (options.DpSgd is not null)
        {
            return "DP-SGD is not available for TorchSharp modules; run without DP-SGD ('noise_multiplier') or use a built-in model";
        }

        return options.ProximalMu < 0 ? $"'proximal_mu' must be non-negative, got {options.ProximalMu}" : null;
    }
}
