using TorchSharp;
using TorchTensor = TorchSharp.torch.Tensor;

namespace Federate.TorchSharp;

/// <summary>
/// A client's local examples as libtorch tensors: inputs with the examples along the first dimension, and one label
/// per example (class indices as int64 for classification, or any target the loss function takes).
/// </summary>
public sealed class TorchDataset : IDisposable
{
    /// <summary>Wraps tensors that hold one example per row of their first dimension (not copied; disposed with this).</summary>
    public TorchDataset(TorchTensor inputs, TorchTensor labels)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(labels);
        if (inputs.dim() == 0 || labels.dim() == 0 || inputs.shape[0] != labels.shape[0])
        {
            throw new ArgumentException($"inputs [{string.Join(",", inputs.shape)}] and labels [{string.Join(",", labels.shape)}] must hold the same number of examples along their first dimension", nameof(labels));
        }

        Inputs = inputs;
        Labels = labels;
    }

    /// <summary>The inputs, examples along the first dimension.</summary>
    public TorchTensor Inputs { get; }

    /// <summary>The targets, one per example.</summary>
    public TorchTensor Labels { get; }

    /// <summary>Number of examples.</summary>
    public long Count => Inputs.shape[0];

    /// <summary>
    /// Copies a Federate <see cref="Dataset"/> (e.g. one partition of Fashion-MNIST from <see cref="Federate.Learning.FederatedDataset"/>)
    /// into float32 inputs of shape [count, <paramref name="exampleShape"/>] and int64 class labels. Without
    /// <paramref name="exampleShape"/> each example is a vector of the dataset's features; for 28x28 images pass
    /// <c>1, 28, 28</c>.
    /// </summary>
    public static TorchDataset FromDataset(Dataset data, params long[] exampleShape)
    {
        ArgumentNullException.ThrowIfNull(data);
        exampleShape = exampleShape is { Length: > 0 } ? exampleShape : [data.FeatureCount];
        long perExample = exampleShape.Aggregate(1L, (a, b) => a * b);
        if (perExample != data.FeatureCount)
        {
            throw new ArgumentException($"an example of shape [{string.Join(",", exampleShape)}] holds {perExample} values, but dataset '{data.Name}' has {data.FeatureCount} features per example", nameof(exampleShape));
        }

        var inputs = torch.tensor(data.Features, [data.Count, .. exampleShape]);
        var labels = torch.tensor(Array.ConvertAll(data.Labels, l => (long)l), [data.Count]);
        return new TorchDataset(inputs, labels);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Inputs.Dispose();
        Labels.Dispose();
    }
}
