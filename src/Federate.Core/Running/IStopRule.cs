namespace Federate.Core.Running;

/// <summary>
/// One rule that may end a run: checked before each round (a privacy budget, an operator gate that may wait) and
/// after each completed round (a target metric, convergence). A run's rules are one ordered list
/// (<see cref="RunOptions.StopRules"/>); the first rule that answers stops the run. The round limit, too few results
/// and cancellation are the driver's own.
/// </summary>
public interface IStopRule
{
    /// <summary>
    /// Checked before <paramref name="round"/> (1-based) starts; may wait (an operator who starts each round by hand).
    /// Returns null to let the round run.
    /// </summary>
    ValueTask<StopDecision?> BeforeRoundAsync(int round, RunHistory history, CancellationToken cancellationToken) => default;

    /// <summary>Checked after each completed round (and on resume, against the last checkpointed round). Null goes on.</summary>
    StopDecision? AfterRound(RunHistory history) => null;
}
