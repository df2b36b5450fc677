using System.Numerics.Tensors;
using Federate.Core;
using Federate.Core.Privacy;
using Federate.Learning.Internal;

namespace Federate.Learning.Models;

/// <summary>
/// DP-SGD for the sequential models. Backpropagation is linear in the top delta, so every layer's output delta
/// row b is example b's alone; each parameter layer adds example b's squared gradient norm from its input and
/// output delta rows (a convolution materialises its small out x K per-example product, a linear layer uses the
/// outer-product identity, group norm its per-channel sums). Scaling those delta rows by the clip factor
/// min(1, C/‖g_b‖) then makes the ordinary batch gradient the sum of clipped per-example gradients.
/// </summary>
public sealed unsafe partial class SequentialModel
{
    private double ClippedSum(float* x, ReadOnlySpan<int> y, int count, float clip, float* sum, float* norms)
    {
        double loss = ForwardLoss(x, y, count, 1f, default);
        Backward(x, count, null);

        var norm = new Span<float>(norms, count);
        norm.Clear();
        for (int l = 0; l < _layers.Length; l++)
        {
            if (_layers[l].ParameterCount > 0)
            {
                _layers[l].AddPerExampleSquaredNorms(Parameters(l), Activation(l, x), Delta(l + 1), count, norms);
            }
        }

        TensorPrimitives.Sqrt(norm, norm);
        for (int l = 0; l < _layers.Length; l++)
        {
            if (_layers[l].ParameterCount == 0)
            {
                continue;
            }

            float* d = Delta(l + 1);
            NetworkTrainer.ClipRows(d, count, _layers[l].Output.Size, norm, clip);
            _layers[l].ParameterGradient(Parameters(l), Activation(l, x), d, count, sum + _offsets[l]);
        }

        return loss;
    }
}
