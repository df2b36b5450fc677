using System.Globalization;
using Federate.Learning.Models.Layers;

namespace Federate.Learning.Models;

/// <summary>
/// Parses sequential model specs: the named models "cnn" (NIID-Bench's simple CNN, c6k5,p2,c16k5,p2,f120,f84) and
/// "cnn-mcmahan" (McMahan et al. 2017: c32k5p2,p2,c64k5p2,p2,f512), or "cnn:" followed by comma-separated layers:
/// <c>cNkK[pP]</c> convolution of N channels, K x K kernel, padding P, then ReLU; <c>gG</c> group norm of G groups
/// (placed before the ReLU of the convolution it follows); <c>pK</c> K x K max-pool; <c>aK</c> K x K average pool;
/// <c>dP</c> dropout with probability P; <c>fN</c> fully connected layer of N units, then ReLU. A final fully
/// connected layer to the classes is added. Input rows are read as C x H x W images: a square count of features
/// is 1 x S x S, three squares 3 x S x S (so Fashion-MNIST's 784 features are 1 x 28 x 28).
/// </summary>
internal static class SequentialSpec
{
    /// <summary>The layers of the named models.</summary>
    public static IReadOnlyDictionary<string, string> Named { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["cnn"] = "c6k5,p2,c16k5,p2,f120,f84",
        ["cnn-mcmahan"] = "c32k5p2,p2,c64k5p2,p2,f512",
    };

    private const string Help = "use cNkK[pP] (conv), gG (group norm), pK (max-pool), aK (avg-pool), dP (dropout), fN (fully connected), e.g. cnn:c6k5,p2,c16k5,p2,f120,f84";
    private const int MaxWidth = 1 << 14;

    /// <summary>True when <paramref name="name"/> is a sequential model ("cnn", "cnn-mcmahan", "cnn:...").</summary>
    public static bool Matches(string name) => Named.ContainsKey(name) || name.StartsWith("cnn:", StringComparison.OrdinalIgnoreCase);

    /// <summary>Builds the model; throws <see cref="ArgumentException"/> with a one-line message for a bad spec or input size.</summary>
    public static SequentialModel Create(string name, int inputSize, int classCount)
    {
        string layersSpec = Named.TryGetValue(name, out var named) ? named : name[4..];
        var shape = ImageShapeOf(name, inputSize);
        var layers = new List<Layer>();
        int convs = 0;
        int fcs = 0;
        int norms = 0;
        bool pendingRelu = false;
        bool flat = false;
        var tokens = layersSpec.Split(',');
        foreach (var raw in tokens)
        {
            string token = raw.Trim().ToLowerInvariant();
            if (token.Length < 2)
            {
                throw Bad(name, raw);
            }

            char kind = token[0];
            if (kind == 'g')
            {
                int groups = Number(name, raw, token[1..], 1, MaxWidth);
                if (shape.Channels % groups != 0)
                {
                    throw new ArgumentException($"Invalid layer '{raw}' in model '{name}': {groups} groups do not divide {shape.Channels} channels.", nameof(name));
                }

                layers.Add(new GroupNorm($"gn{++norms}", shape, groups));
                continue;
            }

            if (pendingRelu)
            {
                layers.Add(new ReLU(shape));
                pendingRelu = false;
            }

            switch (kind)
            {
                case 'c':
                {
                    if (flat)
                    {
                        throw new ArgumentException($"Invalid layer '{raw}' in model '{name}': a convolution cannot follow a fully connected layer.", nameof(name));
                    }

                    int k = token.IndexOf('k', StringComparison.Ordinal);
                    if (k < 0)
                    {
                        throw Bad(name, raw);
                    }

                    int pad = token.IndexOf('p', k);
                    int channels = Number(name, raw, token[1..k], 1, MaxWidth);
                    int kernel = Number(name, raw, pad < 0 ? token[(k + 1)..] : token[(k + 1)..pad], 1, 64);
                    int padding = pad < 0 ? 0 : Number(name, raw, token[(pad + 1)..], 0, 64);
                    if (shape.Height + (2 * padding) < kernel || shape.Width + (2 * padding) < kernel)
                    {
                        throw new ArgumentException($"Invalid layer '{raw}' in model '{name}': its {kernel}x{kernel} kernel does not fit the {shape.Height}x{shape.Width} image it receives.", nameof(name));
                    }

                    var conv = new Conv2d($"conv{++convs}", shape, channels, kernel, padding);
                    layers.Add(conv);
                    shape = conv.Output;
                    pendingRelu = true;
                    break;
                }

                case 'p':
                case 'a':
                {
                    if (flat)
                    {
                        throw new ArgumentException($"Invalid layer '{raw}' in model '{name}': pooling cannot follow a fully connected layer.", nameof(name));
                    }

                    int kernel = Number(name, raw, token[1..], 1, 64);
                    if (shape.Height < kernel || shape.Width < kernel)
                    {
                        throw new ArgumentException($"Invalid layer '{raw}' in model '{name}': a {kernel}x{kernel} pool does not fit the {shape.Height}x{shape.Width} image it receives.", nameof(name));
                    }

                    Layer pool = kind == 'p' ? new MaxPool2d(shape, kernel) : new AvgPool2d(shape, kernel);
                    layers.Add(pool);
                    shape = pool.Output;
                    break;
                }

                case 'd':
                {
                    if (!float.TryParse(token[1..], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var p) || !(p >= 0 && p < 1))
                    {
                        throw new ArgumentException($"Invalid layer '{raw}' in model '{name}': dropout needs a probability in [0, 1), e.g. d0.5.", nameof(name));
                    }

                    layers.Add(new Dropout(shape, p));
                    break;
                }

                case 'f':
                {
                    int units = Number(name, raw, token[1..], 1, MaxWidth);
                    if (!flat)
                    {
                        layers.Add(new Flatten(shape));
                        shape = layers[^1].Output;
                        flat = true;
                    }

                    layers.Add(new Linear($"fc{++fcs}", shape, units));
                    shape = layers[^1].Output;
                    pendingRelu = true;
                    break;
                }

                default:
                    throw Bad(name, raw);
            }
        }

        if (pendingRelu)
        {
            layers.Add(new ReLU(shape));
        }

        if (!flat)
        {
            layers.Add(new Flatten(shape));
            shape = layers[^1].Output;
        }

        layers.Add(new Linear($"fc{++fcs}", shape, classCount));
        return new SequentialModel(name, layers, classCount);
    }

    private static ImageShape ImageShapeOf(string name, int inputSize)
    {
        foreach (int channels in (int[])[1, 3])
        {
            if (inputSize % channels == 0)
            {
                int side = (int)Math.Round(Math.Sqrt(inputSize / channels));
                if (side * side * channels == inputSize)
                {
                    return new ImageShape(channels, side, side);
                }
            }
        }

        throw new ArgumentException($"Model '{name}' needs square images (e.g. 784 features = 1x28x28, 3072 = 3x32x32); the dataset has {inputSize} features.", nameof(name));
    }

    private static int Number(string name, string raw, string text, int min, int max)
    {
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value) || value < min || value > max)
        {
            throw Bad(name, raw);
        }

        return value;
    }

    private static ArgumentException Bad(string name, string raw) => new($"Invalid layer '{raw.Trim()}' in model '{name}'; {Help}.", nameof(name));
}
