namespace Federate.Learning.Models.Layers;

/// <summary>
/// k x k max-pooling with stride k (PyTorch's <c>nn.MaxPool2d(k)</c>; rows and columns that do not fill a window are
/// dropped). The backward pass routes each output gradient to the first maximum of its window, as PyTorch does.
/// </summary>
internal sealed unsafe class MaxPool2d : Layer
{
    private readonly int _k;
    private int[] _argmax = [];

    /// <summary>Creates the layer.</summary>
    public MaxPool2d(ImageShape input, int kernel)
        : base(input, new ImageShape(input.Channels, input.Height / kernel, input.Width / kernel))
    {
        _k = kernel;
    }

    /// <inheritdoc />
    public override void Forward(float* p, float* x, float* y, int batch, bool training)
    {
        int outSize = Output.Size;
        if (_argmax.Length < batch * outSize)
        {
            _argmax = new int[batch * outSize];
        }

        int h = Input.Height;
        int w = Input.Width;
        int ho = Output.Height;
        int wo = Output.Width;
        int planes = batch * Input.Channels;
        int o = 0;
        for (int plane = 0; plane < planes; plane++)
        {
            long inBase = (long)plane * h * w;
            float* xp = x + inBase;
            for (int oh = 0; oh < ho; oh++)
            {
                for (int ow = 0; ow < wo; ow++, o++)
                {
                    int best = (oh * _k * w) + (ow * _k);
                    float max = xp[best];
                    for (int i = 0; i < _k; i++)
                    {
                        int rowStart = ((oh * _k) + i) * w;
                        for (int j = 0; j < _k; j++)
                        {
                            int at = rowStart + (ow * _k) + j;
                            if (xp[at] > max)
                            {
                                max = xp[at];
                                best = at;
                            }
                        }
                    }

                    y[o] = max;
                    _argmax[o] = best;
                }
            }
        }
    }

    /// <inheritdoc />
    public override void BackwardInput(float* p, float* x, float* y, float* dy, float* dx, int batch)
    {
        new Span<float>(dx, batch * Input.Size).Clear();
        int hw = Input.Height * Input.Width;
        int ohw = Output.Height * Output.Width;
        int planes = batch * Input.Channels;
        int o = 0;
        for (int plane = 0; plane < planes; plane++)
        {
            float* dxp = dx + ((long)plane * hw);
            for (int q = 0; q < ohw; q++, o++)
            {
                dxp[_argmax[o]] += dy[o];
            }
        }
    }
}
