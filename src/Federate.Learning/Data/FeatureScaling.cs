namespace Federate.Learning;

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
}
