using System.Globalization;

namespace Federate.Core.Running;

/// <summary>The built-in stop rules, and adapters that turn a function into a rule.</summary>
public static class StopRules
{
    /// <summary>
    /// Stops once the evaluate <paramref name="metric"/> reaches <paramref name="value"/> (at most, for a metric whose
    /// name contains "loss"; at least otherwise).
    /// </summary>
    public static IStopRule Target(string metric, double value) => new TargetRule(metric, value);

    /// <summary>Stops when the evaluate <paramref name="metric"/> changes by less than <paramref name="threshold"/> between two rounds (design 1).</summary>
    public static IStopRule Convergence(double threshold, string metric) => new ConvergenceRule(threshold, metric);

    /// <summary>A rule checked before each round by a synchronous function (e.g. a privacy budget).</summary>
    public static IStopRule BeforeRound(Func<int, (string Reason, string Detail)?> check)
    {
        ArgumentNullException.ThrowIfNull(check);
        return new BeforeRule((round, _) => ValueTask.FromResult(check(round)));
    }

    /// <summary>A rule awaited before each round (e.g. an operator gate that waits for "next round").</summary>
    public static IStopRule BeforeRoundAsync(Func<int, CancellationToken, ValueTask<(string Reason, string Detail)?>> check)
    {
        ArgumentNullException.ThrowIfNull(check);
        return new BeforeRule(check);
    }

    private sealed class BeforeRule(Func<int, CancellationToken, ValueTask<(string Reason, string Detail)?>> check) : IStopRule
    {
        public async ValueTask<StopDecision?> BeforeRoundAsync(int round, RunHistory history, CancellationToken cancellationToken)
            => await check(round, cancellationToken).ConfigureAwait(false) is { } veto ? new StopDecision(veto.Reason, veto.Detail) : null;
    }

    private sealed class TargetRule(string metric, double value) : IStopRule
    {
        public StopDecision? AfterRound(RunHistory history)
        {
            var current = history.Rounds[^1];
            if (!current.Evaluate.TryGetValue(metric, out var now))
            {
                return null;
            }

            bool lowerIsBetter = metric.Contains("loss", StringComparison.Ordinal);
            return (lowerIsBetter ? now <= value : now >= value)
                ? new StopDecision(StopReasons.TargetReached, string.Create(CultureInfo.InvariantCulture, $"{metric} reached {now:0.####} (target {value}) in round {current.Round}"))
                : null;
        }
    }

    private sealed class ConvergenceRule(double threshold, string metric) : IStopRule
    {
        public StopDecision? AfterRound(RunHistory history)
        {
            if (history.Rounds.Count < 2)
            {
                return null;
            }

            var current = history.Rounds[^1];
            var previous = history.Rounds[^2];
            if (!current.Evaluate.TryGetValue(metric, out var now) || !previous.Evaluate.TryGetValue(metric, out var before))
            {
                return null;
            }

            var change = Math.Abs(now - before);
            return change < threshold
                ? new StopDecision(StopReasons.Converged, string.Create(CultureInfo.InvariantCulture, $"{metric} changed by {change:0.######} between rounds {previous.Round} and {current.Round}, less than the threshold {threshold}"))
                : null;
        }
    }
}
