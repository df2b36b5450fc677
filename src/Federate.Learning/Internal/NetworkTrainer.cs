using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Federate.Core;
using Federate.Core.Privacy;

namespace Federate.Learning.Internal;

/// <summary>
/// The training and prediction loops of the built-in networks, written once for every <see cref="INetwork"/>:
/// minibatch SGD (or the configured optimizer) over a seeded shuffle with FedProx's proximal step, DP-SGD (Poisson
/// sampling, per-example clipping, Gaussian noise on the sum, fixed denominator q·n), and chunked softmax
/// prediction. Everything runs on the calling thread and is bit-deterministic.
/// </summary>
internal static unsafe class NetworkTrainer
{
    /// <summary>Trains <paramref name="net"/> on <paramref name="data"/>.</summary>
    public static TrainResult Train(INetwork net, TrainingBuffers buffers, Dataset data, TrainOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(options);
        CheckDataset(net, data);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.BatchSize, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfNegative(options.Epochs, nameof(options));
        int n = data.Count;
        if (n == 0 || options.Epochs == 0)
        {
            return new TrainResult(0, n, 0);
        }

        bool fused = net.FusesPlainSgd && OptimizerState.IsPlainSgd(options);
        var optimizer = new OptimizerState(options, net.ParameterCount);
        if (options.DpSgd is { } dp)
        {
            return TrainDpSgd(net, buffers, data, options, dp, fused ? null : optimizer, cancellationToken);
        }

        int batch = Math.Min(options.BatchSize, n);
        int inputSize = net.InputSize;
        net.Reserve(batch, training: true);
        buffers.EnsureBatch(batch, inputSize);
        buffers.EnsureRows(n, 0);
        var perm = buffers.Rows.AsSpan(0, n);
        float lr = (float)options.LearningRate;
        float proximal = (float)(options.LearningRate * options.ProximalMu);
        var parameters = net.Parameters;
        float[]? anchor = proximal > 0 ? (options.ProximalAnchor ?? parameters.ToArray()) : null;
        float* xb = Gemm.Pointer(buffers.X);
        var features = data.Features;
        var labels = data.Labels;
        long steps = 0;
        double lastLoss = 0;
        for (int epoch = Math.Max(0, options.StartEpoch); epoch < options.Epochs; epoch++)
        {
            for (int i = 0; i < n; i++)
            {
                perm[i] = i;
            }

            new Random(unchecked(options.Seed + epoch)).Shuffle(perm);
            double lossSum = 0;
            int batches = 0;
            for (int start = 0; start < n; start += batch)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int count = Math.Min(batch, n - start);
                Gather(features, labels, perm.Slice(start, count), inputSize, buffers);
                if (anchor is not null)
                {
                    // FedProx's proximal step: w -= lr·mu·(w - w_start), i.e. w = (1 - lr·mu)·w + lr·mu·w_start.
                    TensorPrimitives.Multiply(parameters, 1f - proximal, parameters);
                    TensorPrimitives.MultiplyAdd(anchor, proximal, parameters, parameters);
                }

                net.BeginStep(options.Seed, epoch, batches);
                lossSum += net.ForwardLoss(xb, buffers.Y.AsSpan(0, count), count, 1f / count, default);
                net.BackwardStep(xb, count, fused ? null : optimizer, lr);
                steps++;
                batches++;
            }

            lastLoss = lossSum / batches;
        }

