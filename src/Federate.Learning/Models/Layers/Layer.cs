namespace Federate.Learning.Models.Layers;

/// <summary>
/// One layer of a <see cref="SequentialModel"/>. Activations are batch-major, each example laid out C x H x W
/// (PyTorch's NCHW). A layer reads its parameters from the pointer it is given (its slice of the model's flat
/// buffer, tensors in <see cref="Tensors"/> order) and keeps whatever it must remember between the forward and the
/// backward pass of one batch in its own scratch, so one layer instance serves one model on one thread.
/// </summary>
internal abstract unsafe class Layer
{
    /// <summary>Creates a layer mapping <paramref name="input"/> to <paramref name="output"/>.</summary>
    protected Layer(ImageShape input, ImageShape output)
    {
        if (output.Channels < 1 || output.Height < 1 || output.Width < 1)
        {
            throw new ArgumentException($"layer output shape {output} is empty", nameof(output));
        }

        Input = input;
        Output = output;
    }

    /// <summary>Shape of one input example.</summary>
    public ImageShape Input { get; }

    /// <summary>Shape of one output example.</summary>
    public ImageShape Output { get; }

    /// <summary>Prefix of the parameter tensors' names (e.g. "conv1"); null for layers without parameters.</summary>
    public virtual string? Name => null;

    /// <summary>Number of parameters.</summary>
    public virtual int ParameterCount => 0;

    /// <summary>The parameter tensors: name suffix ("weight", "bias") and shape; sizes add up to <see cref="ParameterCount"/>.</summary>
    public virtual IReadOnlyList<(string Suffix, int[] Shape)> Tensors => [];

    /// <summary>Fills the parameters at initialisation.</summary>
    public virtual void Initialize(Random random, Span<float> parameters)
    {
    }

    /// <summary>Forward pass of <paramref name="batch"/> examples: <paramref name="y"/> = f(<paramref name="x"/>).</summary>
    public abstract void Forward(float* p, float* x, float* y, int batch, bool training);

    /// <summary>
    /// Gradient with respect to the input, written (not added) to <paramref name="dx"/>, given the forward pass's
    /// input and output and the gradient <paramref name="dy"/> with respect to the output.
    /// </summary>
    public abstract void BackwardInput(float* p, float* x, float* y, float* dy, float* dx, int batch);

    /// <summary>Gradient of the parameters summed over the batch, written (not added) to <paramref name="grad"/>.</summary>
    public virtual void ParameterGradient(float* p, float* x, float* dy, int batch, float* grad)
    {
    }

    /// <summary>Adds each example's squared parameter-gradient norm to <paramref name="norms"/>[b].</summary>
    public virtual void AddPerExampleSquaredNorms(float* p, float* x, float* dy, int batch, float* norms)
    {
    }

    /// <summary>PyTorch's default initialisation of conv and linear layers: weights and biases U(-1/sqrt(fanIn), 1/sqrt(fanIn)).</summary>
    protected static void UniformFanIn(Random random, int fanIn, Span<float> values)
    {
        double bound = 1.0 / Math.Sqrt(fanIn);
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = (float)(((2 * random.NextDouble()) - 1) * bound);
        }
    }

    /// <summary>A pinned scratch array of at least <paramref name="length"/> floats, reusing <paramref name="current"/> when it is big enough.</summary>
    protected static float[] Scratch(float[]? current, long length)
    {
        return current is not null && current.Length >= length ? current : GC.AllocateArray<float>(checked((int)Math.Max(1, length)), pinned: true);
    }
}
