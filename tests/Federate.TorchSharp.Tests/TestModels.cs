using System.Runtime.CompilerServices;
using TorchSharp;
using TorchTensor = TorchSharp.torch.Tensor;

// libtorch's random generator and thread count are process-wide: the tests run one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace Federate.TorchSharp.Tests;

/// <summary>Small TorchSharp networks for the digits dataset (8x8 images, 10 classes).</summary>
internal static class TestModels
{
    /// <summary>One libtorch thread: reductions then run in one order, so a seed gives the same model.</summary>
    [ModuleInitializer]
    internal static void OneThread() => torch.set_num_threads(1);

    /// <summary>conv 4@3x3, ReLU, 2x2 max-pool, fully connected 10 (state_dict: conv.*, fc.*).</summary>
    public static torch.nn.Module<TorchTensor, TorchTensor> Cnn(int hidden = 4) => torch.nn.Sequential(
        ("conv", torch.nn.Conv2d(1, hidden, 3)),
        ("relu", torch.nn.ReLU()),
        ("pool", torch.nn.MaxPool2d(2)),
        ("flatten", torch.nn.Flatten()),
        ("fc", torch.nn.Linear(hidden * 3 * 3, 10)));

    /// <summary>
    /// A network with buffers of two dtypes (BatchNorm's float running statistics and int64 batch count) and a nested
    /// block, so PyTorch's state_dict order (module by module) differs from "all parameters, then all buffers".
    /// </summary>
    public static torch.nn.Module<TorchTensor, TorchTensor> CnnWithBatchNorm() => torch.nn.Sequential(
        ("conv", torch.nn.Conv2d(1, 2, 3)),
        ("block", torch.nn.Sequential(("bn", torch.nn.BatchNorm2d(2)), ("relu", torch.nn.ReLU()))),
        ("flatten", torch.nn.Flatten()),
        ("fc", torch.nn.Linear(2 * 6 * 6, 10)));

    /// <summary>NIID-Bench's simple CNN with PyTorch's attribute names (conv1, conv2, fc1, fc2, fc3), as Federate's 'cnn'.</summary>
    public static torch.nn.Module<TorchTensor, TorchTensor> NiidBenchCnn() => torch.nn.Sequential(
        ("conv1", torch.nn.Conv2d(1, 6, 5)),
        ("relu1", torch.nn.ReLU()),
        ("pool1", torch.nn.MaxPool2d(2)),
        ("conv2", torch.nn.Conv2d(6, 16, 5)),
        ("relu2", torch.nn.ReLU()),
        ("pool2", torch.nn.MaxPool2d(2)),
        ("flatten", torch.nn.Flatten()),
        ("fc1", torch.nn.Linear(256, 120)),
        ("relu3", torch.nn.ReLU()),
        ("fc2", torch.nn.Linear(120, 84)),
        ("relu4", torch.nn.ReLU()),
        ("fc3", torch.nn.Linear(84, 10)));
}
