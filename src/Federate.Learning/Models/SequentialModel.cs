using System.Numerics.Tensors;
using Federate.Core;
using Federate.Learning.Internal;
using Federate.Learning.Models.Layers;
using Tensor = Federate.Core.Records.Tensor;

namespace Federate.Learning.Models;

/// <summary>
/// A stack of layers (convolution, pooling, group norm, dropout, fully connected) with softmax cross-entropy on top,
/// trained by minibatch SGD (optionally with momentum and weight decay) or Adam, or by DP-SGD. Built from a spec by
/// <see cref="ModelFactory"/> ("cnn", "cnn-mcmahan", "cnn:c6k5,p2,c16k5,p2,f120,f84"). Parameters are tensors named
/// and laid out as PyTorch's <c>state_dict</c> ("conv1.weight" [out, in, kh, kw], "fc1.weight" [out, in], each
/// followed by its ".bias"), held in one flat buffer in that order. Everything runs on the calling thread and is
/// bit-deterministic: the same seed gives the same model whatever the thread.
/// </summary>
public sealed unsafe partial class SequentialModel : NetworkModel, INetwork
{
    private const int PredictChunk = 64;

    private readonly Layer[] _layers;
    private readonly int[] _offsets;
    private readonly float[] _params;
    private readonly int _firstParameterLayer;
    private float[] _grad = [];
    private float[][] _act = [];
    private float[][] _delta = [];
    private int _capacity;
    private bool _hasDeltas;

    internal SequentialModel(string spec, IReadOnlyList<Layer> layers, int classCount)
    {
        if (layers.Count == 0 || layers[^1].Output.Size != classCount)
        {
            throw new ArgumentException($"the last layer must output {classCount} class scores", nameof(layers));
        }

        Spec = spec;
        _layers = [.. layers];
        ClassCount = classCount;
        _offsets = new int[_layers.Length + 1];
        _firstParameterLayer = _layers.Length;
        long offset = 0;
        for (int l = 0; l < _layers.Length; l++)
        {
            if (l > 0 && _layers[l].Input != _layers[l - 1].Output)
            {
                throw new ArgumentException($"layer {l} expects {_layers[l].Input}, the layer before gives {_layers[l - 1].Output}", nameof(layers));
            }

            _offsets[l] = checked((int)offset);
            offset += _layers[l].ParameterCount;
            if (_layers[l].ParameterCount > 0 && _firstParameterLayer == _layers.Length)
            {
                _firstParameterLayer = l;
            }
        }

        _offsets[^1] = checked((int)offset);
        ParameterCount = checked((int)offset);
        _params = GC.AllocateArray<float>(Math.Max(1, ParameterCount), pinned: true);
    }

    /// <summary>The spec the model was built from, e.g. "cnn" or "cnn:c6k5,p2,c16k5,p2,f120,f84".</summary>
    public string Spec { get; }

    /// <summary>Shape of one input example: channels, height, width (a flat dataset row is read in this order).</summary>
    public (int Channels, int Height, int Width) InputShape => (_layers[0].Input.Channels, _layers[0].Input.Height, _layers[0].Input.Width);

    /// <inheritdoc />
    public override int InputSize => _layers[0].Input.Size;

    /// <inheritdoc />
    public override int ClassCount { get; }

    /// <inheritdoc />
    public override int ParameterCount { get; }

    internal IReadOnlyList<Layer> Layers => _layers;

    /// <summary>Offset of layer <paramref name="layer"/>'s parameters in the flat vector.</summary>
    internal int ParameterOffset(int layer) => _offsets[layer];

    /// <inheritdoc />
    public override void Initialize(int seed)
    {
        var random = new Random(seed);
        for (int l = 0; l < _layers.Length; l++)
        {
            _layers[l].Initialize(random, _params.AsSpan(_offsets[l], _layers[l].ParameterCount));
        }
    }

    /// <inheritdoc />
    public override ArrayRecord GetParameters() => LayerTensors.Get(TensorLayout(), _params);

    /// <inheritdoc />
    public override void SetParameters(ArrayRecord parameters) => LayerTensors.Set(TensorLayout(), parameters, _params);

    /// <inheritdoc />
    public override void PerExampleGradients(ReadOnlySpan<float> x, ReadOnlySpan<int> y, Span<float> gradients, Span<float> losses) =>
        LayerTensors.PerExampleGradients(this, x, y, gradients, losses);

    Span<float> INetwork.Parameters => _params.AsSpan(0, ParameterCount);

    int INetwork.PredictChunk => PredictChunk;

    int INetwork.Capacity => _capacity;

    bool INetwork.FusesPlainSgd => false;

    void INetwork.Reserve(int batch, bool training) => EnsureCapacity(batch, deltas: training);

    float* INetwork.Infer(float* x, int count) => Forward(x, count, training: false);

    void INetwork.BeginStep(int seed, int epoch, int step) => SeedDropout(seed, epoch, step);

    double INetwork.ForwardLoss(float* x, ReadOnlySpan<int> y, int count, float scale, Span<float> losses) => ForwardLoss(x, y, count, scale, losses);