        return new TrainResult(lastLoss, n, steps);
    }

    /// <summary>Class probabilities, row-major Count x ClassCount.</summary>
    public static float[] PredictProbabilities(INetwork net, Dataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        CheckDataset(net, data);
        int n = data.Count;
        int classes = net.ClassCount;
        var result = new float[(long)n * classes];
        if (n == 0)
        {
            return result;
        }

        int chunk = Math.Max(Math.Min(n, net.PredictChunk), Math.Min(n, net.Capacity));
        net.Reserve(chunk, training: false);
        fixed (float* xp = data.Features)
        {
            for (int start = 0; start < n; start += chunk)
            {
                int count = Math.Min(chunk, n - start);
                float* logits = net.Infer(xp + ((long)start * net.InputSize), count);
                for (int b = 0; b < count; b++)
                {
                    var row = new Span<float>(logits + ((long)b * classes), classes);
                    float max = TensorPrimitives.Max(row);
                    TensorPrimitives.Subtract(row, max, row);
                    TensorPrimitives.Exp(row, row);
                    TensorPrimitives.Divide(row, TensorPrimitives.Sum(row), row);
                }

                new ReadOnlySpan<float>(logits, count * classes).CopyTo(result.AsSpan(start * classes));
            }
        }

        return result;
    }

    /// <summary>
    /// Softmax cross-entropy of <paramref name="count"/> rows of logits: leaves (p - onehot)·<paramref name="scale"/>
    /// in place and returns the mean loss; per-example losses go to <paramref name="losses"/> when it is not empty.
    /// </summary>
    public static double SoftmaxCrossEntropy(float* logits, ReadOnlySpan<int> y, int count, int classes, float scale, Span<float> losses)
    {
        double total = 0;
        for (int b = 0; b < count; b++)
        {
            int label = y[b];
            if ((uint)label >= (uint)classes)
            {
                throw new ArgumentOutOfRangeException(nameof(y), label, $"Label {label} is outside [0, {classes}).");
            }

            var row = new Span<float>(logits + ((long)b * classes), classes);
            float max = TensorPrimitives.Max(row);
            float shiftedLabelLogit = row[label] - max;
            TensorPrimitives.Subtract(row, max, row);
            TensorPrimitives.Exp(row, row);
            float sum = TensorPrimitives.Sum(row);
            double loss = Math.Log(sum) - shiftedLabelLogit;
            total += loss;
            if (!losses.IsEmpty)
            {
                losses[b] = (float)loss;
            }

            TensorPrimitives.Divide(row, sum, row);
            row[label] -= 1f;
            if (scale != 1f)
            {
                TensorPrimitives.Multiply(row, scale, row);
            }
        }

        return total / count;
    }

    /// <summary>Copies the parameters into a flat vector of exactly ParameterCount values.</summary>
    public static void CopyParametersTo(INetwork net, Span<float> destination)
    {
        if (destination.Length != net.ParameterCount)
        {
            throw new ArgumentException($"Destination has {destination.Length} elements; the model has {net.ParameterCount} parameters.", nameof(destination));
        }

        net.Parameters.CopyTo(destination);
    }

    /// <summary>Sets the parameters from a flat vector of exactly ParameterCount values.</summary>
    public static void SetParametersFrom(INetwork net, ReadOnlySpan<float> source)
    {
        if (source.Length != net.ParameterCount)
        {
            throw new ArgumentException($"Source has {source.Length} elements; the model has {net.ParameterCount} parameters.", nameof(source));
        }

        source.CopyTo(net.Parameters);
    }

    /// <summary>Mean loss over a batch and its gradient, written (not added) to <paramref name="gradient"/>.</summary>
    public static double LossAndGradient(INetwork net, ReadOnlySpan<float> x, ReadOnlySpan<int> y, Span<float> gradient)
    {
        int count = CheckBatch(net, x, y);
        if (gradient.Length != net.ParameterCount)
        {
            throw new ArgumentException($"Gradient has {gradient.Length} elements; the model has {net.ParameterCount} parameters.", nameof(gradient));
        }

        if (!Prepare(net, count, gradient))
        {
            return 0;
        }

        fixed (float* xp = x)
        fixed (float* gp = gradient)
        {
            double loss = net.ForwardLoss(xp, y, count, 1f / count, default);
            net.BackwardGradient(xp, count, gp);
            return loss;
        }
    }

    /// <summary>
    /// The sum over the batch of every example's gradient clipped to norm <paramref name="clip"/>, written to
    /// <paramref name="sum"/>; each example's unclipped gradient norm goes to <paramref name="norms"/>. Returns the
    /// mean loss.
    /// </summary>
    public static double ClippedGradientSum(INetwork net, ReadOnlySpan<float> x, ReadOnlySpan<int> y, float clip, Span<float> sum, Span<float> norms)
    {
        int count = CheckBatch(net, x, y);
        if (sum.Length != net.ParameterCount || norms.Length != count)
        {
            throw new ArgumentException("sum needs ParameterCount values and norms one per example.", nameof(sum));
        }

        if (!Prepare(net, count, sum))
        {
            return 0;
        }

        fixed (float* xp = x)
        fixed (float* sp = sum)
        fixed (float* np = norms)
        {
            return net.ClippedSum(xp, y, count, clip, sp, np);
        }
    }

    /// <summary>Scales each example's row of <paramref name="delta"/> (<paramref name="size"/> values) by its clip factor min(1, C / ‖g_b‖).</summary>
    public static void ClipRows(float* delta, int count, int size, ReadOnlySpan<float> norm, float clip)
    {
        for (int b = 0; b < count; b++)
        {
            float factor = norm[b] > clip ? clip / norm[b] : 1f;
            if (factor != 1f)
            {
                var row = new Span<float>(delta + ((long)b * size), size);
                TensorPrimitives.Multiply(row, factor, row);
            }
        }
    }

    /// <summary>Poisson sampling: writes the rows in [0, n) that each join with probability q; returns how many.</summary>
    public static int PoissonSample(GaussianNoise sampler, int n, double q, Span<int> rows) => sampler.SampleIndices(n, q, rows);

    /// <summary>The number of rows in a batch; throws when <paramref name="x"/> does not hold that many rows of the network's input.</summary>
    public static int CheckBatch(INetwork net, ReadOnlySpan<float> x, ReadOnlySpan<int> y)
    {
        if (x.Length != (long)y.Length * net.InputSize)
        {
            throw new ArgumentException($"x has {x.Length} values; {y.Length} rows of {net.InputSize} need {(long)y.Length * net.InputSize}.", nameof(x));
        }

        return y.Length;
    }

    /// <summary>Clears <paramref name="output"/> and returns false for an empty batch; otherwise sizes the network's buffers for it.</summary>
    private static bool Prepare(INetwork net, int count, Span<float> output)
    {
        if (count == 0)
        {
            output.Clear();
            return false;
        }

        net.Reserve(count, training: true);
        return true;
    }

    private static void CheckDataset(INetwork net, Dataset data)
    {
        if (data.FeatureCount != net.InputSize)
        {
            throw new ArgumentException($"Dataset '{data.Name}' has {data.FeatureCount} features; the model expects {net.InputSize}.", nameof(data));
        }
    }

    private static void Gather(float[] features, int[] labels, ReadOnlySpan<int> rows, int inputSize, TrainingBuffers buffers)
    {
        for (int r = 0; r < rows.Length; r++)
        {
            int row = rows[r];
            features.AsSpan(row * inputSize, inputSize).CopyTo(buffers.X.AsSpan(r * inputSize, inputSize));
            buffers.Y[r] = labels[row];
        }
    }

    private static TrainResult TrainDpSgd(INetwork net, TrainingBuffers buffers, Dataset data, TrainOptions options, DpSgdOptions dp, OptimizerState? optimizer, CancellationToken cancellationToken)
    {
        if (dp.Validate() is { } problem)
        {
            throw new ArgumentException(problem, nameof(options));
        }

        int n = data.Count;
        int inputSize = net.InputSize;
        int stepsPerEpoch = DpSgdSchedule.StepsPerEpoch(n, options.BatchSize);
        double q = 1.0 / stepsPerEpoch;
        double expectedBatch = q * n;
        float clip = (float)dp.MaxGradNorm;
        double noiseStd = dp.NoiseMultiplier * dp.MaxGradNorm;
        float fusedStep = (float)(-options.LearningRate / expectedBatch);
        float inverseExpectedBatch = (float)(1.0 / expectedBatch);
        float proximal = (float)(options.LearningRate * options.ProximalMu);
        var parameters = net.Parameters;
        float[]? anchor = proximal > 0 ? parameters.ToArray() : null;
        int headroom = (int)Math.Min(n, (q * n * 1.25) + 16);
        net.Reserve(headroom, training: true);
        buffers.EnsureBatch(headroom, inputSize);
        buffers.EnsureRows(n, net.ParameterCount);
        var gradient = buffers.Gradient.AsSpan(0, net.ParameterCount);
        var sampler = new GaussianNoise(Seeds.Derive(options.Seed, 0, "dp-sgd-sampling"));
        var noise = new GaussianNoise(Seeds.Derive(options.Seed, 0, "dp-sgd-noise"));
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
                int count = PoissonSample(sampler, n, q, buffers.Rows);
                if (count > 0)
                {
                    net.Reserve(count, training: true);
                    buffers.EnsureBatch(count, inputSize);
                    Gather(data.Features, data.Labels, buffers.Rows.AsSpan(0, count), inputSize, buffers);
                    net.BeginStep(options.Seed, epoch, s);
                    lossSum += net.ClippedSum(Gemm.Pointer(buffers.X), buffers.Y.AsSpan(0, count), count, clip, Gemm.Pointer(buffers.Gradient), Gemm.Pointer(buffers.Norms)) * count;
                    seen += count;
                }
                else
                {
                    gradient.Clear();
                }

                if (anchor is not null)
                {
                    TensorPrimitives.Multiply(parameters, 1f - proximal, parameters);
                    TensorPrimitives.MultiplyAdd(anchor, proximal, parameters, parameters);
                }

                // Noise on the sum (also for an empty batch: the step is released either way), fixed denominator q·n.
                if (optimizer is null)
                {
                    NoisyStep(noise, gradient, noiseStd, fusedStep, parameters, buffers.Noise);
                }
                else
                {
                    noise.AddTo(gradient, noiseStd);
                    TensorPrimitives.Multiply(gradient, inverseExpectedBatch, gradient);
                    optimizer.Step(parameters, gradient);
                }

                steps++;
            }

            lastLoss = seen == 0 ? 0 : lossSum / seen;
        }

        return new TrainResult(lastLoss, n, steps);
    }

    /// <summary>
    /// DP-SGD's plain step, w += step·(g + N(0, std²)), one cache-sized chunk at a time: the chunk's noise is drawn
    /// into <paramref name="chunk"/> and the parameters updated while it is in L1 (the gradient buffer is only read).
    /// The same parameters as <see cref="GaussianNoise.AddTo(Span{float}, double)"/> on the whole gradient followed by
    /// w += step·g (every operation is element-wise and rounded the same way), with one pass over memory instead of three.
    /// </summary>
    internal static void NoisyStep(GaussianNoise noise, Span<float> gradient, double std, float step, Span<float> parameters, float[] chunk)
    {
        if (!(std >= 0) || !double.IsFinite(std))
        {
            throw new ArgumentOutOfRangeException(nameof(std), std, "The noise standard deviation must be a non-negative finite number.");
        }

        float scale = (float)std;
        for (int start = 0; start < gradient.Length; start += chunk.Length)
        {
            int count = Math.Min(chunk.Length, gradient.Length - start);
            var g = gradient.Slice(start, count);
            var w = parameters.Slice(start, count);
            if (std > 0)
            {
                var z = chunk.AsSpan(0, count);
                noise.FillStandard(z);
                NoisyAxpy(z, scale, g, step, w);
            }
            else
            {
                TensorPrimitives.MultiplyAdd(g, step, w, w);
            }
        }
    }

    /// <summary>w = (z·scale + g)·step + w, each product and sum rounded separately (as TensorPrimitives.MultiplyAdd twice), g left as it was.</summary>
    private static void NoisyAxpy(ReadOnlySpan<float> z, float scale, ReadOnlySpan<float> g, float step, Span<float> w)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var vs = Vector512.Create(scale);
            var vt = Vector512.Create(step);
            ref float zr = ref MemoryMarshal.GetReference(z);
            ref float gr = ref MemoryMarshal.GetReference(g);
            ref float wr = ref MemoryMarshal.GetReference(w);
            for (; i + 16 <= w.Length; i += 16)
            {
                var noisy = (Vector512.LoadUnsafe(ref zr, (nuint)i) * vs) + Vector512.LoadUnsafe(ref gr, (nuint)i);
                ((noisy * vt) + Vector512.LoadUnsafe(ref wr, (nuint)i)).StoreUnsafe(ref wr, (nuint)i);
            }
        }

        for (; i < w.Length; i++)
        {
            float noisy = (z[i] * scale) + g[i];
            w[i] = (noisy * step) + w[i];
        }
    }
}
