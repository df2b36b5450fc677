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
