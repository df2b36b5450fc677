namespace Federate.Learning.Internal;

/// <summary>
/// The batch buffers a network keeps between calls to <see cref="NetworkTrainer"/> (pinned, grown on demand), so
/// that training steps do not allocate.
/// </summary>
internal sealed class TrainingBuffers
{
    private float[]? _noise;

    /// <summary>The batch's feature rows.</summary>
    public float[] X { get; private set; } = [];

    /// <summary>The batch's labels.</summary>
    public int[] Y { get; private set; } = [];

    /// <summary>The epoch's shuffled row order, or DP-SGD's sampled rows.</summary>
    public int[] Rows { get; private set; } = [];

    /// <summary>DP-SGD's per-example gradient norms.</summary>
    public float[] Norms { get; private set; } = [];

    /// <summary>A gradient (DP-SGD's noisy clipped sum).</summary>
    public float[] Gradient { get; private set; } = [];

    /// <summary>A chunk of DP-SGD noise (L1-sized), drawn and added while the same chunk of the gradient is in cache.</summary>
    public float[] Noise => _noise ??= GC.AllocateArray<float>(4096, pinned: true);

    /// <summary>Makes the batch buffers hold <paramref name="batch"/> rows of <paramref name="inputSize"/> features.</summary>
    public void EnsureBatch(int batch, int inputSize)
    {
        if (X.Length < batch * inputSize || Y.Length < batch)
        {
            X = GC.AllocateArray<float>(Math.Max(1, batch * inputSize), pinned: true);
            Y = new int[batch];
        }

        if (Norms.Length < batch)
        {
            Norms = GC.AllocateArray<float>(Math.Max(1, batch), pinned: true);
        }
    }

    /// <summary>Makes <see cref="Rows"/> hold <paramref name="n"/> entries and <see cref="Gradient"/> <paramref name="parameters"/>.</summary>
    public void EnsureRows(int n, int parameters)
    {
        if (Rows.Length < n)
        {
            Rows = new int[n];
        }

        if (Gradient.Length < parameters)
        {
            Gradient = GC.AllocateArray<float>(Math.Max(1, parameters), pinned: true);
        }
    }
}
