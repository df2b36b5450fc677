namespace Federate.Learning.Models;

/// <summary>
/// A model trained by gradient descent whose gradients can be taken per example (for DP-SGD). Parameters are
/// seen as one flat vector in <see cref="Model.GetParameters"/> order.
/// </summary>
public abstract class DifferentiableModel : Model
{
    /// <summary>Total number of parameters.</summary>
    public abstract int ParameterCount { get; }

    /// <summary>Copies the parameters into a flat vector.</summary>
    public abstract void CopyParametersTo(Span<float> destination);

    /// <summary>Sets the parameters from a flat vector.</summary>
    public abstract void SetParametersFrom(ReadOnlySpan<float> source);

    /// <summary>
    /// Mean cross-entropy loss over a batch (rows of <paramref name="x"/>, FeatureCount each) and its gradient,
    /// written (not added) to <paramref name="gradient"/> (length ParameterCount).
    /// </summary>
    public abstract double LossAndGradient(ReadOnlySpan<float> x, ReadOnlySpan<int> y, Span<float> gradient);

    /// <summary>
    /// Per-example losses and gradients: row b of <paramref name="gradients"/> (ParameterCount values) is the
    /// gradient of example b's loss alone.
    /// </summary>
    public abstract void PerExampleGradients(ReadOnlySpan<float> x, ReadOnlySpan<int> y, Span<float> gradients, Span<float> losses);
}
