using System.Numerics.Tensors;
using Federate.Learning.Internal;
using Federate.Learning.Models.Layers;

namespace Federate.Learning.Models;

/// <summary>
/// A small U-Net (Ronneberger et al. 2015) for segmentation datasets (<see cref="Dataset.Segmentation"/>): an
/// encoder of two levels (two 3 x 3 convolutions with padding 1, each followed by group norm, DP-SGD's stand-in for
/// batch norm, and ReLU; then 2 x 2 max-pooling), a bottleneck, and
/// a decoder that upsamples (nearest neighbour, 2x), concatenates the encoder's feature map of the same size on the
/// channels (upsampled first, then the skip connection) and applies two more convolutions; a 1 x 1 convolution gives
/// one score per pixel class. "unet-small" has 8, 16 and 32 channels. Trained with per-pixel softmax cross-entropy
/// averaged over an image's pixels (PyTorch's <c>nn.CrossEntropyLoss</c> on N x K x H x W scores) by the shared
/// loops of the built-in networks, DP-SGD included (exact per-example clipping: an image is one example). Tensors
/// are named and laid out as the <c>state_dict</c> of the PyTorch module documented in docs/models.md
/// ("enc1.0.weight" [8, 1, 3, 3], "enc1.1.weight" [8], ..., "head.weight" [2, 8, 1, 1]). <see cref="PredictProbabilities"/> gives pixel
/// class probabilities, (Count x Height x Width) x ClassCount. Bit-deterministic on any thread.
/// </summary>
public sealed unsafe class UNet : NetworkModel, INetwork
{
    private const int PredictChunk = 32;

    private readonly SegmentationLayout _layout;
    private readonly List<Node> _nodes = [];
    private readonly Layer[] _parameterLayers;
    private readonly int[] _parameterNodes;
    private readonly int[] _offsets;
    private readonly int[] _consumers;
    private readonly float[] _params;
    private float[] _grad = [];
    private float[] _scratch = [];
    private float[][] _act = [];
    private float[][] _delta = [];
    private int _capacity;
    private bool _hasDeltas;

    internal UNet(string spec, SegmentationLayout layout, int classCount, int baseChannels)
    {
        ArgumentNullException.ThrowIfNull(layout);
        ArgumentOutOfRangeException.ThrowIfLessThan(classCount, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(baseChannels, 1);
        Spec = spec;
        _layout = layout;
        ClassCount = classCount;
        int c = baseChannels;
        var input = new ImageShape(layout.Channels, layout.Height, layout.Width);
        _nodes.Add(new Node(null, [], input));
        int e1 = Block("enc1", 0, c);
        int e2 = Block("enc2", Add(new MaxPool2d(Shape(e1), 2), e1), 2 * c);
        int bottom = Block("bottleneck", Add(new MaxPool2d(Shape(e2), 2), e2), 4 * c);
        int d2 = Block("dec2", Concat(Add(new Upsample2d(Shape(bottom), 2), bottom), e2), 2 * c);
        int d1 = Block("dec1", Concat(Add(new Upsample2d(Shape(d2), 2), d2), e1), c);
        Add(new Conv2d("head", Shape(d1), classCount, 1, 0), d1);

        _parameterNodes = [.. Enumerable.Range(0, _nodes.Count).Where(k => _nodes[k].Layer is { ParameterCount: > 0 })];
        _parameterLayers = [.. _parameterNodes.Select(k => _nodes[k].Layer!)];
        _offsets = new int[_parameterLayers.Length + 1];
        for (int l = 0; l < _parameterLayers.Length; l++)
        {
            _offsets[l + 1] = checked(_offsets[l] + _parameterLayers[l].ParameterCount);
        }

        _consumers = new int[_nodes.Count];
        foreach (var node in _nodes)
        {
            foreach (int i in node.Inputs)
            {
                _consumers[i]++;
            }
        }

        ParameterCount = _offsets[^1];
        _params = GC.AllocateArray<float>(ParameterCount, pinned: true);
    }

    /// <summary>The spec the model was built from ("unet-small").</summary>
    public string Spec { get; }

    /// <summary>How a row holds the image and its mask.</summary>
    public SegmentationLayout Layout => _layout;

    /// <inheritdoc />
    public override int InputSize => _layout.RowSize;

    /// <summary>Pixel classes (scores per pixel).</summary>
    public override int ClassCount { get; }

    /// <inheritdoc />
    public override int ParameterCount { get; }

    /// <inheritdoc />
    public override void Initialize(int seed)
    {
        var random = new Random(seed);
        for (int l = 0; l < _parameterLayers.Length; l++)
        {
            _parameterLayers[l].Initialize(random, _params.AsSpan(_offsets[l], _parameterLayers[l].ParameterCount));
        }
    }

    /// <inheritdoc />
    public override ArrayRecord GetParameters() => LayerTensors.Get(LayerTensors.Layout(_parameterLayers, _offsets), _params);

    /// <inheritdoc />
    public override void SetParameters(ArrayRecord parameters) => LayerTensors.Set(LayerTensors.Layout(_parameterLayers, _offsets), parameters, _params);

    /// <inheritdoc />
    public override void PerExampleGradients(ReadOnlySpan<float> x, ReadOnlySpan<int> y, Span<float> gradients, Span<float> losses) =>
        LayerTensors.PerExampleGradients(this, x, y, gradients, losses);

    /// <summary>
    /// Pixel class probabilities of every image of <paramref name="data"/>: row-major (Count x Height x Width) x
    /// ClassCount, pixels of an image in row-major order (the order of <see cref="SegmentationLayout.PixelLabels"/>).
    /// </summary>
    public override float[] PredictProbabilities(Dataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.FeatureCount != InputSize)
        {
            throw new ArgumentException($"Dataset '{data.Name}' has {data.FeatureCount} values per row; the model expects {InputSize} (a {_layout.Channels}x{_layout.Height}x{_layout.Width} image and its mask).", nameof(data));
        }

        int n = data.Count;
        int pixels = _layout.PixelCount;
        int classes = ClassCount;
        var result = new float[(long)n * pixels * classes];
        int chunk = Math.Max(1, Math.Min(n, PredictChunk));
        EnsureCapacity(chunk, deltas: false);
        var scores = new float[classes];
        fixed (float* xp = data.Features)
        {
            for (int start = 0; start < n; start += chunk)
            {
                int count = Math.Min(chunk, n - start);
                float* logits = Forward(xp + ((long)start * InputSize), count, training: false);
                for (int b = 0; b < count; b++)
                {
                    float* lb = logits + ((long)b * pixels * classes);
                    for (int k = 0; k < pixels; k++)
                    {
                        for (int cl = 0; cl < classes; cl++)
                        {
                            scores[cl] = lb[((long)cl * pixels) + k];
                        }

                        TensorPrimitives.SoftMax(scores, result.AsSpan((int)((((long)(start + b) * pixels) + k) * classes), classes));
                    }
                }
            }
        }

        return result;
    }

