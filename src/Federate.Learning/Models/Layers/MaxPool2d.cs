using System.Numerics.Tensors;

namespace Federate.Learning.Models.Layers;

/// <summary>
/// k x k max-pooling with stride k (PyTorch's <c>nn.MaxPool2d(k)</c>; rows and columns that do not fill a window are
/// dropped). The forward pass keeps no indices and has no data-dependent branches (a random image makes "is this the
/// new maximum?" a coin flip the branch predictor loses); the backward pass finds each window's maximum again from
/// the input and the output and routes the gradient to its first occurrence, as PyTorch does.
/// </summary>
internal sealed unsafe class MaxPool2d(ImageShape input, int kernel) : Pool2d(input, kernel)
{
    private float[]? _rowMax;

    /// <inheritdoc />
    public override void Forward(float* p, float* x, float* y, int batch, bool training)
    {
        int h = Input.Height;
        int w = Input.Width;
        int ho = Output.Height;
        int wo = Output.Width;
        int planes = batch * Input.Channels;
        _rowMax = Scratch(_rowMax, w);
        var rowMax = _rowMax.AsSpan(0, w);
        for (int plane = 0; plane < planes; plane++)
        {
            float* xp = x + ((long)plane * h * w);
            float* yp = y + ((long)plane * ho * wo);
            for (int oh = 0; oh < ho; oh++)
            {
                // Element-wise maximum of the window's k rows (vectorised), then of each k columns.
                float* r = xp + (oh * K * w);
                new ReadOnlySpan<float>(r, w).CopyTo(rowMax);
                for (int i = 1; i < K; i++)
                {
                    TensorPrimitives.Max(rowMax, new ReadOnlySpan<float>(r + (i * w), w), rowMax);
                }

                float* yr = yp + (oh * wo);
                for (int ow = 0; ow < wo; ow++)
                {
                    float m = rowMax[ow * K];
                    for (int j = 1; j < K; j++)
                    {
                        m = MathF.Max(m, rowMax[(ow * K) + j]);
                    }

                    yr[ow] = m;
                }
            }
        }
    }

    /// <inheritdoc />
    public override void BackwardInput(float* p, float* x, float* y, float* dy, float* dx, int batch)
    {
        new Span<float>(dx, batch * Input.Size).Clear();
        int hw = Input.Height * Input.Width;
        int o = 0;
        for (int plane = 0; plane < Planes(batch); plane++)
        {
            float* xp = x + ((long)plane * hw);
            float* dxp = dx + ((long)plane * hw);
            for (int oh = 0; oh < Output.Height; oh++)
            {
                for (int ow = 0; ow < Output.Width; ow++, o++)
                {
                    float m = y[o];
                    int at = WindowRow(oh, ow, 0);
                    if (K == 2)
                    {
                        // The first of the four in row-major order that holds the maximum (the first when none does:
                        // NaN), without branches: which of the four it is is a coin flip the branch predictor loses.
                        int r1 = WindowRow(oh, ow, 1);
                        int pick = xp[r1 + 1] == m ? r1 + 1 : at;
                        pick = xp[r1] == m ? r1 : pick;
                        pick = xp[at + 1] == m ? at + 1 : pick;
                        pick = xp[at] == m ? at : pick;
                        dxp[pick] += dy[o];
                        continue;
                    }

                    for (int i = 0; i < K; i++)
                    {
                        int rowStart = WindowRow(oh, ow, i);
                        int j = 0;
                        while (j < K && xp[rowStart + j] != m)
                        {
                            j++;
                        }

                        if (j < K)
                        {
                            at = rowStart + j;
                            break;
                        }
                    }

                    dxp[at] += dy[o];
                }
            }
        }
    }
}
