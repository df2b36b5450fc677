using System.Numerics.Tensors;

namespace Federate.Learning.Models.Layers;

/// <summary>
/// Nearest-neighbour upsampling by an integer factor s (PyTorch's <c>nn.Upsample(scale_factor=s, mode="nearest")</c>):
/// output pixel (i, j) of each channel copies input pixel (i / s, j / s). The input gradient sums each s x s block of
/// the output gradient.
/// </summary>
internal sealed unsafe class Upsample2d : Layer
{
    private readonly int _factor;

    /// <summary>Creates the layer.</summary>
    public Upsample2d(ImageShape input, int factor)
        : base(input, new ImageShape(input.Channels, input.Height * factor, input.Width * factor))
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(factor, 1);
        _factor = factor;
    }

    /// <inheritdoc />
    public override void Forward(float* p, float* x, float* y, int batch, bool training) => Blocks(x, y, batch, forward: true);

    /// <inheritdoc />
    public override void BackwardInput(float* p, float* x, float* y, float* dy, float* dx, int batch) => Blocks(dx, dy, batch, forward: false);

    /// <summary>
    /// Walks every input pixel with its s x s output block: forward fills the block with the pixel's value; backward
    /// writes the block's sum to the pixel.
    /// </summary>
    private void Blocks(float* small, float* large, int batch, bool forward)
    {
        int w = Input.Width;
        int wo = Output.Width;
        int s = _factor;
        int planes = batch * Input.Channels;
        for (int plane = 0; plane < planes; plane++)
        {
            float* sp = small + ((long)plane * Input.Height * w);
            float* lp = large + ((long)plane * Output.Height * wo);
            for (int i = 0; i < Input.Height; i++)
            {
                for (int j = 0; j < w; j++)
                {
                    float* block = lp + ((long)i * s * wo) + (j * s);
                    float sum = 0;
                    for (int r = 0; r < s; r++)
                    {
                        var row = new Span<float>(block + ((long)r * wo), s);
                        if (forward)
                        {
                            row.Fill(sp[(i * w) + j]);
                        }
                        else
                        {
                            sum += TensorPrimitives.Sum<float>(row);
                        }
                    }

                    if (!forward)
                    {
                        sp[(i * w) + j] = sum;
                    }
                }
            }
        }
    }
}
