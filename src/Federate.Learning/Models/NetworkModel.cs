using Federate.Learning.Internal;

namespace Federate.Learning.Models;

/// <summary>
/// The built-in neural networks (softmax regression, MLPs, <see cref="SequentialModel"/>): parameters in one flat
/// float32 vector, trained by <c>NetworkTrainer</c>'s shared loops (minibatch SGD or the configured optimizer,
/// FedProx, DP-SGD with exact per-example clipping) and predicted in chunks. Only Federate.Learning derives from it.
/// </summary>
public abstract class NetworkModel : DifferentiableModel
{
    private readonly TrainingBuffers _buffers = new();

    private protected NetworkModel()
    {
    }

    private INetwork Network => (INetwork)this;

    /// <inheritdoc />
    public sealed override void CopyParametersTo(Span<float> destination) => NetworkTrainer.CopyParametersTo(Network, destination);

    /// <inheritdoc />
    public sealed override void SetParametersFrom(ReadOnlySpan<float> source) => NetworkTrainer.SetParametersFrom(Network, source);

    /// <inheritdoc />
    public sealed override double LossAndGradient(ReadOnlySpan<float> x, ReadOnlySpan<int> y, Span<float> gradient) =>
        NetworkTrainer.LossAndGradient(Network, x, y, gradient);

    /// <inheritdoc />
    public sealed override TrainResult Train(Dataset data, TrainOptions options, CancellationToken cancellationToken) =>
        NetworkTrainer.Train(Network, _buffers, data, options, cancellationToken);

    /// <inheritdoc />
    public override float[] PredictProbabilities(Dataset data) => NetworkTrainer.PredictProbabilities(Network, data);

    /// <summary>
    /// The sum over the batch of every example's gradient clipped to norm <paramref name="clip"/>, written to
    /// <paramref name="sum"/>; each example's unclipped gradient norm goes to <paramref name="norms"/>. Returns the
    /// mean loss.
    /// </summary>
    internal double ClippedGradientSum(ReadOnlySpan<float> x, ReadOnlySpan<int> y, float clip, Span<float> sum, Span<float> norms) =>
        NetworkTrainer.ClippedGradientSum(Network, x, y, clip, sum, norms);
}
