using System.Numerics.Tensors;
using Federate.Learning.Internal;
using Tensor = Federate.Core.Records.Tensor;

namespace Federate.Learning.Models;

/// <summary>
/// A stack of fully connected layers (ReLU between them, softmax cross-entropy on top) trained by minibatch SGD.
/// Parameters live in one pinned flat float32 buffer in <see cref="Model.GetParameters"/> order
/// (weight [in, out] row-major, then bias [out], layer by layer). All scratch memory is preallocated per batch
/// size, so a training step does not allocate; everything runs on the calling thread and is bit-deterministic.
/// </summary>
internal abstract unsafe partial class DenseModel : DifferentiableModel, INetwork
{
    private const int PredictChunk = 256;

    private readonly int[] _sizes;
    private readonly int _layers;
    private readonly int[] _weightOffset;
    private readonly int[] _biasOffset;
    private readonly string[] _prefixes;
    private readonly float[] _params;
    private readonly float[][] _transposed;
    private readonly float[] _biasScratch;
    private float[][] _act = [];
    private float[][] _delta = [];
    private readonly TrainingBuffers _buffers = new();
    private float[] _stepGradient = [];
    private int _capacity;

    /// <summary>Creates the layers: input, hidden sizes, classes; layer i's tensors are "{prefix[i]}.weight"/".bias".</summary>
    protected DenseModel(int inputSize, int classCount, IReadOnlyList<int> hidden, IReadOnlyList<string> prefixes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inputSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(classCount, 1);
        _sizes = [inputSize, .. hidden, classCount];
        _layers = _sizes.Length - 1;
        if (prefixes.Count != _layers)
        {
            throw new ArgumentException($"Expected {_layers} layer names, got {prefixes.Count}.", nameof(prefixes));
        }

        _prefixes = [.. prefixes];
        _weightOffset = new int[_layers];
        _biasOffset = new int[_layers];
        long offset = 0;
        int maxOut = 0;
        for (int l = 0; l < _layers; l++)
        {
            _weightOffset[l] = checked((int)offset);
            offset += (long)_sizes[l] * _sizes[l + 1];
            _biasOffset[l] = checked((int)offset);
            offset += _sizes[l + 1];
            maxOut = Math.Max(maxOut, _sizes[l + 1]);
        }

        ParameterCount = checked((int)offset);
        _params = GC.AllocateArray<float>(ParameterCount, pinned: true);
        _transposed = new float[_layers][];
        for (int l = 1; l < _layers; l++)
        {
            _transposed[l] = GC.AllocateArray<float>(_sizes[l] * _sizes[l + 1], pinned: true);
        }

        _biasScratch = GC.AllocateArray<float>(maxOut, pinned: true);
    }

    private enum BackwardMode
    {
        Gradient,
        Update,
        DeltasOnly,
    }

    /// <inheritdoc />
    public override int InputSize => _sizes[0];

    /// <inheritdoc />
    public override int ClassCount => _sizes[^1];

    /// <inheritdoc />
    public override int ParameterCount { get; }

    /// <summary>Layer sizes: input, hidden..., classes.</summary>
    internal IReadOnlyList<int> LayerSizes => _sizes;

    /// <summary>Fills layer <paramref name="layer"/>'s weight ([fanIn, fanOut] row-major) at initialisation; biases are zero.</summary>
    protected abstract void InitializeWeight(Random random, int layer, int fanIn, int fanOut, Span<float> weight);

    /// <inheritdoc />
    public override void Initialize(int seed)
    {
        Array.Clear(_params);
        var random = new Random(seed);
        for (int l = 0; l < _layers; l++)
        {
            InitializeWeight(random, l, _sizes[l], _sizes[l + 1], _params.AsSpan(_weightOffset[l], _sizes[l] * _sizes[l + 1]));
        }
    }

    /// <inheritdoc />
    public override ArrayRecord GetParameters()
    {
        var record = new ArrayRecord();
        for (int l = 0; l < _layers; l++)
        {
            int fanIn = _sizes[l];
            int fanOut = _sizes[l + 1];
            record.Add(_prefixes[l] + ".weight", Tensor.FromArray(_params.AsSpan(_weightOffset[l], fanIn * fanOut).ToArray(), fanIn, fanOut));
            record.Add(_prefixes[l] + ".bias", Tensor.FromArray(_params.AsSpan(_biasOffset[l], fanOut).ToArray(), fanOut));
        }

        return record;
    }

