namespace Federate.Learning.Models;

/// <summary>
/// DP-SGD settings (Abadi et al. 2016): each step takes a Poisson sample of the local examples with rate q, clips
/// every example's gradient to norm <see cref="MaxGradNorm"/> C, adds Gaussian noise of std
/// <see cref="NoiseMultiplier"/>·C to the clipped sum and divides by the expected batch size q·n.
/// </summary>
public sealed class DpSgdOptions
{
    /// <summary>sigma: noise std on the clipped gradient sum, in units of the clip norm. Default 1.</summary>
    public double NoiseMultiplier { get; set; } = 1.0;

    /// <summary>C: per-example gradient clip norm. Default 1.</summary>
    public double MaxGradNorm { get; set; } = 1.0;

    /// <summary>Checks the settings; returns a one-line problem or null.</summary>
    public string? Validate()
    {
        if (!(NoiseMultiplier >= 0) || !double.IsFinite(NoiseMultiplier))
        {
            return $"--noise-multiplier must be a non-negative number, got {NoiseMultiplier}";
        }

        if (!(MaxGradNorm > 0) || !double.IsFinite(MaxGradNorm))
        {
            return $"--max-grad-norm must be a positive number, got {MaxGradNorm}";
        }

        return null;
    }
}

/// <summary>The sampling schedule of DP-SGD, shared by the trainer and the privacy accounting.</summary>
public static class DpSgdSchedule
{
    /// <summary>Steps per epoch: ceil(n / batch), as many as plain SGD takes.</summary>
    public static int StepsPerEpoch(int examples, int batchSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(examples, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        return (int)(((long)examples + batchSize - 1) / batchSize);
    }

    /// <summary>The Poisson sample rate q = 1 / steps per epoch, so an epoch sees every example once in expectation.</summary>
    public static double SampleRate(int examples, int batchSize) => 1.0 / StepsPerEpoch(examples, batchSize);

    /// <summary>Steps of local training: epochs × steps per epoch.</summary>
    public static int Steps(int examples, int batchSize, int epochs) => checked(epochs * StepsPerEpoch(examples, batchSize));
}
