using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using Federate.Learning.Internal;

namespace Federate.Learning.Models.Layers;

/// <summary>
/// 2-D convolution, stride 1, zero padding, as im2col plus the tiled GEMM. Tensors "weight" [out, in, k, k] and
/// "bias" [out], laid out as PyTorch's <c>nn.Conv2d</c>. Per example, im2col builds the K x L patch matrix
/// (K = in·k·k, L = output pixels) and the output is W [out, K] × cols [K, L] + bias. The weight gradient of
/// example b is dY_b [out, L] × cols_bᵀ [L, K]; DP-SGD materialises exactly that product per example for its norm
/// (it is small: out·K values), which for these shapes costs less than ghost clipping's L x L Gram matrices.
/// With 32 or more output channels and patches of 64 or more values the products run transposed (Yᵀ = colsᵀ Wᵀ, dWᵀ = cols dYᵀ), so the GEMM's
/// right-hand matrix is the small Wᵀ or dYᵀ, which stays in cache, instead of the large patch matrix.
/// </summary>
internal sealed unsafe class Conv2d : Layer
{
    private readonly string _name;
    private readonly int _out;
    private readonly int _kernel;
    private readonly int _padding;
    private readonly int _k;
    private readonly int _l;
    private float[]? _cols;
    private float[]? _colsT;
    private float[]? _example;
    private float[]? _wide;
    private float[]? _padded;

    /// <summary>Creates the layer.</summary>
    public Conv2d(string name, ImageShape input, int outChannels, int kernel, int padding)
        : base(input, new ImageShape(outChannels, input.Height + (2 * padding) - kernel + 1, input.Width + (2 * padding) - kernel + 1))
    {
        _name = name;
        _out = outChannels;
        _kernel = kernel;
        _padding = padding;
        _k = input.Channels * kernel * kernel;
        _l = Output.Height * Output.Width;
    }

    /// <inheritdoc />
    public override string? Name => _name;

    /// <inheritdoc />
    public override int ParameterCount => (_out * _k) + _out;

    /// <inheritdoc />
    public override IReadOnlyList<(string Suffix, int[] Shape)> Tensors => [("weight", [_out, Input.Channels, _kernel, _kernel]), ("bias", [_out])];

    /// <inheritdoc />
    public override void Initialize(Random random, Span<float> parameters) => UniformFanIn(random, _k, parameters);

    private bool Wide => _out >= 32 && _k >= 64;

    /// <inheritdoc />
    public override void Forward(float* p, float* x, float* y, int batch, bool training)
    {
        if (Wide)
        {
            ForwardWide(p, x, y, batch);
            return;
        }

        _cols = Scratch(_cols, (long)_k * _l);
        float* cols = Gemm.Pointer(_cols);
        float* bias = p + (_out * _k);
        int inSize = Input.Size;
        int outSize = Output.Size;
        for (int b = 0; b < batch; b++)
        {
            float* yb = y + ((long)b * outSize);
            for (int o = 0; o < _out; o++)
            {
                new Span<float>(yb + ((long)o * _l), _l).Fill(bias[o]);
            }

            if (_kernel == 1 && _padding == 0)
            {
                Gemm.Multiply(_out, _l, _k, 1f, p, _k, 1, x + ((long)b * inSize), _l, yb, _l, accumulate: true);
            }
            else
            {
                Im2Col(x + ((long)b * inSize), cols);
                Gemm.Multiply(_out, _l, _k, 1f, p, _k, 1, cols, _l, yb, _l, accumulate: true);
            }
        }
    }

    /// <inheritdoc />
    public override void BackwardInput(float* p, float* x, float* y, float* dy, float* dx, int batch)
    {
        _cols = Scratch(_cols, (long)_k * _l);
        float* dcols = Gemm.Pointer(_cols);
        int inSize = Input.Size;
        int outSize = Output.Size;
        for (int b = 0; b < batch; b++)
        {
            float* dxb = dx + ((long)b * inSize);

            // dcols [K, L] = Wᵀ [K, out] × dY_b [out, L]; then scatter the patches back.
            if (_kernel == 1 && _padding == 0)
            {
                Gemm.Multiply(_k, _l, _out, 1f, p, 1, _k, dy + ((long)b * outSize), _l, dxb, _l, accumulate: false);
            }
            else
            {
                Gemm.Multiply(_k, _l, _out, 1f, p, 1, _k, dy + ((long)b * outSize), _l, dcols, _l, accumulate: false);
                Col2Im(dcols, dxb);
            }
        }
    }

