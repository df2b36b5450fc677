namespace Federate.Learning.Data;

/// <summary>In-place feature scaling of row-major feature matrices.</summary>
internal static class FeatureScaling
{
    /// <summary>
    /// Z-score standardises each feature column in place: (x - mean) / std with the population standard deviation;
    /// a constant column (std 0) is only centred.
    /// </summary>
    public static void Standardize(float[] features, int featureCount)
    {
        int rows = features.Length / featureCount;
        if (rows == 0)
        {
            return;
        }

        var mean = new double[featureCount];
        var m2 = new double[featureCount];
        for (int i = 0; i < rows; i++)
        {
            int offset = i * featureCount;
            for (int j = 0; j < featureCount; j++)
            {
                mean[j] += features[offset + j];
            }
        }

        for (int j = 0; j < featureCount; j++)
        {
            mean[j] /= rows;
        }

        for (int i = 0; i < rows; i++)
        {
            int offset = i * featureCount;
            for (int j = 0; j < featureCount; j++)
            {
                double d = features[offset + j] - mean[j];
                m2[j] += d * d;
            }
        }

        var scale = new double[featureCount];
        for (int j = 0; j < featureCount; j++)
        {
            double std = Math.Sqrt(m2[j] / rows);
            scale[j] = std > 0 ? 1.0 / std : 1.0;
        }

        for (int i = 0; i < rows; i++)
        {
            int offset = i * featureCount;
            for (int j = 0; j < featureCount; j++)
            {
                features[offset + j] = (float)((features[offset + j] - mean[j]) * scale[j]);
            }
        }
    }

    /// <summary>Multiplies every value by <paramref name="factor"/> in place.</summary>
    public static void Scale(float[] features, float factor)
    {
        for (int i = 0; i < features.Length; i++)
        {
            features[i] *= factor;
        }
    }

    /// <summary>Mean and population standard deviation of all values (computed in float64).</summary>
    public static (float Mean, float Std) MeanAndStd(float[] values)
    {
        double sum = 0;
        double sumSquares = 0;
        foreach (var v in values)
        {
            sum += v;
            sumSquares += (double)v * v;
        }

        double mean = values.Length == 0 ? 0 : sum / values.Length;
        double variance = values.Length == 0 ? 0 : Math.Max(0, (sumSquares / values.Length) - (mean * mean));
        return ((float)mean, (float)Math.Sqrt(variance));
    }

    /// <summary>x = (x - mean) / std for every value (std 0 leaves values centred).</summary>
    public static void Normalize(float[] values, float mean, float std)
    {
        float scale = std > 0 ? 1f / std : 1f;
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = (values[i] - mean) * scale;
        }
    }
}
