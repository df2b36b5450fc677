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
    public override void Forward(float* p, float* x, float* y, int batch, bool training)
    {
        int w = Input.Width;
        int wo = Output.Width;
        int planes = batch * Input.Channels;
        for (int plane = 0; plane < planes; plane++)
        {
            float* xp = x + ((long)plane * Input.Height * w);
            float* yp = y + ((long)plane * Output.Height * wo);
            for (int i = 0; i < Input.Height; i++)
            {
                // Widen input row i once, then copy it to the other s - 1 output rows.
                float* first = yp + ((long)i * _factor * wo);
                for (int j = 0; j < w; j++)
                {
                    new Span<float>(first + (j * _factor), _factor).Fill(xp[(i * w) + j]);
                }

                for (int r = 1; r < _factor; r++)
                {
                    new ReadOnlySpan<float>(first, wo).CopyTo(new Span<float>(first + ((long)r * wo), wo));
                }
            }
        }
    }

    /// <inheritdoc />
    public override void BackwardInput(float* p, float* x, float* y, float* dy, float* dx, int batch)
    {
        int w = Input.Width;
        int wo = Output.Width;
        int planes = batch * Input.Channels;
        for (int plane = 0; plane < planes; plane++)
        {
            float* dxp = dx + ((long)plane * Input.Height * w);
            float* dyp = dy + ((long)plane * Output.Height * wo);
            for (int i = 0; i < Input.Height; i++)
            {
                for (int j = 0; j < w; j++)
                {
                    float s = 0;
                    for (int r = 0; r < _factor; r++)
                    {
                        float* row = dyp + ((long)((i * _factor) + r) * wo) + (j * _factor);
                        for (int c = 0; c < _factor; c++)
                        {
                            s += row[c];
                        }
                    }

                    dxp[(i * w) + j] = s;
                }
            }
        }
    }
}
