namespace Federate.Learning.Data;

/// <summary>
/// Design 2's demo data: sensor-like readings generated on the spot. Each row is one reading of a site's sensor every
/// ten minutes: a daily temperature cycle with noise, humidity that moves against it, vibration, air pressure and the
/// hour of day; about 15% of readings are overheating (hot and dry) and 15% vibration faults (strong vibration). The
/// label is the condition: normal, overheating or vibration_fault. Every site (partition) has its own offsets, so sites
/// differ a little, as real ones do. Features are scaled with fixed constants so every site's data shares one scale.
/// </summary>
public static class SyntheticSensors
{
    /// <summary>The dataset name (<c>--dataset synthetic-sensors</c>).</summary>
    public const string Name = "synthetic-sensors";

    /// <summary>Rows of the catalog's copy (<see cref="DatasetCatalog.Load"/>).</summary>
    public const int CatalogRows = 3000;

    /// <summary>The feature names, in column order.</summary>
    public static IReadOnlyList<string> FeatureNames { get; } = ["temperature", "humidity", "vibration", "pressure", "hour_sin", "hour_cos"];

    /// <summary>The class names: label 0, 1, 2.</summary>
    public static IReadOnlyList<string> ClassNames { get; } = ["normal", "overheating", "vibration_fault"];

    /// <summary>Generates <paramref name="rows"/> readings of site <paramref name="site"/>; the same arguments give the same data.</summary>
    public static Dataset Generate(int rows, int seed, int site = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rows);
        var random = new Random(seed);
        double Normal() => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        int features = FeatureNames.Count;
        var x = new float[rows * features];
        var y = new int[rows];
        double siteTemperature = ((site % 7) - 3) * 0.8;
        double siteVibration = (site % 5) * 0.03;
        double start = random.Next(0, 144);
        for (int i = 0; i < rows; i++)
        {
            double hour = ((start + i) * 10.0 / 60.0) % 24.0;
            double cycle = Math.Sin(2 * Math.PI * (hour - 9) / 24);
            double temperature = 22 + siteTemperature + (5 * cycle) + (0.7 * Normal());
            double humidity = 50 - (8 * cycle) + (2.5 * Normal());
            double vibration = 0.3 + siteVibration + (0.22 * Math.Abs(Normal()));
            double pressure = 1013 + (2 * Normal());
            double u = random.NextDouble();
            int label = u < 0.15 ? 1 : u < 0.30 ? 2 : 0;
            if (label == 1)
            {
                temperature += 3.5 + (1.5 * Normal());
                humidity -= 3 + (2 * Normal());
            }
            else if (label == 2)
            {
                vibration += 0.35 + (0.2 * Normal());
            }

            var row = x.AsSpan(i * features, features);
            row[0] = (float)((temperature - 23) / 5);
            row[1] = (float)((humidity - 49) / 7);
            row[2] = (float)((vibration - 0.5) / 0.45);
            row[3] = (float)((pressure - 1013) / 2);
            row[4] = (float)Math.Sin(2 * Math.PI * hour / 24);
            row[5] = (float)Math.Cos(2 * Math.PI * hour / 24);
            y[i] = label;
        }

        return new Dataset(Name, x, y, features, ClassNames, FeatureNames);
    }
}