    /// <inheritdoc />
    public override void SetParameters(ArrayRecord parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (parameters.Count != 2 * _layers)
        {
            throw new ArgumentException($"Model expects {2 * _layers} tensors, got {parameters.Count}.", nameof(parameters));
        }

        var tensors = new Tensor[2 * _layers];
        for (int t = 0; t < 2 * _layers; t++)
        {
            int l = t / 2;
            bool bias = t % 2 == 1;
            string name = _prefixes[l] + (bias ? ".bias" : ".weight");
            long[] shape = bias ? [_sizes[l + 1]] : [_sizes[l], _sizes[l + 1]];
            string actualName = parameters.Names[t];
            if (actualName != name)
            {
                throw new ArgumentException($"Tensor {t} should be named '{name}', got '{actualName}'.", nameof(parameters));
            }

            var tensor = parameters[actualName];
            if (tensor.DType != DType.Float32 || !tensor.Shape.SequenceEqual(shape))
            {
                throw new ArgumentException($"Tensor '{name}' should be Float32[{string.Join(",", shape)}], got {tensor}.", nameof(parameters));
            }

            tensors[t] = tensor;
        }

        for (int t = 0; t < tensors.Length; t++)
        {
            int l = t / 2;
            int offset = t % 2 == 1 ? _biasOffset[l] : _weightOffset[l];
            tensors[t].AsSpan<float>().CopyTo(_params.AsSpan(offset));
        }
    }

    /// <inheritdoc />
    public override void CopyParametersTo(Span<float> destination)
    {
        if (destination.Length != ParameterCount)
        {
            throw new ArgumentException($"Destination has {destination.Length} elements; the model has {ParameterCount} parameters.", nameof(destination));
        }

        _params.CopyTo(destination);
    }

    /// <inheritdoc />
    public override void SetParametersFrom(ReadOnlySpan<float> source)
    {
        if (source.Length != ParameterCount)
        {
            throw new ArgumentException($"Source has {source.Length} elements; the model has {ParameterCount} parameters.", nameof(source));
        }

        source.CopyTo(_params);
    }

    /// <inheritdoc />
    public override double LossAndGradient(ReadOnlySpan<float> x, ReadOnlySpan<int> y, Span<float> gradient)
    {
        int count = NetworkTrainer.CheckBatch(this, x, y);
        if (gradient.Length != ParameterCount)
        {
            throw new ArgumentException($"Gradient has {gradient.Length} elements; the model has {ParameterCount} parameters.", nameof(gradient));
        }

        if (count == 0)
        {
            gradient.Clear();
            return 0;
        }

        EnsureCapacity(count);
        fixed (float* xp = x)
        fixed (float* gp = gradient)
        {
            double loss = ForwardLoss(xp, y, count, 1f / count, default);
            Backward(xp, count, BackwardMode.Gradient, gp, 0);
            return loss;
        }
    }

    /// <inheritdoc />
    public override void PerExampleGradients(ReadOnlySpan<float> x, ReadOnlySpan<int> y, Span<float> gradients, Span<float> losses)
    {
        int count = NetworkTrainer.CheckBatch(this, x, y);
        if (gradients.Length != (long)count * ParameterCount)
        {
            throw new ArgumentException($"Gradients need {(long)count * ParameterCount} elements ({count} x {ParameterCount}), got {gradients.Length}.", nameof(gradients));
        }

        if (losses.Length != count)
        {
            throw new ArgumentException($"Losses need {count} elements, got {losses.Length}.", nameof(losses));
        }

        if (count == 0)
        {
            return;
        }

        EnsureCapacity(count);
        fixed (float* xp = x)
        {
            ForwardLoss(xp, y, count, 1f, losses);
            Backward(xp, count, BackwardMode.DeltasOnly, null, 0);
            int p = ParameterCount;
            for (int b = 0; b < count; b++)
            {
                var row = gradients.Slice(b * p, p);
                for (int l = 0; l < _layers; l++)
                {
                    int fanIn = _sizes[l];
                    int fanOut = _sizes[l + 1];
                    float* input = (l == 0 ? xp : Gemm.Pointer(_act[l])) + ((long)b * fanIn);
                    var d = new ReadOnlySpan<float>(Delta(l + 1) + ((long)b * fanOut), fanOut);
                    int w = _weightOffset[l];
                    for (int i = 0; i < fanIn; i++)
                    {
                        TensorPrimitives.Multiply(d, input[i], row.Slice(w + (i * fanOut), fanOut));
                    }

                    d.CopyTo(row.Slice(_biasOffset[l], fanOut));
                }
            }
        }
    }

