using System.Globalization;

namespace Federate.Core.Privacy;

/// <summary>
/// The run-level privacy budget as a check before each round (<see cref="CreateRule"/> makes it a <see cref="IStopRule"/>): the run stops before a round that
/// would raise the user-level epsilon (central DP) or the largest client's sample-level epsilon (DP-SGD) above the
/// target, with stop reason <see cref="StopReasons.PrivacyBudget"/>. Usable by the simulation and a server alike.
/// </summary>
public static class PrivacyRunBudget
{
    /// <summary>The check of <see cref="Create"/> as a stop rule for <see cref="RunOptions.StopRules"/>.</summary>
    public static IStopRule CreateRule(double targetEpsilon, double delta, CentralDpStrategy? central, Func<double?>? projectSampleEpsilon)
        => StopRules.BeforeRound(Create(targetEpsilon, delta, central, projectSampleEpsilon));

    /// <summary>
    /// Creates the check. <paramref name="central"/> projects user-level epsilon exactly;
    /// <paramref name="projectSampleEpsilon"/> returns the largest sample-level epsilon any client would reach after
    /// one more round (e.g. <see cref="PrivacyReportingStrategy.ProjectNextRoundSampleEpsilon"/> on a server, or
    /// the clients' own exact projections in simulation), or null when unknown.
    /// </summary>
    public static Func<int, (string Reason, string Detail)?> Create(double targetEpsilon, double delta, CentralDpStrategy? central, Func<double?>? projectSampleEpsilon)
    {
        if (!(targetEpsilon > 0) || double.IsNaN(targetEpsilon))
        {
            throw new ArgumentOutOfRangeException(nameof(targetEpsilon), targetEpsilon, "--target-epsilon must be a positive number.");
        }

        return round =>
        {
            if (central?.ProjectEpsilon() is { } user && user > targetEpsilon)
            {
                return (StopReasons.PrivacyBudget, Detail(round, "user-level", user, delta, targetEpsilon));
            }

            if (projectSampleEpsilon?.Invoke() is { } sample && sample > targetEpsilon)
            {
                return (StopReasons.PrivacyBudget, Detail(round, "sample-level", sample, delta, targetEpsilon));
            }

            return null;
        };
    }

    private static string Detail(int round, string level, double epsilon, double delta, double target) => string.Create(
        CultureInfo.InvariantCulture,
        $"round {round} would raise the {level} epsilon to {epsilon:0.####} (delta {delta}), above --target-epsilon {target}");
}
