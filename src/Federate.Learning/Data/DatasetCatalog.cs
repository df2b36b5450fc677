namespace Federate.Learning.Data;

/// <summary>
/// The embedded datasets, Fashion-MNIST and CSV files by path. Embedded datasets are parsed once per process and
/// cached; every <see cref="Load"/> of the same name returns datasets that share the cached arrays, so callers must
/// treat <see cref="Dataset.Features"/>, <see cref="Dataset.Labels"/> and <see cref="Dataset.Columns"/> as
/// read-only (use <see cref="Dataset.Subset"/> for a private copy).
/// </summary>
public static class DatasetCatalog
{
    /// <summary>Where Debian's <c>dataset-fashion-mnist</c> package installs Fashion-MNIST.</summary>
    public const string FashionMnistDefaultDirectory = "/usr/share/datasets/fashion-mnist";

    private static readonly string[] FashionClassNames = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];
    private static readonly string[] SensorNonFeatures = ["reading", "mote_id", "indoor"];

    private static readonly Dictionary<string, Lazy<Dataset>> Embedded = new(StringComparer.Ordinal)
    {
        ["digits"] = Cached(LoadDigits),
        ["breast-cancer"] = Cached(() => LoadTabular("breast-cancer", "breast_cancer.csv", null, [])),
        ["iris"] = Cached(() => LoadTabular("iris", "iris.csv", null, [])),
        ["wine"] = Cached(() => LoadTabular("wine", "wine_data.csv", null, [])),
        ["letter-recognition"] = Cached(() => LoadTabular("letter-recognition", "letter_recognition.csv", "lettr", [])),
        ["sensor-single-hop"] = Cached(() => LoadSensor("sensor-single-hop", "sensor_single_hop.csv")),
        ["sensor-multi-hop"] = Cached(() => LoadSensor("sensor-multi-hop", "sensor_multi_hop.csv")),
        [ShapesSegmentation.Name] = Cached(() => ShapesSegmentation.Generate(ShapesSegmentation.CatalogImages, seed: 0)),
    };

    private static readonly Lock FashionLock = new();
    private static readonly Dictionary<string, WeakReference<DataSplit>> FashionCache = new(StringComparer.Ordinal);

    /// <summary>Embedded dataset names plus "fashion-mnist", "synthetic-sensors" (generated, see <see cref="SyntheticSensors"/>) and "shapes-seg" (generated segmentation data, see <see cref="ShapesSegmentation"/>).</summary>
    public static IReadOnlyList<string> Names { get; } = ["digits", "breast-cancer", "iris", "wine", "letter-recognition", "sensor-single-hop", "sensor-multi-hop", "fashion-mnist", SyntheticSensors.Name, ShapesSegmentation.Name];

    /// <summary>
    /// Loads a dataset by name, or a CSV file when <paramref name="nameOrPath"/> is a path. Throws
    /// <see cref="DatasetException"/> with a one-line message for an unknown name, a missing file or malformed data.
    /// </summary>
    /// <remarks>
    /// <para>Names (case-insensitive, '_' accepted for '-'): digits (features /16, classes "0".."9"), breast-cancer,
    /// iris, wine, letter-recognition (26 classes "A".."Z"), sensor-single-hop and sensor-multi-hop (features humidity
    /// and temperature, classes "normal"/"anomaly", with reading, mote_id and indoor in <see cref="Dataset.Columns"/>),
    /// shapes-seg (<see cref="ShapesSegmentation.CatalogImages"/> 32 x 32 images with masks generated with seed 0, see
    /// <see cref="Dataset.Segmentation"/>),
    /// all embedded and returned as <c>DataSplit(all rows, null)</c>; and fashion-mnist, read from the gzip IDX files
    /// in <paramref name="dataDir"/> (or <see cref="FashionMnistDefaultDirectory"/>) and returned as
    /// <c>DataSplit(60000 train, 10000 test)</c> with pixels scaled to [0, 1].</para>
    /// <para>A value containing '/' or '\' or ending in .csv or .csv.gz is a CSV file path (see
    /// <see cref="CsvLoader"/>); a relative path that does not exist is also tried under <paramref name="dataDir"/>.
    /// <paramref name="labelColumn"/> applies only to CSV files.</para>
    /// <para>Tabular data (every dataset except digits and fashion-mnist, and CSV files) is z-score standardised per
    /// feature with the population standard deviation (constant features are only centred).</para>
    /// </remarks>
    public static DataSplit Load(string nameOrPath, string? dataDir = null, string? labelColumn = null)
    {
        if (string.IsNullOrWhiteSpace(nameOrPath))
        {
            throw new DatasetException($"no dataset given; use one of: {string.Join(", ", Names)}, or a path to a .csv file");
        }

        if (IsPath(nameOrPath))
        {
            return new DataSplit(LoadCsvFile(nameOrPath, dataDir, labelColumn), null);
        }

        string key = nameOrPath.Trim().ToLowerInvariant().Replace('_', '-');
        if (key == "fashion-mnist")
        {
            CheckLabelColumn(key, labelColumn, null);
            return LoadFashionMnist(dataDir ?? FashionMnistDefaultDirectory);
        }

        if (key == SyntheticSensors.Name)
        {
            CheckLabelColumn(key, labelColumn, null);
            return new DataSplit(SyntheticSensors.Generate(SyntheticSensors.CatalogRows, seed: 0), null);
        }

        if (Embedded.TryGetValue(key, out var lazy))
        {
            CheckLabelColumn(key, labelColumn, key switch
            {
                "letter-recognition" => "lettr",
                "sensor-single-hop" or "sensor-multi-hop" => "label",
                _ => null,
            });
            return new DataSplit(lazy.Value, null);
        }

        throw new DatasetException($"unknown dataset '{nameOrPath}'; valid names are: {string.Join(", ", Names)}, or a path to a .csv or .csv.gz file");
    }

    private static Lazy<Dataset> Cached(Func<Dataset> load) => new(load, LazyThreadSafetyMode.ExecutionAndPublication);

    private static bool IsPath(string value) =>
        value.Contains('/', StringComparison.Ordinal) || value.Contains('\\', StringComparison.Ordinal)
        || value.EndsWith(".csv", StringComparison.OrdinalIgnoreCase) || value.EndsWith(".csv.gz", StringComparison.OrdinalIgnoreCase);

    private static void CheckLabelColumn(string name, string? labelColumn, string? fixedLabel)
    {
        if (labelColumn is not null && !string.Equals(labelColumn, fixedLabel, StringComparison.Ordinal))
        {
            throw new DatasetException($"label column '{labelColumn}' applies only to CSV files; dataset '{name}' has a fixed label{(fixedLabel is null ? string.Empty : $" ('{fixedLabel}')")}, omit the label column");
        }
    }

    private static Dataset LoadCsvFile(string path, string? dataDir, string? labelColumn)
    {
        string resolved = path;
        if (!File.Exists(path) && dataDir is not null && !Path.IsPathRooted(path))
        {
            string candidate = Path.Combine(dataDir, path);
            if (File.Exists(candidate))
            {
                resolved = candidate;
            }
        }

        var data = CsvLoader.Load(resolved, labelColumn);
        FeatureScaling.Standardize(data.Features, data.FeatureCount);
        return data;
    }

    private static Stream OpenEmbedded(string file)
    {
        string resource = $"Federate.Learning.Data.{file}";
        return typeof(DatasetCatalog).Assembly.GetManifestResourceStream(resource)
            ?? throw new DatasetException($"embedded resource '{resource}' is missing from Federate.Learning; the build is broken, rebuild the project");
    }

    private static Dataset LoadDigits()
    {
        using var stream = OpenEmbedded("digits.csv.gz");
        var data = CsvLoader.Load(stream, "digits.csv.gz", "digits", null, []);
        FeatureScaling.Scale(data.Features, 1f / 16f);
        return data;
    }

    private static Dataset LoadTabular(string name, string file, string? labelColumn, IReadOnlyCollection<string> nonFeatures)
    {
        using var stream = OpenEmbedded(file);
        var data = CsvLoader.Load(stream, file, name, labelColumn, nonFeatures);
        FeatureScaling.Standardize(data.Features, data.FeatureCount);
        return data;
    }

    private static Dataset LoadSensor(string name, string file)
    {
        var raw = LoadTabular(name, file, "label", SensorNonFeatures);
        if (raw.ClassCount != 2 || raw.ClassNames[0] != "0" || raw.ClassNames[1] != "1")
        {
            throw new DatasetException($"embedded {file}: expected labels 0 and 1, found {string.Join(", ", raw.ClassNames)}; the build is broken");
        }

        return new Dataset(name, raw.Features, raw.Labels, raw.FeatureCount, ["normal", "anomaly"], raw.FeatureNames, raw.Columns);
    }

    private static DataSplit LoadFashionMnist(string dir)
    {
        string key = Path.GetFullPath(dir);
        lock (FashionLock)
        {
            if (FashionCache.TryGetValue(key, out var weak) && weak.TryGetTarget(out var cached))
            {
                return cached;
            }

            string[] stems = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"];
            var files = stems.Select(stem => FindIdx(dir, stem)).ToArray();
            if (files.All(f => f is null))
            {
                throw new DatasetException($"Fashion-MNIST not found in {dir}; install it with 'sudo apt-get install dataset-fashion-mnist' or pass --data-dir DIR");
            }

            int missing = Array.IndexOf(files, null);
            if (missing >= 0)
            {
                throw new DatasetException($"Fashion-MNIST in {dir} is incomplete: {stems[missing]}.gz is missing; reinstall it with 'sudo apt-get install --reinstall dataset-fashion-mnist' or pass --data-dir DIR");
            }

            var train = IdxLoader.Load(files[0]!, files[1]!, "fashion-mnist", FashionClassNames);
            var test = IdxLoader.Load(files[2]!, files[3]!, "fashion-mnist", FashionClassNames);
            // Standardise every pixel with the training set's overall mean and standard deviation (one scalar pair,
            // so images keep their shape); SGD converges markedly faster than on [0, 1] values.
            var (mean, std) = FeatureScaling.MeanAndStd(train.Features);
            FeatureScaling.Normalize(train.Features, mean, std);
            FeatureScaling.Normalize(test.Features, mean, std);
            var split = new DataSplit(train, test);
            FashionCache[key] = new WeakReference<DataSplit>(split);
            return split;
        }
    }

    private static string? FindIdx(string dir, string stem)
    {
        foreach (string candidate in (string[])[Path.Combine(dir, stem + ".gz"), Path.Combine(dir, stem)])
        {
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}
