using System.Globalization;

namespace Federate.Core.Privacy;

/// <summary>
/// The differential-privacy settings of a run: DP-SGD on the clients (sample-level), central DP on the server
/// (user-level, fixed or adaptive clipping), the delta of every reported epsilon, and the budgets. The same settings
/// drive a simulation and a server; <see cref="RunPrivacy"/> applies them to a run.
/// </summary>
public sealed class PrivacySettings
{
    public bool DpSgd { get; set; }
    public double NoiseMultiplier { get; set; } = 1.0;
    public double MaxGradNorm { get; set; } = 1.0;
    public double Delta { get; set; } = 1e-5;
    public string? CentralDp { get; set; }
    public double ClipNorm { get; set; } = 1.0;
    public double TargetQuantile { get; set; } = 0.5;
    public double ClipLearningRate { get; set; } = 0.2;
    public double CentralNoiseMultiplier { get; set; } = 1.0;
    public double? ClientSampleRate { get; set; }
    public double? ClippedCountStddev { get; set; }
    public double? TargetEpsilon { get; set; }
    public double? MaxEpsilon { get; set; }

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
