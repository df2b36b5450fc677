namespace Federate.Learning.Data;

/// <summary>
/// A labelled dataset in memory: features as a row-major float32 matrix (Count x FeatureCount) and integer class
/// labels in [0, ClassCount). Extra numeric columns that are not features (e.g. the sensor data's mote_id) are
/// kept in <see cref="Columns"/> for natural partitioning.
/// </summary>
public sealed class Dataset
{
    /// <summary>Creates a dataset; arrays are used as given.</summary>
    public Dataset(string name, float[] features, int[] labels, int featureCount, IReadOnlyList<string> classNames, IReadOnlyList<string>? featureNames = null, IReadOnlyDictionary<string, double[]>? columns = null)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(classNames);
        if (featureCount <= 0 || features.Length != (long)labels.Length * featureCount)
        {
            throw new ArgumentException($"Dataset '{name}': {features.Length} feature values do not make {labels.Length} rows of {featureCount}.", nameof(features));
        }

        Name = name;
        Features = features;
        Labels = labels;
        FeatureCount = featureCount;
        ClassNames = classNames;
        FeatureNames = featureNames ?? [.. Enumerable.Range(0, featureCount).Select(i => $"x{i}")];
        Columns = columns ?? new Dictionary<string, double[]>();
    }

    /// <summary>Dataset name (e.g. "digits").</summary>
    public string Name { get; }

    /// <summary>Row-major features, Count x FeatureCount.</summary>
    public float[] Features { get; }

    /// <summary>Class index of each row.</summary>
    public int[] Labels { get; }

    /// <summary>Number of rows.</summary>
    public int Count => Labels.Length;

    /// <summary>Features per row.</summary>
    public int FeatureCount { get; }

    /// <summary>Number of classes.</summary>
    public int ClassCount => ClassNames.Count;

    /// <summary>Class names, indexed by label.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Feature names.</summary>
    public IReadOnlyList<string> FeatureNames { get; }

    /// <summary>Non-feature numeric columns by name, one value per row (for <c>column:NAME</c> partitioning).</summary>
    public IReadOnlyDictionary<string, double[]> Columns { get; }

    /// <summary>
    /// For a segmentation dataset (e.g. "shapes-seg"), how each row holds an image and its per-pixel mask; null for
    /// a classification dataset. <see cref="Labels"/> then holds one label per image (1 when the image shows an
    /// object, 0 otherwise, for partitioning) and <see cref="ClassNames"/> names the pixel classes.
    /// </summary>
    public SegmentationLayout? Segmentation { get; init; }

    /// <summary>The features of row <paramref name="i"/>.</summary>
    public ReadOnlySpan<float> Row(int i) => Features.AsSpan(i * FeatureCount, FeatureCount);

    /// <summary>A new dataset holding the given rows, in the given order (copied).</summary>
    public Dataset Subset(IReadOnlyList<int> indices)
    {
        var f = new float[(long)indices.Count * FeatureCount];
        var y = new int[indices.Count];
        for (int k = 0; k < indices.Count; k++)
        {
            int i = indices[k];
            Array.Copy(Features, (long)i * FeatureCount, f, (long)k * FeatureCount, FeatureCount);
            y[k] = Labels[i];
        }

        var cols = new Dictionary<string, double[]>(StringComparer.Ordinal);
        foreach (var (name, values) in Columns)
        {
            cols[name] = [.. indices.Select(i => values[i])];
        }

        return new Dataset(Name, f, y, FeatureCount, ClassNames, FeatureNames, cols) { Segmentation = Segmentation };
    }
}
