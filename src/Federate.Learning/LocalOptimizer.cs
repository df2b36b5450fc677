namespace Federate.Learning;

/// <summary>The optimizer of local training (round config key <c>optimizer</c>: "sgd" or "adam").</summary>
public enum LocalOptimizer
{
    /// <summary>Stochastic gradient descent, with optional momentum and weight decay (PyTorch's <c>torch.optim.SGD</c>).</summary>
    Sgd,

    /// <summary>Adam with beta1 0.9, beta2 0.999, eps 1e-8 and optional L2 weight decay (PyTorch's <c>torch.optim.Adam</c>).</summary>
    Adam,
}