    /// <inheritdoc />
    public override void ParameterGradient(float* p, float* x, float* dy, int batch, float* grad)
    {
        if (Wide)
        {
            // dWᵀ [K, out] = Σ_b cols_b [K, L] × dY_bᵀ [L, out], transposed once at the end.
            _example = Scratch(_example, (long)_out * _k);
            float* gt = Gemm.Pointer(_example);
            for (int b = 0; b < batch; b++)
            {
                ExampleGradientTransposed(x, dy, b, gt, accumulate: b > 0);
            }

            Gemm.Transpose(gt, _k, _out, grad);
            BiasGradient(dy, batch, grad + (_out * _k));
            return;
        }

        float* gb = grad + (_out * _k);
        new Span<float>(gb, _out).Clear();
        for (int b = 0; b < batch; b++)
        {
            float* dyb = dy + ((long)b * Output.Size);
            float* colsT = PatchRows(x + ((long)b * Input.Size));
            Gemm.Multiply(_out, _k, _l, 1f, dyb, _l, 1, colsT, _k, grad, _k, accumulate: b > 0);
            for (int o = 0; o < _out; o++)
            {
                gb[o] += TensorPrimitives.Sum(new ReadOnlySpan<float>(dyb + ((long)o * _l), _l));
            }
        }
    }

    /// <inheritdoc />
    public override void AddPerExampleSquaredNorms(float* p, float* x, float* dy, int batch, float* norms)
    {
        _example = Scratch(_example, (long)_out * _k);
        float* g = Gemm.Pointer(_example);
        for (int b = 0; b < batch; b++)
        {
            float* dyb = dy + ((long)b * Output.Size);
            if (Wide)
            {
                ExampleGradientTransposed(x, dy, b, g, accumulate: false);
            }
            else
            {
                float* colsT = PatchRows(x + ((long)b * Input.Size));
                Gemm.Multiply(_out, _k, _l, 1f, dyb, _l, 1, colsT, _k, g, _k, accumulate: false);
            }

            float s = TensorPrimitives.SumOfSquares(new ReadOnlySpan<float>(g, _out * _k));
            for (int o = 0; o < _out; o++)
            {
                float bias = TensorPrimitives.Sum(new ReadOnlySpan<float>(dyb + ((long)o * _l), _l));
                s += bias * bias;
            }

            norms[b] += s;
        }
    }

    /// <summary>Yᵀ_b [L, out] = colsᵀ_b [L, K] × Wᵀ [K, out], transposed into Y_b, plus the bias.</summary>
    private void ForwardWide(float* p, float* x, float* y, int batch)
    {
        _wide = Scratch(_wide, ((long)_k * _out) + ((long)_l * _out));
        float* wt = Gemm.Pointer(_wide);
        float* yt = wt + ((long)_k * _out);
        Gemm.Transpose(p, _out, _k, wt);
        float* bias = p + (_out * _k);
        for (int b = 0; b < batch; b++)
        {
            float* colsT = PatchRows(x + ((long)b * Input.Size));
            Gemm.Multiply(_l, _out, _k, 1f, colsT, _k, 1, wt, _out, yt, _out, accumulate: false);
            float* yb = y + ((long)b * Output.Size);
            Gemm.Transpose(yt, _l, _out, yb);
            for (int o = 0; o < _out; o++)
            {
                var row = new Span<float>(yb + ((long)o * _l), _l);
                TensorPrimitives.Add(row, bias[o], row);
            }
        }
    }

    /// <summary>Example b's weight gradient transposed, Kx out: cols_b [K, L] × dY_bᵀ [L, out], written or added to <paramref name="gt"/>.</summary>
    private void ExampleGradientTransposed(float* x, float* dy, int b, float* gt, bool accumulate)
    {
        _wide = Scratch(_wide, ((long)_k * _out) + ((long)_l * _out));
        float* dyt = Gemm.Pointer(_wide) + ((long)_k * _out);
        float* xb = x + ((long)b * Input.Size);
        Gemm.Transpose(dy + ((long)b * Output.Size), _out, _l, dyt);
        if (_kernel == 1 && _padding == 0)
        {
            Gemm.Multiply(_k, _out, _l, 1f, xb, _l, 1, dyt, _out, gt, _out, accumulate);
        }
        else
        {
            // cols [K, L] read through its transpose: element (row, l) of cols is colsT[l·K + row].
            float* colsT = PatchRows(xb);
            Gemm.Multiply(_k, _out, _l, 1f, colsT, 1, _k, dyt, _out, gt, _out, accumulate);
        }
    }

    private void BiasGradient(float* dy, int batch, float* gb)
    {
        new Span<float>(gb, _out).Clear();
        for (int b = 0; b < batch; b++)
        {
            float* dyb = dy + ((long)b * Output.Size);
            for (int o = 0; o < _out; o++)
            {
                gb[o] += TensorPrimitives.Sum(new ReadOnlySpan<float>(dyb + ((long)o * _l), _l));
            }
        }
    }

