#if TORCHSHARP
using Federate.Learning;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using Tensor = TorchSharp.torch.Tensor;

/// <summary>The same networks in TorchSharp (libtorch), trained the same way: SGD lr 0.01 momentum 0.9, batch 64.</summary>
internal static class TorchSharpTrainer
{
    public static Module<Tensor, Tensor> Create(string name, int classes) => name switch
    {
        "cnn" => Sequential(
            Conv2d(1, 6, 5), ReLU(), MaxPool2d(2),
            Conv2d(6, 16, 5), ReLU(), MaxPool2d(2),
            Flatten(),
            Linear(256, 120), ReLU(), Linear(120, 84), ReLU(), Linear(84, classes)),
        "cnn-mcmahan" => Sequential(
            Conv2d(1, 32, 5, padding: 2), ReLU(), MaxPool2d(2),
            Conv2d(32, 64, 5, padding: 2), ReLU(), MaxPool2d(2),
            Flatten(),
            Linear(3136, 512), ReLU(), Linear(512, classes)),
        _ => throw new ArgumentException($"no TorchSharp twin for '{name}'"),
    };

    public static void SetThreads(int threads) => torch.set_num_threads(threads);

    /// <summary>Trains one epoch; returns the mean loss.</summary>
    public static double TrainEpoch(Module<Tensor, Tensor> model, Dataset data, int seed)
    {
        using var x = tensor(data.Features, [data.Count, 1, 28, 28]);
        using var y = tensor(data.Labels.Select(l => (long)l).ToArray(), [data.Count]);
        using var optimizer = optim.SGD(model.parameters(), 0.01, momentum: 0.9);
        torch.manual_seed(seed);
        using var order = randperm(data.Count);
        model.train();
        double loss = 0;
        int batches = 0;
        for (int start = 0; start < data.Count; start += 64)
        {
            using var scope = NewDisposeScope();
            var index = order.narrow(0, start, Math.Min(64, data.Count - start));
            var output = model.call(x.index_select(0, index));
            var l = functional.cross_entropy(output, y.index_select(0, index));
            optimizer.zero_grad();
            l.backward();
            optimizer.step();
            loss += l.item<float>();
            batches++;
        }

        return loss / batches;
    }
}
#endif
