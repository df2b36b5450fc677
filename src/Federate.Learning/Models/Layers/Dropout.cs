using System.Numerics.Tensors;
using Federate.Learning.Internal;

namespace Federate.Learning.Models.Layers;

/// <summary>
/// Inverted dropout: in training each value is kept with probability 1 - p and scaled by 1 / (1 - p); at
/// evaluation the layer is the identity. The mask is a pure function of <see cref="Seed"/> and the value's position
/// in the batch (a counter-based hash, not a stateful generator), so a step is reproducible and the same seed gives
/// the same model on any thread.
/// </summary>
internal sealed unsafe class Dropout : Layer
{
    private readonly float _p;
    private float[]? _mask;

    /// <summary>Creates the layer with drop probability <paramref name="p"/> in [0, 1).</summary>
    public Dropout(ImageShape shape, float p)
        : base(shape, shape)
    {
        if (!(p >= 0 && p < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(p), p, "dropout probability must be in [0, 1)");
        }

        _p = p;
    }

    /// <summary>The seed of the current step's mask; the model sets a new one per training step.</summary>
    public ulong Seed { get; set; }

    /// <inheritdoc />
    public override void Forward(float* p, float* x, float* y, int batch, bool training)
    {
        int n = batch * Input.Size;
        if (!training || _p == 0)
        {
            new ReadOnlySpan<float>(x, n).CopyTo(new Span<float>(y, n));
            _mask = null;
            return;
        }

        _mask = Scratch(_mask, n);
        float keep = 1f / (1f - _p);
        uint threshold = (uint)(_p * 16777216.0);
        var mask = _mask.AsSpan(0, n);
        for (int i = 0; i < n; i++)
        {
            uint u = (uint)(Mix(Seed + ((ulong)i * 0x9E3779B97F4A7C15UL)) >> 40);
            mask[i] = u >= threshold ? keep : 0f;
        }

        TensorPrimitives.Multiply(new ReadOnlySpan<float>(x, n), mask, new Span<float>(y, n));
    }

    /// <inheritdoc />
    public override void BackwardInput(float* p, float* x, float* y, float* dy, float* dx, int batch)
    {
        int n = batch * Input.Size;
        if (_mask is null)
        {
            new ReadOnlySpan<float>(dy, n).CopyTo(new Span<float>(dx, n));
            return;
        }

        TensorPrimitives.Multiply(new ReadOnlySpan<float>(dy, n), new ReadOnlySpan<float>(Gemm.Pointer(_mask), n), new Span<float>(dx, n));
    }

    /// <summary>SplitMix64's finaliser.</summary>
    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