    /// <inheritdoc />
    public override TrainResult Train(Dataset data, TrainOptions options, CancellationToken cancellationToken) =>
        NetworkTrainer.Train(this, _buffers, data, options, cancellationToken);

    /// <inheritdoc />
    public override float[] PredictProbabilities(Dataset data) => NetworkTrainer.PredictProbabilities(this, data);

    /// <summary>
    /// The sum over the batch of every example's gradient clipped to norm <paramref name="clip"/>, written to
    /// <paramref name="sum"/>; each example's unclipped gradient norm goes to <paramref name="norms"/>. Returns the
    /// mean loss.
    /// </summary>
    internal double ClippedGradientSum(ReadOnlySpan<float> x, ReadOnlySpan<int> y, float clip, Span<float> sum, Span<float> norms) =>
        NetworkTrainer.ClippedGradientSum(this, x, y, clip, sum, norms);

    Span<float> INetwork.Parameters => _params;

    int INetwork.PredictChunk => PredictChunk;

    int INetwork.Capacity => _capacity;

    bool INetwork.FusesPlainSgd => true;

    void INetwork.Reserve(int batch, bool training) => EnsureCapacity(batch);

    float* INetwork.Infer(float* x, int count) => Forward(x, count);

    void INetwork.BeginStep(int seed, int epoch, int step)
    {
    }

    double INetwork.ForwardLoss(float* x, ReadOnlySpan<int> y, int count, float scale, Span<float> losses) => ForwardLoss(x, y, count, scale, losses);

    void INetwork.BackwardStep(float* x, int count, OptimizerState? optimizer, float learningRate)
    {
        if (optimizer is null)
        {
            Backward(x, count, BackwardMode.Update, null, learningRate);
            return;
        }

        // Momentum, weight decay or Adam: the gradient goes to a buffer and the optimizer steps.
        if (_stepGradient.Length != ParameterCount)
        {
            _stepGradient = GC.AllocateArray<float>(ParameterCount, pinned: true);
        }

        Backward(x, count, BackwardMode.Gradient, Gemm.Pointer(_stepGradient), 0);
        optimizer.Step(_params, _stepGradient);
    }

    double INetwork.ClippedSum(float* x, ReadOnlySpan<int> y, int count, float clip, float* sum, float* norms) => ClippedSum(x, y, count, clip, sum, norms);

    private float* Delta(int layer) => Gemm.Pointer(layer == _layers ? _act[_layers] : _delta[layer]);

    private void EnsureCapacity(int batch)
    {
        if (batch <= _capacity)
        {
            return;
        }

        var act = new float[_layers + 1][];
        var delta = new float[_layers][];
        for (int l = 1; l <= _layers; l++)
        {
            act[l] = GC.AllocateArray<float>(batch * _sizes[l], pinned: true);
            if (l < _layers)
            {
                delta[l] = GC.AllocateArray<float>(batch * _sizes[l], pinned: true);
            }
        }

        act[0] = [];
        delta[0] = [];
        _act = act;
        _delta = delta;
        _capacity = batch;
    }

    /// <summary>Runs the layers; returns the logits buffer (count x classes).</summary>
    private float* Forward(float* x, int count)
    {
        float* input = x;
        float* p = Gemm.Pointer(_params);
        for (int l = 0; l < _layers; l++)
        {
            int fanIn = _sizes[l];
            int fanOut = _sizes[l + 1];
            float* output = Gemm.Pointer(_act[l + 1]);
            var bias = new ReadOnlySpan<float>(p + _biasOffset[l], fanOut);
            for (int b = 0; b < count; b++)
            {
                bias.CopyTo(new Span<float>(output + ((long)b * fanOut), fanOut));
            }

            Gemm.Multiply(count, fanOut, fanIn, 1f, input, fanIn, 1, p + _weightOffset[l], fanOut, output, fanOut, accumulate: true);
            if (l < _layers - 1)
            {
                var span = new Span<float>(output, count * fanOut);
                TensorPrimitives.Max(span, 0f, span);
            }

            input = output;
        }

        return input;
    }

