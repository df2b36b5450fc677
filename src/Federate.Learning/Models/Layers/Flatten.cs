namespace Federate.Learning.Models.Layers;

/// <summary>C x H x W to a vector of C·H·W features (channel-major, as PyTorch's <c>torch.flatten(x, 1)</c>).</summary>
internal sealed unsafe class Flatten : Layer
{
    /// <summary>Creates the layer.</summary>
    public Flatten(ImageShape input)
        : base(input, new ImageShape(input.Size, 1, 1))
    {
    }

    /// <inheritdoc />
    public override void Forward(float* p, float* x, float* y, int batch, bool training)
    {
        int n = batch * Input.Size;
        new ReadOnlySpan<float>(x, n).CopyTo(new Span<float>(y, n));
    }

    /// <inheritdoc />
    public override void BackwardInput(float* p, float* x, float* y, float* dy, float* dx, int batch)
    {
        int n = batch * Input.Size;
        new ReadOnlySpan<float>(dy, n).CopyTo(new Span<float>(dx, n));
    }
}
