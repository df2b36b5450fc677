namespace Federate.Learning.Models.Layers;

/// <summary>k x k average pooling with stride k (PyTorch's <c>nn.AvgPool2d(k)</c>; incomplete windows are dropped).</summary>
internal sealed unsafe class AvgPool2d(ImageShape input, int kernel) : Pool2d(input, kernel)
{
    /// <inheritdoc />
    public override void Forward(float* p, float* x, float* y, int batch, bool training) => Pass(x, y, batch, forward: true);

    /// <inheritdoc />
    public override void BackwardInput(float* p, float* x, float* y, float* dy, float* dx, int batch)
    {
        new Span<float>(dx, batch * Input.Size).Clear();
        Pass(dx, dy, batch, forward: false);
    }

    /// <summary>
    /// Forward: pooled[o] = mean of window o of <paramref name="image"/>. Backward (the adjoint): every element of
    /// window o of <paramref name="image"/> gains pooled[o] / k².
    /// </summary>
    private void Pass(float* image, float* pooled, int batch, bool forward)
    {
        int hw = Input.Height * Input.Width;
        float scale = 1f / (K * K);
        int o = 0;
        for (int plane = 0; plane < Planes(batch); plane++)
        {
            float* ip = image + ((long)plane * hw);
            for (int oh = 0; oh < Output.Height; oh++)
            {
                for (int ow = 0; ow < Output.Width; ow++, o++)
                {
                    float s = 0;
                    float g = forward ? 0 : pooled[o] * scale;
                    for (int i = 0; i < K; i++)
                    {
                        float* r = ip + WindowRow(oh, ow, i);
                        for (int j = 0; j < K; j++)
                        {
                            if (forward)
                            {
                                s += r[j];
                            }
                            else
                            {
                                r[j] += g;
                            }
                        }
                    }

                    if (forward)
                    {
                        pooled[o] = s * scale;
                    }
                }
            }
        }
    }
}
