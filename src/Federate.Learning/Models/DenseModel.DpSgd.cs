using System.Numerics.Tensors;
using Federate.Core;
using Federate.Core.Privacy;
using Federate.Learning.Internal;

namespace Federate.Learning.Models;

/// <summary>
/// DP-SGD for the dense models. Per-example gradients are never materialised: for a dense layer the gradient of
/// example b is the outer product a_b ⊗ d_b (input row, output delta) plus the bias d_b, so its squared norm is
/// (‖a_b‖² + 1)·‖d_b‖². The deltas of all layers are linear in the top delta (ReLU masks do not depend on its scale),
/// so scaling example b's delta rows by its clip factor clips its whole gradient, and the clipped sum is then one
/// GEMM per layer, exactly like the plain gradient.
/// </summary>
internal abstract unsafe partial class DenseModel
{
    private float[] _dpGradient = [];
    private float[] _dpNorms = [];
    private int[] _dpRows = [];

    /// <summary>
    /// The sum over the batch of every example's gradient clipped to norm <paramref name="clip"/>, written to
    /// <paramref name="sum"/>; each example's unclipped gradient norm goes to <paramref name="norms"/>. Returns the
    /// mean loss.
    /// </summary>
    internal double ClippedGradientSum(ReadOnlySpan<float> x, ReadOnlySpan<int> y, float clip, Span<float> sum, Span<float> norms)
    {
        int count = CheckBatch(x, y);
        if (sum.Length != ParameterCount || norms.Length != count)
        {
            throw new ArgumentException("sum needs ParameterCount values and norms one per example.", nameof(sum));
        }

        if (count == 0)
        {
            sum.Clear();
            return 0;
        }

        EnsureCapacity(count);
        fixed (float* xp = x)
        fixed (float* sp = sum)
        fixed (float* np = norms)
        {
            return ClippedSum(xp, y, count, clip, sp, np);
        }
    }

    private double ClippedSum(float* x, ReadOnlySpan<int> y, int count, float clip, float* sum, float* norms)
    {
        double loss = ForwardLoss(x, y, count, 1f, default);
        Backward(x, count, BackwardMode.DeltasOnly, null, 0);

        // Squared per-example norms, layer by layer: (||a_b||^2 + 1) * ||d_b||^2.
        var norm = new Span<float>(norms, count);
        norm.Clear();
        for (int l = 0; l < _layers; l++)
        {
            int fanIn = _sizes[l];
            int fanOut = _sizes[l + 1];
            float* input = l == 0 ? x : Gemm.Pointer(_act[l]);
            float* d = Delta(l + 1);
            for (int b = 0; b < count; b++)
            {
                float a2 = TensorPrimitives.SumOfSquares(new ReadOnlySpan<float>(input + ((long)b * fanIn), fanIn));
                float d2 = TensorPrimitives.SumOfSquares(new ReadOnlySpan<float>(d + ((long)b * fanOut), fanOut));
                norm[b] += (a2 + 1f) * d2;
            }
        }

        TensorPrimitives.Sqrt(norm, norm);

        // Scale each example's delta rows by its clip factor min(1, C / ||g_b||), then sum with one GEMM per layer.
        for (int l = 0; l < _layers; l++)
        {
            int fanOut = _sizes[l + 1];
            float* d = Delta(l + 1);
            for (int b = 0; b < count; b++)
            {
                float factor = norm[b] > clip ? clip / norm[b] : 1f;
                if (factor != 1f)
                {
                    var row = new Span<float>(d + ((long)b * fanOut), fanOut);
                    TensorPrimitives.Multiply(row, factor, row);
                }
            }
        }

        for (int l = 0; l < _layers; l++)
        {
            int fanIn = _sizes[l];
            int fanOut = _sizes[l + 1];
            float* input = l == 0 ? x : Gemm.Pointer(_act[l]);
            float* d = Delta(l + 1);
            Gemm.Multiply(fanIn, fanOut, count, 1f, input, 1, fanIn, d, fanOut, sum + _weightOffset[l], fanOut, accumulate: false);
            Gemm.ColumnSums(d, count, fanOut, sum + _biasOffset[l]);
        }

        return loss;
    }