    void INetwork.BackwardStep(float* x, int count, OptimizerState? optimizer, float learningRate)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        Backward(x, count, Gemm.Pointer(_grad));
        optimizer.Step(_params.AsSpan(0, ParameterCount), _grad.AsSpan(0, ParameterCount));
    }

    void INetwork.BackwardGradient(float* x, int count, float* gradient) => Backward(x, count, gradient);

    double INetwork.ClippedSum(float* x, ReadOnlySpan<int> y, int count, float clip, float* sum, float* norms) => ClippedSum(x, y, count, clip, sum, norms);

    /// <summary>Every tensor in state_dict order: name, offset in the flat vector, shape.</summary>
    private IEnumerable<(string Name, int Offset, int[] Shape)> TensorLayout() => LayerTensors.Layout(_layers, _offsets);

    private void SeedDropout(int seed, int epoch, int step)
    {
        for (int l = 0; l < _layers.Length; l++)
        {
            if (_layers[l] is Dropout dropout)
            {
                dropout.Seed = ((ulong)(uint)Seeds.Derive(seed, epoch, step, "dropout") << 32) | (uint)l;
            }
        }
    }

    /// <summary>
    /// DP-SGD's clipped gradient sum for the sequential models. Backpropagation is linear in the top delta, so every layer's output delta
    /// row b is example b's alone; each parameter layer adds example b's squared gradient norm from its input and
    /// output delta rows (a convolution materialises its small out x K per-example product, a linear layer uses the
    /// outer-product identity, group norm its per-channel sums). Scaling those delta rows by the clip factor
    /// min(1, C/‖g_b‖) then makes the ordinary batch gradient the sum of clipped per-example gradients.
    /// </summary>
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

            float* d = Delta(l + 1);
            NetworkTrainer.ClipRows(d, count, _layers[l].Output.Size, norm, clip);
            _layers[l].ParameterGradient(Parameters(l), Activation(l, x), d, count, sum + _offsets[l]);
        }

        return loss;
    }

    private void EnsureCapacity(int batch, bool deltas)
    {
        if (_grad.Length < ParameterCount)
        {
            _grad = GC.AllocateArray<float>(Math.Max(1, ParameterCount), pinned: true);
        }

        if (batch > _capacity)
        {
            var act = new float[_layers.Length + 1][];
            act[0] = [];
            for (int l = 1; l <= _layers.Length; l++)
            {
                act[l] = GC.AllocateArray<float>(batch * _layers[l - 1].Output.Size, pinned: true);
            }

            _act = act;
            _capacity = batch;
            _hasDeltas = false;
        }

        if (deltas && !_hasDeltas)
        {
            var delta = new float[_layers.Length][];
            delta[0] = [];
            for (int l = 1; l < _layers.Length; l++)
            {
                delta[l] = GC.AllocateArray<float>(_capacity * _layers[l - 1].Output.Size, pinned: true);
            }

            _delta = delta;
            _hasDeltas = true;
        }
    }

    private float* Activation(int l, float* x) => l == 0 ? x : Gemm.Pointer(_act[l]);

    private float* Delta(int l) => Gemm.Pointer(l == _layers.Length ? _act[l] : _delta[l]);

    private float* Parameters(int l) => Gemm.Pointer(_params) + _offsets[l];

    /// <summary>Runs the layers; returns the logits buffer (count x classes).</summary>
    private float* Forward(float* x, int count, bool training)
    {
        for (int l = 0; l < _layers.Length; l++)
        {
            _layers[l].Forward(Parameters(l), Activation(l, x), Gemm.Pointer(_act[l + 1]), count, training);
        }

        return Gemm.Pointer(_act[^1]);
    }

    /// <summary>
    /// Training-mode forward pass and softmax cross-entropy; leaves (p - onehot)·<paramref name="scale"/> in the logits
    /// buffer. Returns the mean loss; per-example losses go to <paramref name="losses"/> when it is not empty.
    /// </summary>
    private double ForwardLoss(float* x, ReadOnlySpan<int> y, int count, float scale, Span<float> losses) =>
        NetworkTrainer.SoftmaxCrossEntropy(Forward(x, count, training: true), y, count, ClassCount, scale, losses);

    /// <summary>Backpropagates the top delta; writes the parameter gradient to <paramref name="gradient"/> unless it is null.</summary>
    private void Backward(float* x, int count, float* gradient)
    {
        for (int l = _layers.Length - 1; l >= 0; l--)
        {
            var layer = _layers[l];
            float* input = Activation(l, x);
            float* dy = Delta(l + 1);
            if (gradient is not null && layer.ParameterCount > 0)
            {
                layer.ParameterGradient(Parameters(l), input, dy, count, gradient + _offsets[l]);
            }

            if (l > _firstParameterLayer)
            {
                layer.BackwardInput(Parameters(l), input, Gemm.Pointer(_act[l + 1]), dy, Delta(l), count);
            }
        }
    }
}
