namespace Federate.Core.Privacy;

/// <summary>Settings of <see cref="CentralDpStrategy"/>.</summary>
public sealed class CentralDpOptions
{
    /// <summary>Fixed or adaptive clipping. Default fixed.</summary>
    public CentralClipping Clipping { get; set; } = CentralClipping.Fixed;

    /// <summary>z: the noise on the sum of clipped updates has std z·S. Default 1.</summary>
    public double NoiseMultiplier { get; set; } = 1.0;

    /// <summary>S: the clip norm (adaptive clipping: its initial value). Default 1.</summary>
    public double ClipNorm { get; set; } = 1.0;

    /// <summary>q: Poisson probability that a client is sampled in a round, in (0, 1]. Default 1.</summary>
    public double SampleRate { get; set; } = 1.0;

    /// <summary>Adaptive clipping: target quantile gamma of update norms left unclipped. Default 0.5.</summary>
    public double TargetQuantile { get; set; } = 0.5;

    /// <summary>Adaptive clipping: learning rate eta of the geometric clip-norm update. Default 0.2.</summary>
    public double ClipLearningRate { get; set; } = 0.2;

    /// <summary>
    /// Adaptive clipping: std sigma_b of the noise on the count of unclipped updates. Default max(m/20, z), where
    /// m is the expected number of clients per round (the paper suggests m/20; z keeps the update noise finite).
    /// </summary>
    public double? ClippedCountStddev { get; set; }

    /// <summary>Delta of the reported user-level epsilon. Default 1e-5.</summary>
    public double Delta { get; set; } = 1e-5;

    /// <summary>Checks the options; returns a one-line problem or null.</summary>
    public string? Validate()
    {
        if (!(NoiseMultiplier >= 0) || !double.IsFinite(NoiseMultiplier))
        {
            return $"--central-noise-multiplier must be a non-negative number, got {NoiseMultiplier}";
        }

        if (!(ClipNorm > 0) || !double.IsFinite(ClipNorm))
        {
            return $"--clip-norm must be a positive number, got {ClipNorm}";
        }

        if (!(SampleRate > 0 && SampleRate <= 1))
        {
            return $"--client-sample-rate must be in (0, 1], got {SampleRate}";
        }

        if (!(TargetQuantile >= 0 && TargetQuantile <= 1))
        {
            return $"--target-quantile must be in [0, 1], got {TargetQuantile}";
        }

        if (!(ClipLearningRate >= 0) || !double.IsFinite(ClipLearningRate))
        {
            return $"--clip-lr must be a non-negative number, got {ClipLearningRate}";
        }

        if (ClippedCountStddev is { } sb && (!(sb >= 0) || !double.IsFinite(sb)))
        {
            return $"--clipped-count-stddev must be a non-negative number, got {sb}";
        }

        if (!(Delta > 0 && Delta < 1))
        {
            return $"--delta must be in (0, 1), got {Delta}";
        }

        return null;
    }
}
