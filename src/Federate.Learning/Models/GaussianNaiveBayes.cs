namespace Federate.Learning.Models;

/// <summary>
/// Gaussian naive Bayes whose parameters are sufficient statistics normalised by the local example count n, so
/// plain example-weighted FedAvg pools them exactly: "class_fraction" [C] = n_c / n, "sum_x" [C, d] = (sum of x over
/// class c) / n, "sum_x2" [C, d] = (sum of x^2 over class c) / n, all float64. <see cref="Train"/> ignores the
/// incoming parameters and re-fits them on the local data. Prediction follows scikit-learn's GaussianNB: per-class
/// mean and variance, variance smoothing 1e-9 times the largest feature variance, log prior ln(fraction).
/// </summary>
internal sealed class GaussianNaiveBayes : Model
{
    private const double VarSmoothing = 1e-9;

    private readonly int _inputSize;
    private readonly int _classCount;
    private readonly double[] _fraction;
    private readonly double[] _sumX;
    private readonly double[] _sumX2;

    /// <summary>Creates the model (uniform prior, zero mean, unit variance until trained).</summary>
    public GaussianNaiveBayes(int inputSize, int classCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inputSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(classCount, 1);
        _inputSize = inputSize;
        _classCount = classCount;
        _fraction = new double[classCount];
        _sumX = new double[classCount * inputSize];
        _sumX2 = new double[classCount * inputSize];
        Initialize(0);
    }

    /// <inheritdoc />
    public override int InputSize => _inputSize;

    /// <inheritdoc />
    public override int ClassCount => _classCount;

    /// <summary>Uniform class fractions, zero means, unit variances (the seed is not needed).</summary>
    public override void Initialize(int seed)
    {
        Array.Fill(_fraction, 1.0 / _classCount);
        Array.Clear(_sumX);
        Array.Fill(_sumX2, 1.0 / _classCount);
    }

    /// <inheritdoc />
    public override ArrayRecord GetParameters() => new()
    {
        { "class_fraction", Tensor.FromArray((double[])_fraction.Clone(), _classCount) },
        { "sum_x", Tensor.FromArray((double[])_sumX.Clone(), _classCount, _inputSize) },
        { "sum_x2", Tensor.FromArray((double[])_sumX2.Clone(), _classCount, _inputSize) },
    };

    /// <inheritdoc />
    public override void SetParameters(ArrayRecord parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        string[] names = ["class_fraction", "sum_x", "sum_x2"];
        long[][] shapes = [[_classCount], [_classCount, _inputSize], [_classCount, _inputSize]];
        if (parameters.Count != names.Length)
        {
            throw new ArgumentException($"Model expects {names.Length} tensors, got {parameters.Count}.", nameof(parameters));
        }

        for (int t = 0; t < names.Length; t++)
        {
            if (parameters.Names[t] != names[t])
            {
                throw new ArgumentException($"Tensor {t} should be named '{names[t]}', got '{parameters.Names[t]}'.", nameof(parameters));
            }

            var tensor = parameters[names[t]];
            if (tensor.DType != DType.Float64 || !tensor.Shape.SequenceEqual(shapes[t]))
            {
                throw new ArgumentException($"Tensor '{names[t]}' should be Float64[{string.Join(",", shapes[t])}], got {tensor}.", nameof(parameters));
            }
        }

        parameters[names[0]].AsSpan<double>().CopyTo(_fraction);
        parameters[names[1]].AsSpan<double>().CopyTo(_sumX);
        parameters[names[2]].AsSpan<double>().CopyTo(_sumX2);
    }

    /// <summary>
    /// Re-fits the statistics on <paramref name="data"/> (incoming parameters and <paramref name="options"/> are
    /// ignored). Reports Examples = n, Steps = 1 (one closed-form fit; 0 for empty data) and the training log-loss.
    /// </summary>
    public override TrainResult Train(Dataset data, TrainOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(data);
        CheckDataset(data);
        cancellationToken.ThrowIfCancellationRequested();
        Array.Clear(_fraction);
        Array.Clear(_sumX);
        Array.Clear(_sumX2);
        int n = data.Count;
        if (n == 0)
        {
            return new TrainResult(0, 0, 0);
        }

        int d = _inputSize;
        for (int i = 0; i < n; i++)
        {
            int c = data.Labels[i];
            if ((uint)c >= (uint)_classCount)
            {
                throw new ArgumentException($"Dataset '{data.Name}' row {i} has label {c} outside [0, {_classCount}).", nameof(data));
            }

            _fraction[c] += 1;
            var row = data.Row(i);
            var sx = _sumX.AsSpan(c * d, d);
            var sx2 = _sumX2.AsSpan(c * d, d);
            for (int j = 0; j < d; j++)
            {
                double v = row[j];
                sx[j] += v;
                sx2[j] += v * v;
            }
        }

        double inv = 1.0 / n;
        for (int c = 0; c < _classCount; c++)
        {
            _fraction[c] *= inv;
        }

        for (int k = 0; k < _sumX.Length; k++)
        {
            _sumX[k] *= inv;
            _sumX2[k] *= inv;
        }

        var logProb = new double[_classCount];
        var stats = ComputeStatistics();
        double loss = 0;
        for (int i = 0; i < n; i++)
        {
            double lse = JointLogLikelihood(stats, data.Row(i), logProb);
            loss += lse - logProb[data.Labels[i]];
        }

        return new TrainResult(loss / n, n, 1);
    }

