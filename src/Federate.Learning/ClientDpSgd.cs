using Federate.Core.Privacy;

namespace Federate.Learning;

/// <summary>
/// DP-SGD on a <see cref="LearningClient"/>: default settings plus the client's privacy ledger. The ledger is passed
/// in, not owned, so it persists across rounds when client objects are created per message (simulation: one ledger
/// per partition in a <see cref="ClientPrivacyStore"/>) and can be exported by a long-lived client process.
/// </summary>
public sealed class ClientDpSgd
{
    /// <summary>The one-line refusal for models that are not trained by SGD.</summary>
    public const string NotSgdMessage = "--dp-sgd needs a model trained by SGD (logistic, mlp, cnn); gaussian-nb is fitted from exact class statistics, not by SGD, so DP-SGD cannot protect it";

    /// <summary>Creates the settings.</summary>
    public ClientDpSgd(DpSgdOptions defaults, ClientPrivacyState state)
    {
        Defaults = defaults ?? throw new ArgumentNullException(nameof(defaults));
        State = state ?? throw new ArgumentNullException(nameof(state));
        if (defaults.Validate() is { } problem)
        {
            throw new ArgumentException(problem, nameof(defaults));
        }
    }

    /// <summary>
    /// True (the default): train with DP-SGD in every round. False: only in rounds whose config carries
    /// <c>noise_multiplier</c>, i.e. when the server asks for DP-SGD (design 3) — a deployed client that did not opt in
    /// itself still honours the server's request.
    /// </summary>
    public bool Always { get; init; } = true;

    /// <summary>True when a round with this config trains with DP-SGD.</summary>
    public bool AppliesTo(ConfigRecord config) => Always || (config?.ContainsKey(PrivacyNames.NoiseMultiplier) ?? false);

    /// <summary>Noise multiplier and clip norm used when the round config does not set them.</summary>
    public DpSgdOptions Defaults { get; }

    /// <summary>The client's ledger.</summary>
    public ClientPrivacyState State { get; }

    /// <summary>The DP-SGD options of a round: config <c>noise_multiplier</c> / <c>max_grad_norm</c> over the defaults.</summary>
    public DpSgdOptions OptionsFor(ConfigRecord config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var options = new DpSgdOptions
        {
            NoiseMultiplier = config.GetDouble(PrivacyNames.NoiseMultiplier, Defaults.NoiseMultiplier),
            MaxGradNorm = config.GetDouble(PrivacyNames.MaxGradNorm, Defaults.MaxGradNorm),
        };
        if (options.Validate() is { } problem)
        {
            throw new ArgumentException(problem);
        }

        return options;
    }

    /// <summary>The (sigma, q, steps, n) a round of training with <paramref name="options"/> on n examples costs.</summary>
    public DpSgdRound RoundFor(TrainOptions options, int examples)
    {
        ArgumentNullException.ThrowIfNull(options);
        var dp = options.DpSgd ?? throw new ArgumentException("options carry no DP-SGD settings", nameof(options));
        return new DpSgdRound(
            dp.NoiseMultiplier,
            DpSgdSchedule.SampleRate(examples, options.BatchSize),
            DpSgdSchedule.Steps(examples, options.BatchSize, options.Epochs),
            examples);
    }

    /// <summary>Records the round in the ledger and adds the fit metrics of design 3.</summary>
    public void Report(DpSgdRound round, MetricRecord metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        var spent = State.Record(round);
        metrics[PrivacyNames.Epsilon] = spent.Epsilon;
        metrics[PrivacyNames.RoundEpsilon] = spent.RoundEpsilon;
        metrics[PrivacyNames.UserEpsilon] = spent.UserEpsilon;
        metrics[PrivacyNames.Delta] = State.Delta;
        metrics[PrivacyNames.SampleRate] = round.SampleRate;
        metrics[PrivacyNames.Steps] = round.Steps;
        metrics[PrivacyNames.NoiseMultiplier] = round.NoiseMultiplier;
    }
}