    /// <summary>
    /// Forward pass, softmax cross-entropy; leaves (p - onehot) * <paramref name="scale"/> in the logits buffer.
    /// Returns the mean loss; per-example losses go to <paramref name="losses"/> when it is not empty.
    /// </summary>
    private double ForwardLoss(float* x, ReadOnlySpan<int> y, int count, float scale, Span<float> losses) =>
        NetworkTrainer.SoftmaxCrossEntropy(Forward(x, count), y, count, ClassCount, scale, losses);

    private void Backward(float* x, int count, BackwardMode mode, float* gradient, float learningRate)
    {
        float* p = Gemm.Pointer(_params);
        for (int l = _layers - 1; l >= 0; l--)
        {
            int fanIn = _sizes[l];
            int fanOut = _sizes[l + 1];
            float* d = Delta(l + 1);
            float* input = l == 0 ? x : Gemm.Pointer(_act[l]);
            if (l > 0)
            {
                float* wt = Gemm.Pointer(_transposed[l]);
                Gemm.Transpose(p + _weightOffset[l], fanIn, fanOut, wt);
                float* below = Gemm.Pointer(_delta[l]);
                Gemm.Multiply(count, fanIn, fanOut, 1f, d, fanOut, 1, wt, fanIn, below, fanIn, accumulate: false);
                Gemm.MaskByPositive(below, input, count * fanIn);
            }

            switch (mode)
            {
                case BackwardMode.Gradient:
                    Gemm.Multiply(fanIn, fanOut, count, 1f, input, 1, fanIn, d, fanOut, gradient + _weightOffset[l], fanOut, accumulate: false);
                    Gemm.ColumnSums(d, count, fanOut, gradient + _biasOffset[l]);
                    break;
                case BackwardMode.Update:
                    Gemm.Multiply(fanIn, fanOut, count, -learningRate, input, 1, fanIn, d, fanOut, p + _weightOffset[l], fanOut, accumulate: true);
                    float* bs = Gemm.Pointer(_biasScratch);
                    Gemm.ColumnSums(d, count, fanOut, bs);
                    var bias = new Span<float>(p + _biasOffset[l], fanOut);
                    TensorPrimitives.MultiplyAdd(new ReadOnlySpan<float>(bs, fanOut), -learningRate, bias, bias);
                    break;
                default:
                    break;
            }
        }
    }
}

/// <summary>Multinomial logistic (softmax) regression: one linear layer "linear.weight" [in, classes], "linear.bias".</summary>
internal sealed class SoftmaxRegression : DenseModel
{
    /// <summary>Creates the model (zero parameters until <see cref="Model.Initialize"/>).</summary>
    public SoftmaxRegression(int inputSize, int classCount)
        : base(inputSize, classCount, [], ["linear"])
    {
    }

    /// <summary>Zero weights (the loss is convex, so no symmetry needs breaking).</summary>
    protected override void InitializeWeight(Random random, int layer, int fanIn, int fanOut, Span<float> weight) => weight.Clear();
}

/// <summary>
/// Multi-layer perceptron: ReLU hidden layers, softmax output. Tensors "dense{i}.weight" [in, out] and
/// "dense{i}.bias" [out]; He-uniform initialisation (U(-sqrt(6/fanIn), sqrt(6/fanIn))), zero biases.
/// </summary>
internal sealed class Mlp : DenseModel
{
    /// <summary>Creates the model with the given hidden layer sizes.</summary>
    public Mlp(int inputSize, int classCount, IReadOnlyList<int> hidden)
        : base(inputSize, classCount, hidden, [.. Enumerable.Range(0, hidden.Count + 1).Select(i => $"dense{i}")])
    {
        if (hidden.Count == 0 || hidden.Any(h => h < 1))
        {
            throw new ArgumentException("An MLP needs at least one hidden layer and positive hidden sizes.", nameof(hidden));
        }
    }

    /// <summary>He-uniform weights.</summary>
    protected override void InitializeWeight(Random random, int layer, int fanIn, int fanOut, Span<float> weight)
    {
        double limit = Math.Sqrt(6.0 / fanIn);
        for (int i = 0; i < weight.Length; i++)
        {
            weight[i] = (float)(((2 * random.NextDouble()) - 1) * limit);
        }
    }
}
