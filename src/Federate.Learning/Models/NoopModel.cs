namespace Federate.Learning.Models;

/// <summary>
/// A model of N float32 parameters whose "training" adds a small deterministic change (+1e-3 to every parameter),
/// for transport tests and benchmarks without training cost. Predictions are uniform. To keep memory at one copy
/// of the parameters, <see cref="GetParameters"/> returns the model's own buffer and <see cref="SetParameters"/>
/// adopts the given one (no copies), unlike the other built-in models; training writes a new buffer. The buffer is
/// allocated only when first needed: a model created to take a received one (a client's task) never holds a second copy.
/// </summary>
public sealed class NoopModel : Model
{
    /// <summary>The change "training" adds to every parameter.</summary>
    public const float Step = 1e-3f;

    /// <summary>Largest N: one tensor holds at most 2 GiB.</summary>
    public const long MaxParameters = int.MaxValue / sizeof(float);

    private Tensor? _weights;

    /// <summary>Creates a model of <paramref name="parameterCount"/> parameters.</summary>
    public NoopModel(long parameterCount, int inputSize, int classCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(parameterCount, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(parameterCount, MaxParameters);
        ParameterCount = parameterCount;
        InputSize = inputSize;
        ClassCount = classCount;
    }

    /// <summary>Number of parameters.</summary>
    public long ParameterCount { get; }

    /// <inheritdoc />
    public override int InputSize { get; }

    /// <inheritdoc />
    public override int ClassCount { get; }

    /// <inheritdoc />
    public override void Initialize(int seed)
    {
        // Cheap, deterministic and not constant: w[i] = ((i + seed) mod 1000) / 1000.
        var w = Weights.AsSpan<float>();
        for (int i = 0; i < w.Length; i++)
        {
            w[i] = (int)(((long)i + seed) % 1000) / 1000f;
        }
    }

    /// <inheritdoc />
    public override ArrayRecord GetParameters() => new() { { "weights", Weights } };

    /// <summary>The parameters: zeros until <see cref="Initialize"/> or <see cref="SetParameters"/>.</summary>
    private Tensor Weights => _weights ??= Tensor.Zeros(DType.Float32, ParameterCount);

    /// <inheritdoc />
    public override void SetParameters(ArrayRecord parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (parameters.Count != 1 || !parameters.TryGetValue("weights", out var w) || w.DType != DType.Float32 || w.Length != ParameterCount)
        {
            throw new ArgumentException($"noop:{ParameterCount} expects one float32 tensor 'weights' of {ParameterCount} elements");
        }

        _weights = w;
    }

    /// <inheritdoc />
    public override TrainResult Train(Dataset data, TrainOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(data);
        // A new buffer: the adopted one may be shared (in simulation every client gets the same global model).
        var next = Tensor.Zeros(DType.Float32, ParameterCount);
        System.Numerics.Tensors.TensorPrimitives.Add(Weights.AsSpan<float>(), Step, next.AsSpan<float>());
        _weights = next;
        return new TrainResult(0, Math.Max(1, data.Count), 0);
    }

    /// <inheritdoc />
    public override float[] PredictProbabilities(Dataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var p = new float[data.Count * ClassCount];
        Array.Fill(p, 1f / ClassCount);
        return p;
    }
}
