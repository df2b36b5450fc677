using System.Numerics.Tensors;
using Federate.Core;
using Federate.Core.Privacy;
using Federate.Learning.Internal;

namespace Federate.Learning.Models;

/// <summary>
/// DP-SGD for the sequential models. Backpropagation is linear in the top delta, so every layer's output delta
/// row b is example b's alone; each parameter layer adds example b's squared gradient norm from its input and
/// output delta rows (a convolution materialises its small out x K per-example product, a linear layer uses the
/// outer-product identity, group norm its per-channel sums). Scaling those delta rows by the clip factor
/// min(1, C/‖g_b‖) then makes the ordinary batch gradient the sum of clipped per-example gradients.
/// </summary>
public sealed unsafe partial class SequentialModel
{
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

        EnsureCapacity(count, deltas: true);
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
        Backward(x, count, null);

        var norm = new Span<float>(norms, count);
        norm.Clear();
        for (int l = 0; l < _layers.Length; l++)
        {
            if (_layers[l].ParameterCount > 0)
            {
                _layers[l].AddPerExampleSquaredNorms(Parameters(l), Activation(l, x), Delta(l + 1), count, norms);
            }
        }

        TensorPrimitives.Sqrt(norm, norm);
        for (int l = 0; l < _layers.Length; l++)
        {
            if (_layers[l].ParameterCount == 0)
            {
                continue;
            }

            int size = _layers[l].Output.Size;
            float* d = Delta(l + 1);
            for (int b = 0; b < count; b++)
            {
                float factor = norm[b] > clip ? clip / norm[b] : 1f;
                if (factor != 1f)
                {
                    var row = new Span<float>(d + ((long)b * size), size);
                    TensorPrimitives.Multiply(row, factor, row);
                }
            }

            _layers[l].ParameterGradient(Parameters(l), Activation(l, x), d, count, sum + _offsets[l]);
        }

        return loss;
    }

    private TrainResult TrainDpSgd(Dataset data, TrainOptions options, DpSgdOptions dp, OptimizerState optimizer, CancellationToken cancellationToken)
    {
        if (dp.Validate() is { } problem)
        {
            throw new ArgumentException(problem, nameof(options));
        }

        int n = data.Count;
        int inputSize = InputSize;
        int stepsPerEpoch = DpSgdSchedule.StepsPerEpoch(n, options.BatchSize);
        double q = 1.0 / stepsPerEpoch;
        float inverseExpectedBatch = (float)(1.0 / (q * n));
        float clip = (float)dp.MaxGradNorm;
        double noiseStd = dp.NoiseMultiplier * dp.MaxGradNorm;
        float proximal = (float)(options.LearningRate * options.ProximalMu);
        var parameters = _params.AsSpan(0, ParameterCount);
        float[]? anchor = proximal > 0 ? parameters.ToArray() : null;
        int headroom = (int)Math.Min(n, (q * n * 1.25) + 16);
        EnsureCapacity(headroom, deltas: true);
        EnsureBatch(headroom);
        var gradient = _grad.AsSpan(0, ParameterCount);
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
                    EnsureCapacity(count, deltas: true);
                    EnsureBatch(count);
                    if (_dpNorms.Length < count)
                    {
                        _dpNorms = GC.AllocateArray<float>(Math.Max(count, headroom), pinned: true);
                    }

                    for (int r = 0; r < count; r++)
                    {
                        int row = _dpRows[r];
                        features.AsSpan(row * inputSize, inputSize).CopyTo(_xBatch.AsSpan(r * inputSize, inputSize));
                        _yBatch[r] = labels[row];
                    }

                    SeedDropout(options.Seed, epoch, s);
                    lossSum += ClippedSum(Gemm.Pointer(_xBatch), _yBatch.AsSpan(0, count), count, clip, Gemm.Pointer(_grad), Gemm.Pointer(_dpNorms)) * count;
                    seen += count;
                }
                else
                {
                    gradient.Clear();
                }

                // Noise on the sum (also for an empty batch: the step is released either way), fixed denominator q·n.
                noise.AddTo(gradient, noiseStd);
                TensorPrimitives.Multiply(gradient, inverseExpectedBatch, gradient);
                if (anchor is not null)
                {
                    TensorPrimitives.Multiply(parameters, 1f - proximal, parameters);
                    TensorPrimitives.MultiplyAdd(anchor, proximal, parameters, parameters);
                }

                optimizer.Step(parameters, gradient);
                steps++;
            }

            lastLoss = seen == 0 ? 0 : lossSum / seen;
        }

        return new TrainResult(lastLoss, n, steps);
    }

    /// <summary>Poisson sampling: writes the rows in [0, n) that each join with probability q; returns how many.</summary>
    private static int PoissonSample(GaussianNoise sampler, int n, double q, Span<int> rows)
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
}
