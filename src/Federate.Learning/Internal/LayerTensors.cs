using Federate.Learning.Models.Layers;
using Tensor = Federate.Core.Records.Tensor;

namespace Federate.Learning.Internal;

/// <summary>
/// The parameter tensors of a network built from <see cref="Layer"/>s (<see cref="SequentialModel"/>,
/// <see cref="UNet"/>): every layer's tensors in order, named "{layer}.{suffix}" as PyTorch's <c>state_dict</c>,
/// held in one flat buffer at the layer's offset.
/// </summary>
internal static class LayerTensors
{
    /// <summary>Every tensor in state_dict order: name, offset in the flat vector, shape.</summary>
    public static IEnumerable<(string Name, int Offset, int[] Shape)> Layout(IReadOnlyList<Layer> layers, IReadOnlyList<int> offsets)
    {
        for (int l = 0; l < layers.Count; l++)
        {
            int offset = offsets[l];
            foreach (var (suffix, shape) in layers[l].Tensors)
            {
                yield return ($"{layers[l].Name}.{suffix}", offset, shape);
                offset += shape.Aggregate(1, (a, b) => a * b);
            }
        }
    }

    /// <summary>A copy of the tensors of <paramref name="layout"/> read from <paramref name="parameters"/>.</summary>
    public static ArrayRecord Get(IEnumerable<(string Name, int Offset, int[] Shape)> layout, float[] parameters)
    {
        var record = new ArrayRecord();
        foreach (var (name, offset, shape) in layout)
        {
            int size = shape.Aggregate(1, (a, b) => a * b);
            record.Add(name, Tensor.FromArray(parameters.AsSpan(offset, size).ToArray(), [.. shape.Select(d => (long)d)]));
        }

        return record;
    }

    /// <summary>Copies <paramref name="parameters"/> into <paramref name="values"/>; throws <see cref="ArgumentException"/> naming the first mismatch in names, dtypes or shapes.</summary>
    public static void Set(IEnumerable<(string Name, int Offset, int[] Shape)> layout, ArrayRecord parameters, float[] values)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var tensors = layout.ToList();
        if (parameters.Count != tensors.Count)
        {
            throw new ArgumentException($"Model expects {tensors.Count} tensors, got {parameters.Count}.", nameof(parameters));
        }

        for (int t = 0; t < tensors.Count; t++)
        {
            var (name, _, shape) = tensors[t];
            string actualName = parameters.Names[t];
            if (actualName != name)
            {
                throw new ArgumentException($"Tensor {t} should be named '{name}', got '{actualName}'.", nameof(parameters));
            }

            var tensor = parameters[actualName];
            if (tensor.DType != DType.Float32 || !tensor.Shape.SequenceEqual(shape.Select(d => (long)d)))
            {
                throw new ArgumentException($"Tensor '{name}' should be Float32[{string.Join(",", shape)}], got {tensor}.", nameof(parameters));
            }
        }

        foreach (var (name, offset, _) in tensors)
        {
            parameters[name].AsSpan<float>().CopyTo(values.AsSpan(offset));
        }
    }

    /// <summary>Per-example losses and gradients by one <see cref="NetworkTrainer.LossAndGradient"/> per example (for tests and reference).</summary>
    public static void PerExampleGradients(INetwork net, ReadOnlySpan<float> x, ReadOnlySpan<int> y, Span<float> gradients, Span<float> losses)
    {
        int count = NetworkTrainer.CheckBatch(net, x, y);
        int p = net.ParameterCount;
        if (gradients.Length != (long)count * p)
        {
            throw new ArgumentException($"Gradients need {(long)count * p} elements ({count} x {p}), got {gradients.Length}.", nameof(gradients));
        }

        if (losses.Length != count)
        {
            throw new ArgumentException($"Losses need {count} elements, got {losses.Length}.", nameof(losses));
        }

        int inputSize = net.InputSize;
        for (int b = 0; b < count; b++)
        {
            losses[b] = (float)NetworkTrainer.LossAndGradient(net, x.Slice(b * inputSize, inputSize), y.Slice(b, 1), gradients.Slice(b * p, p));
        }
    }
}
