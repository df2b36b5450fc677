namespace Federate.Learning.Models;

/// <summary>Hyperparameters of local training.</summary>
public sealed record TrainOptions
{
    /// <summary>Passes over the local data. Default 1.</summary>
    public int Epochs { get; set; } = 1;

    /// <summary>Examples per step. Default 32.</summary>
    public int BatchSize { get; set; } = 32;

    /// <summary>SGD learning rate. Default 0.05.</summary>
    public double LearningRate { get; set; } = 0.05;

    /// <summary>The update rule: SGD (the default) or Adam. Gradient models only; others ignore it.</summary>
    public LocalOptimizer Optimizer { get; set; } = LocalOptimizer.Sgd;

    /// <summary>SGD momentum in [0, 1) (PyTorch semantics, no dampening). 0 (the default) is plain SGD.</summary>
    public double Momentum { get; set; }

    /// <summary>L2 weight decay added to the gradient (wd·w), as PyTorch's optimizers do. 0 by default.</summary>
    public double WeightDecay { get; set; }

    /// <summary>Seed for shuffling (and anything else random in training).</summary>
    public int Seed { get; set; }

    /// <summary>
    /// FedProx proximal weight mu: gradient models add (mu/2)·||w - w_start||² to the loss, pulling local training
    /// towards the model it started from. 0 (the default) disables it.
    /// </summary>
    public double ProximalMu { get; set; }

    /// <summary>
    /// The first epoch to run (0 by default). Epoch e shuffles with a seed derived from <see cref="Seed"/> and e, so
    /// training epochs [k, Epochs) after a checkpoint at k gives the same model as an uninterrupted run.
    /// </summary>
    public int StartEpoch { get; set; }

    /// <summary>The model the FedProx term pulls towards; null means the parameters at the start of this call.</summary>
    public float[]? ProximalAnchor { get; set; }

    /// <summary>
    /// DP-SGD (Poisson sampling, per-example clipping, Gaussian noise); null (the default) trains with plain SGD.
    /// Only gradient models (<see cref="DifferentiableModel"/>) support it; <see cref="LearningClient"/> refuses it for others.
    /// </summary>
    public DpSgdOptions? DpSgd { get; set; }

    /// <summary>
    /// Writes the optimizer settings that differ from plain SGD to a round config as <c>optimizer</c>, <c>momentum</c>
    /// and <c>weight_decay</c> (what <see cref="LearningClient"/> reads), so a default run's config is unchanged.
    /// </summary>
    public void AddOptimizerTo(ConfigRecord config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (Optimizer != LocalOptimizer.Sgd)
        {
            config["optimizer"] = Optimizer.ToString().ToLowerInvariant();
        }

        if (Momentum != 0)
        {
            config["momentum"] = Momentum;
        }

        if (WeightDecay != 0)
        {
            config["weight_decay"] = WeightDecay;
        }
    }

    /// <summary>Checks <see cref="Optimizer"/>, <see cref="Momentum"/> and <see cref="WeightDecay"/>; returns a one-line problem or null.</summary>
    public static string? ValidateOptimizer(TrainOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return Internal.OptimizerState.Validate(options);
    }
}
