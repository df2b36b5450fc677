using System.Globalization;

namespace Federate.Learning.Models;

/// <summary>Creates built-in models from their command-line names.</summary>
public static class ModelFactory
{
    private const int MaxHiddenSize = 1 << 16;

    /// <summary>Names accepted by <see cref="Create"/>.</summary>
    public static IReadOnlyList<string> Names { get; } = ["logistic", "mlp", "mlp:H1[,H2...]", "gaussian-nb", "noop:N", "cnn", "cnn-mcmahan", "cnn:LAYERS", UNetSmall];

    /// <summary>The small U-Net for segmentation datasets (see <see cref="UNet"/>).</summary>
    public const string UNetSmall = "unet-small";

    /// <summary>
    /// Creates an uninitialised model: "logistic" (softmax regression; logistic for two classes), "mlp" (hidden 128,
    /// ReLU), "mlp:256,128" (hidden sizes), "gaussian-nb", "cnn", "cnn-mcmahan" and "cnn:c6k5,p2,..." (convolutional networks on
    /// square images, see <see cref="SequentialModel"/>), "unet-small" (segmentation of square images, rows of image
    /// and mask, see <see cref="UNet"/>), "noop:N" (N float32 parameters, no real training; see <see cref="NoopModel"/>). Throws <see cref="ArgumentException"/> with a one-line
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

        if (key.Equals(UNetSmall, StringComparison.OrdinalIgnoreCase))
        {
            // Rows of a 1 x S x S image and its S x S mask; two 2 x 2 poolings need S divisible by 4.
            int side = (int)Math.Round(Math.Sqrt(inputSize / 2.0));
            if (2 * side * side != inputSize || side % 4 != 0 || classCount < 2)
            {
                throw new ArgumentException($"model '{UNetSmall}' segments square 1-channel images whose side is a multiple of 4, each row holding the image and its mask (2·S·S values) of 2 or more pixel classes; {inputSize} values per row with {classCount} classes are not that: use a segmentation dataset such as 'dataset' {ShapesSegmentation.Name}", nameof(name));
            }

            return new UNet(UNetSmall, new SegmentationLayout(1, side, side), classCount, baseChannels: 8);
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

    /// <summary>True when <paramref name="name"/> is a segmentation model (one score per pixel and class, evaluated by per-pixel dice).</summary>
    public static bool IsSegmentation(string name) => name is not null && name.Trim().Equals(UNetSmall, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Throws <see cref="ArgumentException"/> with a one-line message when model <paramref name="name"/> cannot learn
    /// dataset <paramref name="dataset"/>: a segmentation model ("unet-small") needs a segmentation dataset (one with a
    /// <paramref name="segmentation"/> layout, such as "shapes-seg") and the classification models a classification
    /// dataset. "noop:N" (benchmarks) and "none" (the model comes from a client) go with any dataset.
    /// </summary>
    public static void CheckDataset(string name, string dataset, SegmentationLayout? segmentation)
    {
        ArgumentNullException.ThrowIfNull(name);
        string key = name.Trim();
        if (key.StartsWith("noop:", StringComparison.OrdinalIgnoreCase) || key.Equals("none", StringComparison.OrdinalIgnoreCase))
        {
            return;
        }

        bool segments = IsSegmentation(key);
        if (segments && segmentation is null)
        {
            throw new ArgumentException($"model '{key}' segments images but dataset '{dataset}' has no per-pixel masks; use a segmentation dataset such as 'dataset' {ShapesSegmentation.Name}, or a classification model (e.g. 'model' cnn)", nameof(name));
        }

        if (!segments && segmentation is not null)
        {
            throw new ArgumentException($"dataset '{dataset}' is a segmentation dataset (per-pixel masks) and model '{key}' classifies whole rows; use 'model' {UNetSmall}", nameof(name));
        }

        if (segmentation is { Channels: not 1 })
        {
            throw new ArgumentException($"model '{key}' takes 1-channel images; dataset '{dataset}' has {segmentation.Channels} channels", nameof(name));
        }
    }
}
