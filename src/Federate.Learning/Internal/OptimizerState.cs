using System.Numerics.Tensors;

namespace Federate.Learning.Internal;

/// <summary>
/// The update rule of local training with its state (momentum buffer, Adam moments), created fresh for each call
/// to Train, as a PyTorch client creates its optimizer per round. Updates follow <c>torch.optim.SGD</c>
/// (g += wd·w; buf = m·buf + g; w -= lr·buf) and <c>torch.optim.Adam</c> (g += wd·w; bias-corrected moments).
/// </summary>
internal sealed class OptimizerState
{
    private const float Beta1 = 0.9f;
    private const float Beta2 = 0.999f;
    private const float Epsilon = 1e-8f;

    private readonly LocalOptimizer _kind;
    private readonly float _lr;
    private readonly float _momentum;
    private readonly float _weightDecay;
    private readonly float[]? _first;
    private readonly float[]? _second;
    private readonly float[]? _scratch;
    private long _t;

    /// <summary>Creates the state for <paramref name="parameterCount"/> parameters.</summary>
    public OptimizerState(TrainOptions options, int parameterCount)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (Validate(options) is { } problem)
        {
            throw new ArgumentException(problem, nameof(options));
        }

        _kind = options.Optimizer;
        _lr = (float)options.LearningRate;
        _momentum = (float)options.Momentum;
        _weightDecay = (float)options.WeightDecay;
        if (_kind == LocalOptimizer.Adam)
        {
            _first = new float[parameterCount];
            _second = new float[parameterCount];
            _scratch = new float[parameterCount];
        }
        else if (_momentum != 0)
        {
            _first = new float[parameterCount];
        }
    }

    /// <summary>True when the options ask for nothing but plain SGD (no momentum, no weight decay).</summary>
    public static bool IsPlainSgd(TrainOptions options) => options.Optimizer == LocalOptimizer.Sgd && options.Momentum == 0 && options.WeightDecay == 0;

    /// <summary>Checks the optimizer settings; returns a one-line problem or null.</summary>
    public static string? Validate(TrainOptions options)
    {
        if (!(options.Momentum >= 0 && options.Momentum < 1))
        {
            return $"--momentum must be in [0, 1), got {options.Momentum}";
        }

        if (!(options.WeightDecay >= 0) || !double.IsFinite(options.WeightDecay))
        {
            return $"--weight-decay must be a non-negative number, got {options.WeightDecay}";
        }

        if (options.Optimizer == LocalOptimizer.Adam && options.Momentum != 0)
        {
            return "--momentum applies to --optimizer sgd only; Adam keeps its own moment estimates";
        }

        return null;
    }

    /// <summary>One step: updates <paramref name="parameters"/> from <paramref name="gradient"/> (which it may overwrite).</summary>
    public void Step(Span<float> parameters, Span<float> gradient)
    {
        if (_weightDecay != 0)
        {
            TensorPrimitives.MultiplyAdd(parameters, _weightDecay, gradient, gradient);
        }

        _t++;
        if (_kind == LocalOptimizer.Adam)
        {
            var m = _first.AsSpan(0, parameters.Length);
            var v = _second.AsSpan(0, parameters.Length);
            var s = _scratch.AsSpan(0, parameters.Length);

            // m = b1·m + (1 - b1)·g; v = b2·v + (1 - b2)·g².
            TensorPrimitives.Multiply(m, Beta1, m);
            TensorPrimitives.MultiplyAdd(gradient, 1 - Beta1, m, m);
            TensorPrimitives.Multiply(gradient, gradient, s);
            TensorPrimitives.Multiply(v, Beta2, v);
            TensorPrimitives.MultiplyAdd(s, 1 - Beta2, v, v);

            // w -= lr/(1 - b1^t) · m / (sqrt(v)/sqrt(1 - b2^t) + eps).
            float c1 = (float)(1 - Math.Pow(Beta1, _t));
            float c2 = (float)Math.Sqrt(1 - Math.Pow(Beta2, _t));
            TensorPrimitives.Sqrt(v, s);
            TensorPrimitives.Multiply(s, 1f / c2, s);
            TensorPrimitives.Add(s, Epsilon, s);
            TensorPrimitives.Divide(m, s, s);
            TensorPrimitives.MultiplyAdd(s, -_lr / c1, parameters, parameters);
            return;
        }

        if (_first is { } buffer)
        {
            var b = buffer.AsSpan(0, parameters.Length);
            TensorPrimitives.MultiplyAdd(b, _momentum, gradient, b);
            TensorPrimitives.MultiplyAdd(b, -_lr, parameters, parameters);
            return;
        }

        TensorPrimitives.MultiplyAdd(gradient, -_lr, parameters, parameters);
    }
}
