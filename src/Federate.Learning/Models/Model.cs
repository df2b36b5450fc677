namespace Federate.Learning.Models;

/// <summary>
/// A built-in model: parameters as an <see cref="ArrayRecord"/>, local training and class probabilities.
/// Implementations are not thread-safe; each simulated client uses its own instance.
/// </summary>
public abstract class Model
{
    /// <summary>Number of input features.</summary>
    public abstract int InputSize { get; }

    /// <summary>Number of classes.</summary>
    public abstract int ClassCount { get; }

    /// <summary>Sets fresh parameters from a seed (same seed, same parameters).</summary>
    public abstract void Initialize(int seed);

    /// <summary>A copy of the parameters, tensors in a fixed order with fixed names.</summary>
    public abstract ArrayRecord GetParameters();

    /// <summary>Copies parameters in; throws <see cref="ArgumentException"/> naming the first mismatch in names, dtypes or shapes.</summary>
    public abstract void SetParameters(ArrayRecord parameters);

    /// <summary>Trains on <paramref name="data"/>.</summary>
    public abstract TrainResult Train(Dataset data, TrainOptions options, CancellationToken cancellationToken);

    /// <summary>Class probabilities, row-major Count x ClassCount (a segmentation model: one row per pixel, see <see cref="UNet.PredictProbabilities"/>).</summary>
    public abstract float[] PredictProbabilities(Dataset data);
}