    /// <summary>
    /// The patch matrix of one example transposed, L x K (one output pixel's receptive field per row), built directly:
    /// the image is copied once into a zero-bordered buffer, then every row is k-long runs of it, each copied with
    /// 8-wide vector moves (a run's last move may spill past it; the next run, written after it, overwrites that).
    /// </summary>
    private float* PatchRows(float* xb)
    {
        // Slack past the end for the last run's spill.
        _colsT = Scratch(_colsT, ((long)_k * _l) + Vector256<float>.Count);
        float* colsT = Gemm.Pointer(_colsT);
        if (_kernel == 1 && _padding == 0)
        {
            Gemm.Transpose(xb, _k, _l, colsT);
            return colsT;
        }

        int h = Input.Height;
        int w = Input.Width;
        int ph = h + (2 * _padding);
        int pw = w + (2 * _padding);
        int channels = Input.Channels;
        // Only the interior is ever written: the zero border of a new (zeroed) buffer stays.
        _padded = Scratch(_padded, ((long)channels * ph * pw) + Vector256<float>.Count);
        float* padded = Gemm.Pointer(_padded);

        for (int c = 0; c < channels; c++)
        {
            for (int ih = 0; ih < h; ih++)
            {
                new ReadOnlySpan<float>(xb + ((long)c * h * w) + (ih * w), w).CopyTo(new Span<float>(padded + ((long)c * ph * pw) + ((ih + _padding) * pw) + _padding, w));
            }
        }

        int ho = Output.Height;
        int wo = Output.Width;
        int k = _kernel;
        int step = Vector256<float>.Count;
        float* row = colsT;
        for (int oh = 0; oh < ho; oh++)
        {
            for (int ow = 0; ow < wo; ow++)
            {
                for (int c = 0; c < channels; c++)
                {
                    float* src = padded + ((long)c * ph * pw) + (oh * pw) + ow;
                    for (int i = 0; i < k; i++, row += k, src += pw)
                    {
                        for (int t = 0; t < k; t += step)
                        {
                            Vector256.Store(Vector256.Load(src + t), row + t);
                        }
                    }
                }
            }
        }

        return colsT;
    }

    /// <summary>cols[(c·k + i)·k + j, oh·Wo + ow] = x[c, oh + i - pad, ow + j - pad] (0 outside the image).</summary>
    private void Im2Col(float* x, float* cols) => Patches(x, cols, gather: true);

    /// <summary>The adjoint of <see cref="Im2Col"/>: dx = 0, then dx[c, ih, iw] += dcols[row, l] for every patch entry.</summary>
    private void Col2Im(float* dcols, float* dx)
    {
        new Span<float>(dx, Input.Size).Clear();
        Patches(dx, dcols, gather: false);
    }

    /// <summary>
    /// Walks every (channel, kernel row, kernel column, output row) strip of the patch matrix: gathering copies the
    /// image's pixels into <paramref name="cols"/> (zeros where the patch leaves the image); scattering adds the
    /// strip back onto the image.
    /// </summary>
    private void Patches(float* image, float* cols, bool gather)
    {
        int h = Input.Height;
        int w = Input.Width;
        int ho = Output.Height;
        int wo = Output.Width;
        int row = 0;
        for (int c = 0; c < Input.Channels; c++)
        {
            float* xc = image + ((long)c * h * w);
            for (int i = 0; i < _kernel; i++)
            {
                for (int j = 0; j < _kernel; j++, row++)
                {
                    int shift = j - _padding;
                    int ow0 = Math.Max(0, -shift);
                    int ow1 = Math.Min(wo, w - shift);
                    for (int oh = 0; oh < ho; oh++)
                    {
                        float* strip = cols + ((long)row * _l) + (oh * wo);
                        int ih = oh + i - _padding;
                        bool inside = (uint)ih < (uint)h && ow1 > ow0;
                        var pixels = inside ? new Span<float>(xc + (ih * w) + ow0 + shift, ow1 - ow0) : default;
                        if (!gather)
                        {
                            if (inside)
                            {
                                TensorPrimitives.Add(pixels, new ReadOnlySpan<float>(strip + ow0, ow1 - ow0), pixels);
                            }

                            continue;
                        }

                        if (!inside)
                        {
                            new Span<float>(strip, wo).Clear();
                            continue;
                        }

                        new Span<float>(strip, ow0).Clear();
                        pixels.CopyTo(new Span<float>(strip + ow0, ow1 - ow0));
                        new Span<float>(strip + ow1, wo - ow1).Clear();
                    }
                }
            }
        }
    }
}
