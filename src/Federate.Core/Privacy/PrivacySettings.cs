using System.Globalization;

namespace Federate.Core.Privacy;

/// <summary>
/// The differential-privacy settings of a run: DP-SGD on the clients (sample-level), central DP on the server
/// (user-level, fixed or adaptive clipping), the delta of every reported epsilon, and the budgets. The same settings
/// drive a simulation and a server; <see cref="RunPrivacy"/> applies them to a run.
/// </summary>
public sealed class PrivacySettings
{
    /// <summary>DP-SGD on every client: per-example gradient clipping and Gaussian noise (sample-level privacy). Default off.</summary>
    public bool DpSgd { get; set; }
    /// <summary>DP-SGD's noise multiplier: the noise standard deviation over <see cref="MaxGradNorm"/>. Default 1.0.</summary>
    public double NoiseMultiplier { get; set; } = 1.0;
    /// <summary>DP-SGD's per-example gradient clipping norm. Default 1.0.</summary>
    public double MaxGradNorm { get; set; } = 1.0;
    /// <summary>The delta of every reported (epsilon, delta) guarantee, in (0, 1). Default 1e-5.</summary>
    public double Delta { get; set; } = 1e-5;
    /// <summary>Central DP on the server (user-level): "fixed" or "adaptive" clipping of each update, or null (default) for none.</summary>
    public string? CentralDp { get; set; }
    /// <summary>Central DP's clipping norm of each client's update (the initial norm when adaptive). Default 1.0.</summary>
    public double ClipNorm { get; set; } = 1.0;
    /// <summary>Adaptive clipping: the fraction of updates meant to fall under the clipping norm. Default 0.5.</summary>
    public double TargetQuantile { get; set; } = 0.5;
    /// <summary>Adaptive clipping: the learning rate of the clipping norm's geometric update. Default 0.2.</summary>
    public double ClipLearningRate { get; set; } = 0.2;
    /// <summary>Central DP's noise multiplier: the noise standard deviation over the clipping norm. Default 1.0.</summary>
    public double CentralNoiseMultiplier { get; set; } = 1.0;
    /// <summary>The probability that a client takes part in a round, for the accountant; null (default) uses the run's train fraction.</summary>
    public double? ClientSampleRate { get; set; }
    /// <summary>Adaptive clipping: the noise standard deviation of the clipped-update count; null (default) takes the larger of the expected clients per round / 20 and the noise multiplier.</summary>
    public double? ClippedCountStddev { get; set; }
    /// <summary>The run's epsilon budget: a stop rule ends the run before a round that would take epsilon past it; null (default) for no budget.</summary>
    public double? TargetEpsilon { get; set; }
    /// <summary>Each client's own cap on its sample-level epsilon (DP-SGD); null (default) for none.</summary>
    public double? MaxEpsilon { get; set; }

    /// <summary>True when DP-SGD or central DP is on.</summary>
    public bool Any => DpSgd || CentralDp is not null;

    /// <summary>
    /// Checks ranges and combinations for a run of <paramref name="strategy"/> sampling <paramref name="fraction"/>
    /// of the clients; throws <see cref="ArgumentException"/> with a one-line message. Whether the model can be
    /// trained by DP-SGD is the model's business (see the learning library).
    /// </summary>
    public void Validate(string strategy, double fraction)
    {
        ArgumentNullException.ThrowIfNull(strategy);
        if (DpSgd)
        {
            Require(NoiseMultiplier >= 0 && double.IsFinite(NoiseMultiplier) ? null : $"'noise_multiplier' must be a non-negative number, got {F(NoiseMultiplier)}");
            Require(MaxGradNorm > 0 && double.IsFinite(MaxGradNorm) ? null : $"'max_grad_norm' must be a positive number, got {F(MaxGradNorm)}");
        }

        Require(Delta > 0 && Delta < 1 ? null : $"'delta' must be in (0, 1), got {F(Delta)}");
        if (CentralDp is not null)
        {
            Require(CentralDp is "fixed" or "adaptive" ? null : $"'central_dp' must be fixed or adaptive, got '{CentralDp}'");
            Require(CentralStrategies.Contains(strategy.ToLowerInvariant()) ? null : $"'central_dp' works with the averaging strategies ({string.Join(", ", CentralStrategies)}), not '{strategy}'");
            Require(CentralOptions(fraction).Validate());
        }

        Require(TargetEpsilon is null || TargetEpsilon > 0 ? null : $"'target_epsilon' must be positive, got {TargetEpsilon}");
        Require(TargetEpsilon is null || Any ? null : "'target_epsilon' needs 'dp_sgd' or 'central_dp'");
        Require(MaxEpsilon is null || MaxEpsilon > 0 ? null : $"'max_epsilon' must be positive, got {MaxEpsilon}");
        Require(MaxEpsilon is null || DpSgd ? null : "'max_epsilon' needs 'dp_sgd' (it caps each client's own sample-level epsilon)");
    }

    /// <summary>
    /// The central DP options for a run sampling <paramref name="fraction"/> of the clients per round.
    /// </summary>
    /// <param name="fraction">The run's train fraction (the accountant's sample rate unless <see cref="ClientSampleRate"/> is set).</param>
    /// <returns>Options for the central DP decorator.</returns>
    public CentralDpOptions CentralOptions(double fraction) => new()
    {
        Clipping = CentralDp == "adaptive" ? CentralClipping.Adaptive : CentralClipping.Fixed,
        NoiseMultiplier = CentralNoiseMultiplier,
        ClipNorm = ClipNorm,
        SampleRate = ClientSampleRate ?? fraction,
        TargetQuantile = TargetQuantile,
        ClipLearningRate = ClipLearningRate,
        ClippedCountStddev = ClippedCountStddev,
        Delta = Delta,
    };

    /// <summary>Adds the settings in use to history.json's "config".</summary>
    public void AddTo(IDictionary<string, object?> config, double fraction)
    {
        if (DpSgd)
        {
            config["dp_sgd"] = true;
            config["noise_multiplier"] = NoiseMultiplier;
            config["max_grad_norm"] = MaxGradNorm;
        }

        if (CentralDp is not null)
        {
            config["central_dp"] = CentralDp;
            config["central_noise_multiplier"] = CentralNoiseMultiplier;
            config["clip_norm"] = ClipNorm;
            config["client_sample_rate"] = ClientSampleRate ?? fraction;
            if (CentralDp == "adaptive")
            {
                config["target_quantile"] = TargetQuantile;
                config["clip_lr"] = ClipLearningRate;
                config["clipped_count_stddev"] = ClippedCountStddev;
            }
        }

        if (Any)
        {
            config["delta"] = Delta;
            config["target_epsilon"] = TargetEpsilon;
            config["max_epsilon"] = MaxEpsilon;
        }
    }

    private static readonly string[] CentralStrategies = ["fedavg", "fedprox", "fedavgm", "fedadam", "fedyogi", "fedadagrad"];

    private static void Require(string? problem)
    {
        if (problem is not null)
        {
            throw new ArgumentException(problem);
        }
    }

    private static string F(double v) => v.ToString(CultureInfo.InvariantCulture);
}
