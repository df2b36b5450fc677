using System.Numerics.Tensors;

namespace Federate.Learning.Models.Layers;

/// <summary>
/// Group normalisation (Wu and He 2018), PyTorch's <c>nn.GroupNorm(groups, channels)</c> with eps 1e-5: each
/// example's channels are split into groups, each group is normalised by its own mean and (biased) variance, then
/// scaled by "weight" [C] (initially 1) and shifted by "bias" [C] (initially 0). It uses no batch statistics, so
/// every example's gradient depends on that example alone, which DP-SGD needs (BatchNorm does not qualify).
/// </summary>
internal sealed unsafe class GroupNorm : Layer
{
    private const float Epsilon = 1e-5f;

    private readonly string _name;
    private readonly int _groups;
    private readonly int _channels;
    private readonly int _hw;
    private float[] _mean = [];
    private float[] _rstd = [];
    private float[]? _xhat;

    /// <summary>Creates the layer; <paramref name="groups"/> must divide the channel count.</summary>
    public GroupNorm(string name, ImageShape shape, int groups)
        : base(shape, shape)
    {
        if (groups < 1 || shape.Channels % groups != 0)
        {
            throw new ArgumentException($"{groups} groups do not divide {shape.Channels} channels", nameof(groups));
        }

        _name = name;
        _groups = groups;
        _channels = shape.Channels;
        _hw = shape.Height * shape.Width;
    }

    /// <inheritdoc />
    public override string? Name => _name;

    /// <inheritdoc />
    public override int ParameterCount => 2 * _channels;

    /// <inheritdoc />
    public override IReadOnlyList<(string Suffix, int[] Shape)> Tensors => [("weight", [_channels]), ("bias", [_channels])];

    /// <inheritdoc />
    public override void Initialize(Random random, Span<float> parameters)
    {
        parameters[.._channels].Fill(1f);
        parameters[_channels..].Clear();
    }

    /// <inheritdoc />
    public override void Forward(float* p, float* x, float* y, int batch, bool training)
    {
        if (_mean.Length < batch * _groups)
        {
            _mean = new float[batch * _groups];
            _rstd = new float[batch * _groups];
        }

        int perGroup = _channels / _groups * _hw;
        for (int b = 0; b < batch; b++)
        {
            for (int g = 0; g < _groups; g++)
            {
                long start = ((long)b * Input.Size) + ((long)g * perGroup);
                var xs = new ReadOnlySpan<float>(x + start, perGroup);
                float mean = TensorPrimitives.Sum(xs) / perGroup;
                double var = 0;
                for (int i = 0; i < perGroup; i++)
                {
                    double d = xs[i] - mean;
                    var += d * d;
                }

                float rstd = (float)(1.0 / Math.Sqrt((var / perGroup) + Epsilon));
                _mean[(b * _groups) + g] = mean;
                _rstd[(b * _groups) + g] = rstd;
            }

            for (int c = 0; c < _channels; c++)
            {
                int g = c / (_channels / _groups);
                long start = ((long)b * Input.Size) + ((long)c * _hw);
                float mean = _mean[(b * _groups) + g];
                float rstd = _rstd[(b * _groups) + g];
                float scale = p[c] * rstd;
                float shift = p[_channels + c] - (mean * scale);
                var ys = new Span<float>(y + start, _hw);
                TensorPrimitives.Multiply(new ReadOnlySpan<float>(x + start, _hw), scale, ys);
                TensorPrimitives.Add(ys, shift, ys);
            }
        }
    }

    /// <inheritdoc />
    public override void BackwardInput(float* p, float* x, float* y, float* dy, float* dx, int batch)
    {
        int cpg = _channels / _groups;
        int perGroup = cpg * _hw;
        _xhat = Scratch(_xhat, perGroup);
        var xhat = _xhat.AsSpan(0, perGroup);
        for (int b = 0; b < batch; b++)
        {
            for (int g = 0; g < _groups; g++)
            {
                long start = ((long)b * Input.Size) + ((long)g * perGroup);
                float rstd = _rstd[(b * _groups) + g];
                Normalise(x + start, _mean[(b * _groups) + g], rstd, xhat);

                // dxhat = dy·gamma; dx = rstd·(dxhat - mean(dxhat) - xhat·mean(dxhat·xhat)).
                var dxs = new Span<float>(dx + start, perGroup);
                for (int c = 0; c < cpg; c++)
                {
                    TensorPrimitives.Multiply(new ReadOnlySpan<float>(dy + start + ((long)c * _hw), _hw), p[(g * cpg) + c], dxs.Slice(c * _hw, _hw));
                }

                float meanD = TensorPrimitives.Sum(dxs) / perGroup;
                float meanDx = TensorPrimitives.Dot(dxs, xhat) / perGroup;
                TensorPrimitives.MultiplyAdd(xhat, -meanDx, dxs, dxs);
                TensorPrimitives.Add(dxs, -meanD, dxs);
                TensorPrimitives.Multiply(dxs, rstd, dxs);
            }
        }
    }

    /// <inheritdoc />
    public override void ParameterGradient(float* p, float* x, float* dy, int batch, float* grad)
    {
        new Span<float>(grad, 2 * _channels).Clear();
        for (int b = 0; b < batch; b++)
        {
            ExampleGradient(x, dy, b, grad, accumulate: true);
        }
    }

    /// <inheritdoc />
    public override void AddPerExampleSquaredNorms(float* p, float* x, float* dy, int batch, float* norms)
    {
        float* g = stackalloc float[2 * _channels];
        for (int b = 0; b < batch; b++)
        {
            ExampleGradient(x, dy, b, g, accumulate: false);
            norms[b] += TensorPrimitives.SumOfSquares(new ReadOnlySpan<float>(g, 2 * _channels));
        }
    }

    private void ExampleGradient(float* x, float* dy, int b, float* grad, bool accumulate)
    {
        int cpg = _channels / _groups;
        _xhat = Scratch(_xhat, _hw);
        var xhat = _xhat.AsSpan(0, _hw);
        for (int c = 0; c < _channels; c++)
        {
            int g = c / cpg;
            long start = ((long)b * Input.Size) + ((long)c * _hw);
            Normalise(x + start, _mean[(b * _groups) + g], _rstd[(b * _groups) + g], xhat);
            var d = new ReadOnlySpan<float>(dy + start, _hw);
            float dGamma = TensorPrimitives.Dot(d, xhat);
            float dBeta = TensorPrimitives.Sum(d);
            grad[c] = accumulate ? grad[c] + dGamma : dGamma;
            grad[_channels + c] = accumulate ? grad[_channels + c] + dBeta : dBeta;
        }
    }

    private static void Normalise(float* x, float mean, float rstd, Span<float> xhat)
    {
        var xs = new ReadOnlySpan<float>(x, xhat.Length);
        TensorPrimitives.Subtract(xs, mean, xhat);
        TensorPrimitives.Multiply(xhat, rstd, xhat);
    }
}
