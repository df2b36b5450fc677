namespace Federate.Learning.Models.Layers;

/// <summary>
/// k x k pooling with stride k over each channel (PyTorch's <c>nn.MaxPool2d(k)</c> / <c>nn.AvgPool2d(k)</c>); rows
/// and columns that do not fill a window are dropped.
/// </summary>
internal abstract unsafe class Pool2d : Layer
{
    /// <summary>Creates the layer with window and stride <paramref name="kernel"/>.</summary>
    protected Pool2d(ImageShape input, int kernel)
        : base(input, new ImageShape(input.Channels, input.Height / kernel, input.Width / kernel))
    {
        K = kernel;
    }

    /// <summary>The window size and stride.</summary>
    protected int K { get; }

    /// <summary>Number of (example, channel) planes in a batch.</summary>
    protected int Planes(int batch) => batch * Input.Channels;

    /// <summary>Offset, within an input plane, of the first element of row <paramref name="i"/> of window (oh, ow).</summary>
    protected int WindowRow(int oh, int ow, int i) => ((((oh * K) + i) * Input.Width) + (ow * K));
}
