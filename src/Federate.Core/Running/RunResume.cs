namespace Federate.Core.Running;

/// <summary>
/// Where a resumed run continues: the rounds already completed (1..k, from a checkpoint) are put back into the
/// history and the driver starts at round k+1 with the checkpoint's model, which is not passed through
/// <see cref="Strategy.Initialize"/> again.
/// </summary>
/// <param name="Rounds">The completed rounds 1..k, in order.</param>
public sealed record RunResume(IReadOnlyList<RoundRecord> Rounds)
{
    /// <summary>The last completed round (k); the run continues at k+1.</summary>
    public int CompletedRounds => Rounds.Count == 0 ? 0 : Rounds[^1].Round;
}
