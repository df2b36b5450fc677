using Federate.Learning.Models;

namespace Federate.Learning.Internal;

/// <summary>
/// What <see cref="NetworkTrainer"/> needs from a built-in network (the dense models and <see cref="SequentialModel"/>):
/// its flat parameters, activation buffers for a batch, the forward pass, one training step and the clipped
/// per-example gradient sum of DP-SGD. The loops around them (shuffling, batching, FedProx, DP-SGD sampling and
/// noise, prediction) live once in the trainer.
/// </summary>
internal unsafe interface INetwork
{
    /// <summary>Features per example.</summary>
    int InputSize { get; }

    /// <summary>Number of classes (logits per example).</summary>
    int ClassCount { get; }

    /// <summary>Number of parameters.</summary>
    int ParameterCount { get; }

    /// <summary>The parameters as one flat vector, updated in place by training.</summary>
    Span<float> Parameters { get; }

    /// <summary>Examples per forward pass when predicting.</summary>
    int PredictChunk { get; }

    /// <summary>The largest batch the activation buffers hold now.</summary>
    int Capacity { get; }

    /// <summary>
    /// True when plain SGD updates the parameters inside the backward pass (w += -lr·g fused per layer) and DP-SGD
    /// steps as w += (-lr/E)·g; false when every step goes through the <see cref="OptimizerState"/>.
    /// </summary>
    bool FusesPlainSgd { get; }

    /// <summary>Makes the activation buffers hold <paramref name="batch"/> examples (with backward buffers when training).</summary>
    void Reserve(int batch, bool training);

    /// <summary>Inference-mode forward pass; returns the logits buffer (count x classes).</summary>
    float* Infer(float* x, int count);

    /// <summary>Seeds whatever is random within one step (dropout masks).</summary>
    void BeginStep(int seed, int epoch, int step);

    /// <summary>Forward pass to the softmax cross-entropy, scaled by <paramref name="scale"/>, leaving (p - onehot)·scale in the logits buffer; returns the mean loss.</summary>
    double ForwardLoss(float* x, ReadOnlySpan<int> y, int count, float scale, Span<float> losses);

    /// <summary>Backpropagates the loss left by <see cref="ForwardLoss"/> and updates the parameters: fused plain SGD when <paramref name="optimizer"/> is null.</summary>
    void BackwardStep(float* x, int count, OptimizerState? optimizer, float learningRate);

    /// <summary>DP-SGD: the sum of per-example gradients clipped to <paramref name="clip"/>, and each unclipped norm; returns the mean loss.</summary>
    double ClippedSum(float* x, ReadOnlySpan<int> y, int count, float clip, float* sum, float* norms);
}
