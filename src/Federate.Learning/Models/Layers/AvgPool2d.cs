namespace Federate.Learning.Models.Layers;

/// <summary>k x k average pooling with stride k (PyTorch's <c>nn.AvgPool2d(k)</c>; incomplete windows are dropped).</summary>
internal sealed unsafe class AvgPool2d : Layer
{
    private readonly int _k;

    /// <summary>Creates the layer.</summary>
    public AvgPool2d(ImageShape input, int kernel)
        : base(input, new ImageShape(input.Channels, input.Height / kernel, input.Width / kernel))
    {
        _k = kernel;
    }

    /// <inheritdoc />
    public override void Forward(float* p, float* x, float* y, int batch, bool training)
    {
        int w = Input.Width;
        int hw = Input.Height * w;
        int ho = Output.Height;
        int wo = Output.Width;
        float scale = 1f / (_k * _k);
        int planes = batch * Input.Channels;
        int o = 0;
        for (int plane = 0; plane < planes; plane++)
        {
            float* xp = x + ((long)plane * hw);
            for (int oh = 0; oh < ho; oh++)
            {
                for (int ow = 0; ow < wo; ow++, o++)
                {
                    float s = 0;
                    for (int i = 0; i < _k; i++)
                    {
                        float* r = xp + ((((oh * _k) + i) * w) + (ow * _k));
                        for (int j = 0; j < _k; j++)
                        {
                            s += r[j];
                        }
                    }

                    y[o] = s * scale;
                }
            }
        }
    }

    /// <inheritdoc />
    public override void BackwardInput(float* p, float* x, float* y, float* dy, float* dx, int batch)
    {
        new Span<float>(dx, batch * Input.Size).Clear();
        int w = Input.Width;
        int hw = Input.Height * w;
        int ho = Output.Height;
        int wo = Output.Width;
        float scale = 1f / (_k * _k);
        int planes = batch * Input.Channels;
        int o = 0;
        for (int plane = 0; plane < planes; plane++)
        {
            float* dxp = dx + ((long)plane * hw);
            for (int oh = 0; oh < ho; oh++)
            {
                for (int ow = 0; ow < wo; ow++, o++)
                {
                    float g = dy[o] * scale;
                    for (int i = 0; i < _k; i++)
                    {
                        float* r = dxp + ((((oh * _k) + i) * w) + (ow * _k));
                        for (int j = 0; j < _k; j++)
                        {
                            r[j] += g;
                        }
                    }
                }
            }
        }
    }
}
