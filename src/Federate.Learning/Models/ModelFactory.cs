using System.Globalization;

namespace Federate.Learning.Models;

/// <summary>Creates built-in models from their command-line names.</summary>
public static class ModelFactory
{
    private const int MaxHiddenSize = 1 << 16;

    /// <summary>Names accepted by <see cref="Create"/>.</summary>
    public static IReadOnlyList<string> Names { get; } = ["logistic", "mlp", "mlp:H1[,H2...]", "gaussian-nb", "noop:N", "cnn", "cnn-mcmahan", "cnn:LAYERS"];

    /// <summary>
    /// Creates an uninitialised model: "logistic" (softmax regression; logistic for two classes), "mlp" (hidden 128,
    /// ReLU), "mlp:256,128" (hidden sizes), "gaussian-nb", "cnn", "cnn-mcmahan" and "cnn:c6k5,p2,..." (convolutional networks on
    /// square images, see <see cref="SequentialModel"/>), "noop:N" (N float32 parameters, no real training; see <see cref="NoopModel"/>). Throws <see cref="ArgumentException"/> with a one-line
    /// message for an unknown name or invalid hidden sizes.
    /// </summary>
    public static Model Create(string name, int inputSize, int classCount)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentOutOfRangeException.ThrowIfLessThan(inputSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(classCount, 1);
        string key = name.Trim();
        if (key.Equals("logistic", StringComparison.OrdinalIgnoreCase))
        {
            return new SoftmaxRegression(inputSize, classCount);
        }

        if (key.Equals("mlp", StringComparison.OrdinalIgnoreCase))
        {
            return new Mlp(inputSize, classCount, [128]);
        }

        if (key.Equals("gaussian-nb", StringComparison.OrdinalIgnoreCase))
        {
            return new GaussianNaiveBayes(inputSize, classCount);
        }

        if (SequentialSpec.Matches(key))
        {
            return SequentialSpec.Create(key, inputSize, classCount);
        }

        if (key.StartsWith("noop:", StringComparison.OrdinalIgnoreCase))
        {
            if (!long.TryParse(key.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 1 || n > NoopModel.MaxParameters)
            {
                throw new ArgumentException($"Invalid parameter count in model '{name}'; use noop:N with 1 <= N <= {NoopModel.MaxParameters}, e.g. noop:1000000.", nameof(name));
            }

            return new NoopModel(n, inputSize, classCount);
        }

        if (key.StartsWith("mlp:", StringComparison.OrdinalIgnoreCase))
        {
            var parts = key[4..].Split(',');
            var hidden = new int[parts.Length];
            for (int i = 0; i < parts.Length; i++)
            {
                if (!int.TryParse(parts[i].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out hidden[i]) || hidden[i] < 1 || hidden[i] > MaxHiddenSize)
                {
                    throw new ArgumentException($"Invalid hidden layer sizes in model '{name}'; use positive integers up to {MaxHiddenSize}, e.g. mlp:256,128.", nameof(name));
                }
            }

            return new Mlp(inputSize, classCount, hidden);
        }

        throw new ArgumentException($"Unknown model '{name}'; use one of: {string.Join(", ", Names)}.", nameof(name));
    }
}
