using System.Numerics.Tensors;
using Federate.Learning.Internal;

namespace Federate.Learning.Models.Layers;

/// <summary>max(x, 0), element-wise; the gradient passes where the output is positive.</summary>
internal sealed unsafe class ReLU : Layer
{
    /// <summary>Creates the layer.</summary>
    public ReLU(ImageShape shape)
        : base(shape, shape)
    {
    }

    /// <inheritdoc />
    public override void Forward(float* p, float* x, float* y, int batch, bool training)
    {
        int n = batch * Input.Size;
        TensorPrimitives.Max(new ReadOnlySpan<float>(x, n), 0f, new Span<float>(y, n));
    }

    /// <inheritdoc />
    public override void BackwardInput(float* p, float* x, float* y, float* dy, float* dx, int batch)
    {
        int n = batch * Input.Size;
        new ReadOnlySpan<float>(dy, n).CopyTo(new Span<float>(dx, n));
        Gemm.MaskByPositive(dx, y, n);
    }
}
