namespace Federate.Chaos;

/// <summary>The outcome of one chaos trial.</summary>
/// <param name="Index">Trial number (1-based within its kind).</param>
/// <param name="Kind">What the trial did.</param>
/// <param name="Planned">The fault drawn from the seed (e.g. <c>upload:3:17</c>, <c>timed 2.41 s</c>, <c>cut conn 1 up @52311 B</c>).</param>
/// <param name="Landed">Where it landed: the kill point reached, or for timed kills the phase the server was in.</param>
/// <param name="Finished">The run completed (server exit 0 after the last restart).</param>
/// <param name="Identical">The final model.safetensors is byte-identical to the uninterrupted reference's.</param>
/// <param name="RoundsOnce">history.json holds rounds 1..R exactly once and the state database agrees.</param>
/// <param name="AuditComplete">The events log has the run's start, each round completed once, one resume per restart and the finish, with no gaps.</param>
/// <param name="ResumedAfter">The round the restarted server resumed after (server kills).</param>
/// <param name="Problem">What went wrong, when something did.</param>
/// <param name="Seconds">Wall time of the trial.</param>
public sealed record TrialResult(int Index, TrialKind Kind, string Planned, string Landed, bool Finished, bool Identical, bool RoundsOnce, bool AuditComplete, int? ResumedAfter, string? Problem, double Seconds)
{
    /// <summary>Rounds aggregated with fewer train results than clients (a reply lost to the fault).</summary>
    public int ShortRounds { get; init; }

    /// <summary>Finished, rounds once and audit complete (identical is reported separately).</summary>
    public bool Consistent => Finished && RoundsOnce && AuditComplete;
}