    Span<float> INetwork.Parameters => _params.AsSpan(0, ParameterCount);

    int INetwork.PredictChunk => PredictChunk;

    int INetwork.Capacity => _capacity;

    bool INetwork.FusesPlainSgd => false;

    void INetwork.Reserve(int batch, bool training) => EnsureCapacity(batch, deltas: training);

    float* INetwork.Infer(float* x, int count) => Forward(x, count, training: false);

    void INetwork.BeginStep(int seed, int epoch, int step)
    {
        // Nothing random within a step.
    }

    double INetwork.ForwardLoss(float* x, ReadOnlySpan<int> y, int count, float scale, Span<float> losses) => ForwardLoss(x, count, scale, losses);

    void INetwork.BackwardStep(float* x, int count, OptimizerState? optimizer, float learningRate)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        Backward(count, Gemm.Pointer(_grad));
        optimizer.Step(_params.AsSpan(0, ParameterCount), _grad.AsSpan(0, ParameterCount));
    }

    void INetwork.BackwardGradient(float* x, int count, float* gradient) => Backward(count, gradient);

    /// <summary>
    /// DP-SGD's clipped gradient sum, as <see cref="SequentialModel"/> computes it: one backward pass gives every
    /// node's output delta, whose row b is example b's alone (the loss is a sum over examples, skip connections
    /// included); each convolution adds example b's squared gradient norm from its input and output delta rows; scaling
    /// the convolutions' output delta rows by min(1, C/‖g_b‖) then makes their batch gradients the clipped sum.
    /// </summary>
    double INetwork.ClippedSum(float* x, ReadOnlySpan<int> y, int count, float clip, float* sum, float* norms)
    {
        double loss = ForwardLoss(x, count, 1f, default);
        Backward(count, null);
        var norm = new Span<float>(norms, count);
        norm.Clear();
        for (int l = 0; l < _parameterLayers.Length; l++)
        {
            var node = _nodes[_parameterNodes[l]];
            _parameterLayers[l].AddPerExampleSquaredNorms(Parameters(l), Activation(node.Inputs[0]), Delta(_parameterNodes[l]), count, norms);
        }

        TensorPrimitives.Sqrt(norm, norm);
        for (int l = 0; l < _parameterLayers.Length; l++)
        {
            var node = _nodes[_parameterNodes[l]];
            float* d = Delta(_parameterNodes[l]);
            NetworkTrainer.ClipRows(d, count, node.Shape.Size, norm, clip);
            _parameterLayers[l].ParameterGradient(Parameters(l), Activation(node.Inputs[0]), d, count, sum + _offsets[l]);
        }

        return loss;
    }

    private ImageShape Shape(int node) => _nodes[node].Shape;

    private int Add(Layer layer, int input)
    {
        _nodes.Add(new Node(layer, [input], layer.Output));
        return _nodes.Count - 1;
    }

    private int Concat(int first, int second)
    {
        var a = Shape(first);
        var b = Shape(second);
        _nodes.Add(new Node(null, [first, second], new ImageShape(a.Channels + b.Channels, a.Height, a.Width)));
        return _nodes.Count - 1;
    }

    /// <summary>
    /// Two 3 x 3 convolutions with padding 1, each followed by group norm (groups of 4 channels) and ReLU (PyTorch:
    /// nn.Sequential(conv, GroupNorm, ReLU, conv, GroupNorm, ReLU), so "{name}.0", "{name}.1", "{name}.3", "{name}.4").
    /// </summary>
    private int Block(string name, int input, int channels)
    {
        int x = input;
        for (int i = 0; i < 2; i++)
        {
            int conv = Add(new Conv2d($"{name}.{3 * i}", Shape(x), channels, 3, 1), x);
            int norm = Add(new GroupNorm($"{name}.{(3 * i) + 1}", Shape(conv), Math.Max(1, channels / 4)), conv);
            x = Add(new ReLU(Shape(norm)), norm);
        }

        return x;
    }

    private float* Parameters(int l) => Gemm.Pointer(_params) + _offsets[l];

    private float* Activation(int node) => Gemm.Pointer(_act[node]);

    /// <summary>The gradient of the loss with respect to a node's output (the logits buffer for the last node).</summary>
    private float* Delta(int node) => Gemm.Pointer(node == _nodes.Count - 1 ? _act[node] : _delta[node]);

    private void EnsureCapacity(int batch, bool deltas)
    {
        if (_grad.Length < ParameterCount)
        {
            _grad = GC.AllocateArray<float>(ParameterCount, pinned: true);
        }

        if (batch > _capacity)
        {
            _act = [.. _nodes.Select(node => GC.AllocateArray<float>(batch * node.Shape.Size, pinned: true))];
            _scratch = GC.AllocateArray<float>(batch * _nodes.Max(node => node.Shape.Size), pinned: true);
            _capacity = batch;
            _hasDeltas = false;
        }

        if (deltas && !_hasDeltas)
        {
            _delta = [.. _nodes.Select((node, k) => k == 0 || k == _nodes.Count - 1 ? [] : GC.AllocateArray<float>(_capacity * node.Shape.Size, pinned: true))];
            _hasDeltas = true;
        }
    }

    /// <summary>Copies the image part of each row into the input node, then runs the nodes; returns the logits buffer (count x classes x H x W).</summary>
    private float* Forward(float* x, int count, bool training)
    {
        int imageSize = _layout.ImageSize;
        float* input = Activation(0);
        for (int b = 0; b < count; b++)
        {
            new ReadOnlySpan<float>(x + ((long)b * InputSize), imageSize).CopyTo(new Span<float>(input + ((long)b * imageSize), imageSize));
        }

        int l = 0;
        for (int k = 1; k < _nodes.Count; k++)
        {
            var node = _nodes[k];
            if (node.Layer is { } layer)
            {
                float* p = layer.ParameterCount > 0 ? Parameters(l++) : null;
                layer.Forward(p, Activation(node.Inputs[0]), Activation(k), count, training);
                continue;
            }

            // Channel concatenation: each example's first input's channels, then the second's.
            float* y = Activation(k);
            int size = node.Shape.Size;
            int offset = 0;
            foreach (int i in node.Inputs)
            {
                int part = Shape(i).Size;
                for (int b = 0; b < count; b++)
                {
                    new ReadOnlySpan<float>(Activation(i) + ((long)b * part), part).CopyTo(new Span<float>(y + ((long)b * size) + offset, part));
                }

                offset += part;
            }
        }

        return Activation(_nodes.Count - 1);
    }

    /// <summary>
    /// Training-mode forward pass and per-pixel softmax cross-entropy against each row's mask; leaves
    /// (p - onehot)·<paramref name="scale"/>/pixels in the logits buffer. An example's loss is the mean over its
    /// pixels; returns the mean over examples, per-example losses go to <paramref name="losses"/> when it is not empty.
    /// </summary>
    private double ForwardLoss(float* x, int count, float scale, Span<float> losses)
    {
        float* logits = Forward(x, count, training: true);
        int pixels = _layout.PixelCount;
        int classes = ClassCount;
        float perPixel = scale / pixels;
        double total = 0;
        for (int b = 0; b < count; b++)
        {
            float* mask = x + ((long)b * InputSize) + _layout.ImageSize;
            float* lb = logits + ((long)b * pixels * classes);
            double loss = 0;
            for (int k = 0; k < pixels; k++)
            {
                int target = (int)mask[k];
                if ((uint)target >= (uint)classes || target != mask[k])
                {
                    throw new ArgumentOutOfRangeException(nameof(x), mask[k], $"Mask value {mask[k]} at pixel {k} is not a class in [0, {classes}).");
                }

                float max = lb[k];
                for (int c = 1; c < classes; c++)
                {
                    max = MathF.Max(max, lb[((long)c * pixels) + k]);
                }

                float sum = 0;
                for (int c = 0; c < classes; c++)
                {
                    float e = MathF.Exp(lb[((long)c * pixels) + k] - max);
                    lb[((long)c * pixels) + k] = e;
                    sum += e;
                }

                float targetExp = lb[((long)target * pixels) + k];
                loss += Math.Log(sum) - Math.Log(targetExp);
                for (int c = 0; c < classes; c++)
                {
                    float* v = lb + ((long)c * pixels) + k;
                    *v = ((*v / sum) - (c == target ? 1f : 0f)) * perPixel;
                }
            }

            loss /= pixels;
            total += loss;
            if (!losses.IsEmpty)
            {
                losses[b] = (float)loss;
            }
        }

        return total / count;
    }

    /// <summary>
    /// Backpropagates the delta left in the logits buffer through every node in reverse; writes the parameter gradient
    /// to <paramref name="gradient"/> unless it is null. A node read by two others (an encoder output, read by the
    /// pooling and by the skip connection) sums both deltas.
    /// </summary>
    private void Backward(int count, float* gradient)
    {
        var pending = (int[])_consumers.Clone();
        float* scratch = Gemm.Pointer(_scratch);
        int l = _parameterLayers.Length;
        for (int k = _nodes.Count - 1; k >= 1; k--)
        {
            var node = _nodes[k];
            float* dy = Delta(k);
            if (node.Layer is { } layer)
            {
                float* p = null;
                if (layer.ParameterCount > 0)
                {
                    p = Parameters(--l);
                    if (gradient is not null)
                    {
                        layer.ParameterGradient(p, Activation(node.Inputs[0]), dy, count, gradient + _offsets[l]);
                    }
                }

                int input = node.Inputs[0];
                if (input > 0)
                {
                    // Write straight into the input's delta when this is its only or first reader, else add.
                    bool first = pending[input] == _consumers[input];
                    float* dx = first ? Delta(input) : scratch;
                    layer.BackwardInput(p, Activation(input), Activation(k), dy, dx, count);
                    Accumulate(input, dx, 0, Shape(input).Size, count, first, pending);
                }

                continue;
            }

            int offset = 0;
            foreach (int i in node.Inputs)
            {
                int part = Shape(i).Size;
                Accumulate(i, dy, offset, node.Shape.Size, count, pending[i] == _consumers[i], pending);
                offset += part;
            }
        }
    }

    /// <summary>
    /// Adds (or, for the first reader, copies) rows of <paramref name="source"/> (row stride <paramref name="stride"/>,
    /// starting at <paramref name="offset"/>) into node <paramref name="node"/>'s delta, unless they are already there.
    /// </summary>
    private void Accumulate(int node, float* source, int offset, int stride, int count, bool first, int[] pending)
    {
        pending[node]--;
        float* target = Delta(node);
        int size = Shape(node).Size;
        if (source == target)
        {
            return;
        }

        for (int b = 0; b < count; b++)
        {
            var from = new ReadOnlySpan<float>(source + ((long)b * stride) + offset, size);
            var to = new Span<float>(target + ((long)b * size), size);
            if (first)
            {
                from.CopyTo(to);
            }
            else
            {
                TensorPrimitives.Add(to, from, to);
            }
        }
    }

    /// <summary>A node of the network: a layer applied to one input, or (no layer) the channel concatenation of its inputs.</summary>
    private sealed record Node(Layer? Layer, int[] Inputs, ImageShape Shape);
}
