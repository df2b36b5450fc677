using System.Globalization;

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

/// <summary>
/// A client mod that enforces a site's privacy budget: it refuses a train instruction whose training would raise the
/// client's cumulative epsilon above the budget, answering an error reply with code "privacy_budget" and a one-line
/// reason. Other instructions pass through.
/// </summary>
public static class PrivacyBudgetMod
{
    /// <summary>
    /// Creates the mod. <paramref name="projectEpsilon"/> returns the cumulative epsilon the client would have after
    /// handling the train instruction (null when it would spend nothing, e.g. DP is off).
    /// </summary>
    public static ClientMod Create(double maxEpsilon, Func<Message, double?> projectEpsilon)
    {
        if (!(maxEpsilon > 0) || double.IsNaN(maxEpsilon))
        {
            throw new ArgumentOutOfRangeException(nameof(maxEpsilon), maxEpsilon, "--max-epsilon must be a positive number.");
        }

        ArgumentNullException.ThrowIfNull(projectEpsilon);
        return (message, next, cancellationToken) =>
        {
            if (message.Metadata.MessageType == MessageType.Train && projectEpsilon(message) is { } projected && projected > maxEpsilon)
            {
                var reason = string.Create(CultureInfo.InvariantCulture, $"privacy budget: training round {message.Metadata.Round} would raise this client's epsilon to {projected:0.####}, above its budget --max-epsilon {maxEpsilon}; refusing");
                return ValueTask.FromResult(message.CreateErrorReply(new MessageError(PrivacyNames.BudgetCode, reason)));
            }

            return next(message, cancellationToken);
        };
    }
}