    /// <inheritdoc />
    public override float[] PredictProbabilities(Dataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        CheckDataset(data);
        var stats = ComputeStatistics();
        var result = new float[(long)data.Count * _classCount];
        var logProb = new double[_classCount];
        for (int i = 0; i < data.Count; i++)
        {
            double lse = JointLogLikelihood(stats, data.Row(i), logProb);
            var dest = result.AsSpan(i * _classCount, _classCount);
            for (int c = 0; c < _classCount; c++)
            {
                dest[c] = double.IsNegativeInfinity(lse) ? 1f / _classCount : (float)Math.Exp(logProb[c] - lse);
            }
        }

        return result;
    }

    private void CheckDataset(Dataset data)
    {
        if (data.FeatureCount != _inputSize)
        {
            throw new ArgumentException($"Dataset '{data.Name}' has {data.FeatureCount} features; the model expects {_inputSize}.", nameof(data));
        }
    }

    /// <summary>Per-class means, inverse variances, and log prior plus normalising constant.</summary>
    private (double[] Mean, double[] InvVar, double[] Offset) ComputeStatistics()
    {
        int d = _inputSize;
        int classes = _classCount;
        double total = 0;
        for (int c = 0; c < classes; c++)
        {
            total += Math.Max(_fraction[c], 0);
        }

        // Largest feature variance over all data (pooled statistics), for scikit-learn's var_smoothing.
        double maxVar = 0;
        if (total > 0)
        {
            for (int j = 0; j < d; j++)
            {
                double m = 0;
                double m2 = 0;
                for (int c = 0; c < classes; c++)
                {
                    m += _sumX[(c * d) + j];
                    m2 += _sumX2[(c * d) + j];
                }

                m /= total;
                m2 /= total;
                maxVar = Math.Max(maxVar, m2 - (m * m));
            }
        }

        double epsilon = VarSmoothing * maxVar;
        if (!(epsilon > 0))
        {
            epsilon = VarSmoothing;
        }

        var mean = new double[classes * d];
        var invVar = new double[classes * d];
        var offset = new double[classes];
        for (int c = 0; c < classes; c++)
        {
            double f = _fraction[c];
            if (!(f > 0))
            {
                offset[c] = double.NegativeInfinity;
                continue;
            }

            double logDet = 0;
            for (int j = 0; j < d; j++)
            {
                int k = (c * d) + j;
                double mu = _sumX[k] / f;
                double variance = Math.Max((_sumX2[k] / f) - (mu * mu), 0) + epsilon;
                mean[k] = mu;
                invVar[k] = 1.0 / variance;
                logDet += Math.Log(2 * Math.PI * variance);
            }

            offset[c] = Math.Log(f / total) - (0.5 * logDet);
        }

        return (mean, invVar, offset);
    }

    /// <summary>Writes the joint log-likelihood of each class to <paramref name="logProb"/>; returns their log-sum-exp.</summary>
    private double JointLogLikelihood((double[] Mean, double[] InvVar, double[] Offset) stats, ReadOnlySpan<float> row, double[] logProb)
    {
        int d = _inputSize;
        double max = double.NegativeInfinity;
        for (int c = 0; c < _classCount; c++)
        {
            double off = stats.Offset[c];
            if (double.IsNegativeInfinity(off))
            {
                logProb[c] = double.NegativeInfinity;
                continue;
            }

            double q = 0;
            for (int j = 0; j < d; j++)
            {
                double diff = row[j] - stats.Mean[(c * d) + j];
                q += diff * diff * stats.InvVar[(c * d) + j];
            }

            logProb[c] = off - (0.5 * q);
            max = Math.Max(max, logProb[c]);
        }

        if (double.IsNegativeInfinity(max))
        {
            return max;
        }

        double sum = 0;
        for (int c = 0; c < _classCount; c++)
        {
            sum += Math.Exp(logProb[c] - max);
        }

        return max + Math.Log(sum);
    }
}
