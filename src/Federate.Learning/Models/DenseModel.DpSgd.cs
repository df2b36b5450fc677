using System.Numerics.Tensors;
using Federate.Core;
using Federate.Core.Privacy;
using Federate.Learning.Internal;

namespace Federate.Learning.Models;

/// <summary>
/// DP-SGD for the dense models. Per-example gradients are never materialised: for a dense layer the gradient of
/// example b is the outer product a_b ⊗ d_b (input row, output delta) plus the bias d_b, so its squared norm is
/// (‖a_b‖² + 1)·‖d_b‖². The deltas of all layers are linear in the top delta (ReLU masks do not depend on its scale),
/// so scaling example b's delta rows by its clip factor clips its whole gradient, and the clipped sum is then one
/// GEMM per layer, exactly like the plain gradient.
/// </summary>
internal abstract unsafe partial class DenseModel
{
    private double ClippedSum(float* x, ReadOnlySpan<int> y, int count, float clip, float* sum, float* norms)
    {
        double loss = ForwardLoss(x, y, count, 1f, default);
        Backward(x, count, BackwardMode.DeltasOnly, null, 0);

        // Squared per-example norms, layer by layer: (||a_b||^2 + 1) * ||d_b||^2.
        var norm = new Span<float>(norms, count);
        norm.Clear();
        for (int l = 0; l < _layers; l++)
        {
            int fanIn = _sizes[l];
            int fanOut = _sizes[l + 1];
            float* input = l == 0 ? x : Gemm.Pointer(_act[l]);
            float* d = Delta(l + 1);
            for (int b = 0; b < count; b++)
            {
                float a2 = TensorPrimitives.SumOfSquares(new ReadOnlySpan<float>(input + ((long)b * fanIn), fanIn));
                float d2 = TensorPrimitives.SumOfSquares(new ReadOnlySpan<float>(d + ((long)b * fanOut), fanOut));
                norm[b] += (a2 + 1f) * d2;
            }
        }

        TensorPrimitives.Sqrt(norm, norm);

        // Scale each example's delta rows by its clip factor min(1, C / ||g_b||), then sum with one GEMM per layer.
        for (int l = 0; l < _layers; l++)
        {
            NetworkTrainer.ClipRows(Delta(l + 1), count, _sizes[l + 1], norm, clip);
        }

        for (int l = 0; l < _layers; l++)
        {
            int fanIn = _sizes[l];
            int fanOut = _sizes[l + 1];
            float* input = l == 0 ? x : Gemm.Pointer(_act[l]);
            float* d = Delta(l + 1);
            Gemm.Multiply(fanIn, fanOut, count, 1f, input, 1, fanIn, d, fanOut, sum + _weightOffset[l], fanOut, accumulate: false);
            Gemm.ColumnSums(d, count, fanOut, sum + _biasOffset[l]);
        }

        return loss;
    }
}
