namespace Federate.Core.Privacy;

/// <summary>Metric, config and error names of the privacy features.</summary>
public static class PrivacyNames
{
    /// <summary>Error code of a client that refuses work beyond its privacy budget, and the run's stop reason.</summary>
    public const string BudgetCode = StopReasons.PrivacyBudget;

    /// <summary>Client fit metric: cumulative sample-level epsilon of the client.</summary>
    public const string Epsilon = "epsilon";

    /// <summary>Client fit metric: sample-level epsilon of this round's training alone.</summary>
    public const string RoundEpsilon = "round_epsilon";

    /// <summary>Client fit metric: cumulative client-level epsilon implied by DP-SGD alone.</summary>
    public const string UserEpsilon = "user_epsilon";

    /// <summary>Client fit metric and round config key: delta.</summary>
    public const string Delta = "delta";

    /// <summary>Client fit metric: Poisson sample rate q of local DP-SGD.</summary>
    public const string SampleRate = "sample_rate";

    /// <summary>Client fit metric: local DP-SGD steps of the round.</summary>
    public const string Steps = "steps";

    /// <summary>Round config key and client fit metric: DP-SGD noise multiplier sigma.</summary>
    public const string NoiseMultiplier = "noise_multiplier";

    /// <summary>Round config key: DP-SGD per-example clip norm C.</summary>
    public const string MaxGradNorm = "max_grad_norm";

    /// <summary>Aggregated train metric: max over the round's clients of the epsilon of that round's training alone.</summary>
    public const string RoundSampleEpsilon = "round_sample_epsilon";

    /// <summary>Aggregated train metric: max over all clients seen so far of their cumulative sample-level epsilon.</summary>
    public const string CumulativeSampleEpsilon = "cumulative_sample_epsilon";

    /// <summary>Aggregated train metric: the user-level (client-level) epsilon (docs/privacy.md).</summary>
    public const string CumulativeUserEpsilon = "cumulative_user_epsilon";
}
