using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using Tensor = TorchSharp.torch.Tensor; // Federate.Core.Records.Tensor is a global using too

/// <summary>
/// NIID-Bench's simple CNN for 28x28 images (Li et al., ICDE 2022): conv 6@5x5, 2x2 max-pool, conv 16@5x5, 2x2
/// max-pool, fully connected 120, 84, 10. Its state_dict names (conv1.weight, ..., fc3.bias) are those of the PyTorch
/// original, so the weights load there too.
/// </summary>
internal sealed class FashionCnn : Module<Tensor, Tensor>
{
    private readonly Module<Tensor, Tensor> conv1 = Conv2d(1, 6, 5);
    private readonly Module<Tensor, Tensor> conv2 = Conv2d(6, 16, 5);
    private readonly Module<Tensor, Tensor> fc1 = Linear(16 * 4 * 4, 120);
    private readonly Module<Tensor, Tensor> fc2 = Linear(120, 84);
    private readonly Module<Tensor, Tensor> fc3 = Linear(84, 10);

    public FashionCnn()
        : base(nameof(FashionCnn)) => RegisterComponents();

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = functional.max_pool2d(functional.relu(conv1.call(input)), 2);
        x = functional.max_pool2d(functional.relu(conv2.call(x)), 2);
        x = functional.relu(fc1.call(x.flatten(1)));
        x = functional.relu(fc2.call(x));
        return fc3.call(x).MoveToOuterDisposeScope();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            conv1.Dispose();
            conv2.Dispose();
            fc1.Dispose();
            fc2.Dispose();
            fc3.Dispose();
        }

        base.Dispose(disposing);
    }
}
