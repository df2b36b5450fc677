using System.Numerics.Tensors;
using Federate.Learning.Internal;

namespace Federate.Learning.Models.Layers;

/// <summary>
/// Fully connected layer y = x Wᵀ + b with "weight" [out, in] and "bias" [out], laid out as PyTorch's
/// <c>nn.Linear</c>. An example's weight gradient is the outer product dy_b ⊗ x_b, so its squared norm is
/// ‖dy_b‖²·(‖x_b‖² + 1) with the bias, without materialising it.
/// </summary>
internal sealed unsafe class Linear : Layer
{
    private readonly string _name;
    private readonly int _in;
    private readonly int _out;
    private float[]? _transposed;

    /// <summary>Creates the layer over a flat input of <c>input.Size</c> features.</summary>
    public Linear(string name, ImageShape input, int outFeatures)
        : base(input, new ImageShape(outFeatures, 1, 1))
    {
        _name = name;
        _in = input.Size;
        _out = outFeatures;
    }

    /// <inheritdoc />
    public override string? Name => _name;

    /// <inheritdoc />
    public override int ParameterCount => (_out * _in) + _out;

    /// <inheritdoc />
    public override IReadOnlyList<(string Suffix, int[] Shape)> Tensors => [("weight", [_out, _in]), ("bias", [_out])];

    /// <inheritdoc />
    public override void Initialize(Random random, Span<float> parameters) => UniformFanIn(random, _in, parameters);

    /// <inheritdoc />
    public override void Forward(float* p, float* x, float* y, int batch, bool training)
    {
        var bias = new ReadOnlySpan<float>(p + ((long)_out * _in), _out);
        if ((long)_in * _out > (long)batch * (_in + _out))
        {
            // A big layer and a small batch: transposing x and y is cheaper than transposing W.
            // yᵀ [out, batch] = W [out, in] × xᵀ [in, batch] + b.
            _transposed = Scratch(_transposed, ((long)_in * batch) + ((long)_out * batch));
            float* xt = Gemm.Pointer(_transposed);
            float* yt = xt + ((long)_in * batch);
            Gemm.Transpose(x, batch, _in, xt);
            for (int o = 0; o < _out; o++)
            {
                new Span<float>(yt + ((long)o * batch), batch).Fill(bias[o]);
            }

            Gemm.Multiply(_out, batch, _in, 1f, p, _in, 1, xt, batch, yt, batch, accumulate: true);
            Gemm.Transpose(yt, _out, batch, y);
            return;
        }

        _transposed = Scratch(_transposed, (long)_in * _out);
        float* wt = Gemm.Pointer(_transposed);
        Gemm.Transpose(p, _out, _in, wt);
        for (int b = 0; b < batch; b++)
        {
            bias.CopyTo(new Span<float>(y + ((long)b * _out), _out));
        }

        Gemm.Multiply(batch, _out, _in, 1f, x, _in, 1, wt, _out, y, _out, accumulate: true);
    }

    /// <inheritdoc />
    public override void BackwardInput(float* p, float* x, float* y, float* dy, float* dx, int batch)
    {
        Gemm.Multiply(batch, _in, _out, 1f, dy, _out, 1, p, _in, dx, _in, accumulate: false);
    }

    /// <inheritdoc />
    public override void ParameterGradient(float* p, float* x, float* dy, int batch, float* grad)
    {
        Gemm.Multiply(_out, _in, batch, 1f, dy, 1, _out, x, _in, grad, _in, accumulate: false);
        Gemm.ColumnSums(dy, batch, _out, grad + ((long)_out * _in));
    }

    /// <inheritdoc />
    public override void AddPerExampleSquaredNorms(float* p, float* x, float* dy, int batch, float* norms)
    {
        for (int b = 0; b < batch; b++)
        {
            float x2 = TensorPrimitives.SumOfSquares(new ReadOnlySpan<float>(x + ((long)b * _in), _in));
            float d2 = TensorPrimitives.SumOfSquares(new ReadOnlySpan<float>(dy + ((long)b * _out), _out));
            norms[b] += (x2 + 1f) * d2;
        }
    }
}