    private TrainResult TrainDpSgd(Dataset data, TrainOptions options, DpSgdOptions dp, CancellationToken cancellationToken)
    {
        if (dp.Validate() is { } problem)
        {
            throw new ArgumentException(problem, nameof(options));
        }

        int n = data.Count;
        int inputSize = InputSize;
        int stepsPerEpoch = DpSgdSchedule.StepsPerEpoch(n, options.BatchSize);
        double q = 1.0 / stepsPerEpoch;
        double expectedBatch = q * n;
        float clip = (float)dp.MaxGradNorm;
        double noiseStd = dp.NoiseMultiplier * dp.MaxGradNorm;
        float step = (float)(-options.LearningRate / expectedBatch);
        float proximal = (float)(options.LearningRate * options.ProximalMu);
        float[]? anchor = proximal > 0 ? _params.ToArray() : null;
        var optimizer = OptimizerState.IsPlainSgd(options) ? null : new OptimizerState(options, ParameterCount);
        if (_dpGradient.Length != ParameterCount)
        {
            _dpGradient = GC.AllocateArray<float>(ParameterCount, pinned: true);
        }

        if (_dpRows.Length < n)
        {
            _dpRows = new int[n];
        }

        var sampler = new GaussianNoise(Seeds.Derive(options.Seed, 0, "dp-sgd-sampling"));
        var noise = new GaussianNoise(Seeds.Derive(options.Seed, 0, "dp-sgd-noise"));
        var features = data.Features;
        var labels = data.Labels;
        long steps = 0;
        double lastLoss = 0;
        float* grad = Gemm.Pointer(_dpGradient);
        for (int epoch = 0; epoch < options.Epochs; epoch++)
        {
            double lossSum = 0;
            long seen = 0;
            for (int s = 0; s < stepsPerEpoch; s++)
            {
                cancellationToken.ThrowIfCancellationRequested();

                // Poisson sampling: every example joins the batch independently with probability q.
                int count = PoissonSample(sampler, n, q, _dpRows);

                if (count > 0)
                {
                    EnsureDpBatch(count, inputSize);
                    for (int r = 0; r < count; r++)
                    {
                        int row = _dpRows[r];
                        features.AsSpan(row * inputSize, inputSize).CopyTo(_xBatch.AsSpan(r * inputSize, inputSize));
                        _yBatch[r] = labels[row];
                    }

                    lossSum += ClippedSum(Gemm.Pointer(_xBatch), _yBatch.AsSpan(0, count), count, clip, grad, Gemm.Pointer(_dpNorms)) * count;
                    seen += count;
                }
                else
                {
                    _dpGradient.AsSpan().Clear();
                }

                // Noise on the sum (also for an empty batch: the step is released either way), fixed denominator q·n.
                noise.AddTo(_dpGradient, noiseStd);
                if (anchor is not null)
                {
                    TensorPrimitives.Multiply(_params, 1f - proximal, _params);
                    TensorPrimitives.MultiplyAdd(anchor, proximal, _params, _params);
                }

                if (optimizer is null)
                {
                    TensorPrimitives.MultiplyAdd(_dpGradient, step, _params, _params);
                }
                else
                {
                    TensorPrimitives.Multiply(_dpGradient, (float)(1.0 / expectedBatch), _dpGradient);
                    optimizer.Step(_params, _dpGradient);
                }

                steps++;
            }

            lastLoss = seen == 0 ? 0 : lossSum / seen;
        }

        return new TrainResult(lastLoss, n, steps);
    }

    /// <summary>Poisson sampling: writes the rows in [0, n) that each join with probability q; returns how many.</summary>
    internal static int PoissonSample(GaussianNoise sampler, int n, double q, Span<int> rows)
    {
        int count = 0;
        for (int i = 0; i < n; i++)
        {
            if (sampler.NextDouble() < q)
            {
                rows[count++] = i;
            }
        }

        return count;
    }

    private void EnsureDpBatch(int count, int inputSize)
    {
        EnsureCapacity(count);
        if (_xBatch.Length < count * inputSize)
        {
            int capacity = Math.Max(count, _xBatch.Length / Math.Max(1, inputSize) * 3 / 2);
            _xBatch = GC.AllocateArray<float>(capacity * inputSize, pinned: true);
            _yBatch = new int[capacity];
        }

        if (_dpNorms.Length < count)
        {
            _dpNorms = GC.AllocateArray<float>(Math.Max(count, _xBatch.Length / inputSize), pinned: true);
        }
    }
}
