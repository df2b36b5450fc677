namespace Federate.Core.Running;

/// <summary>
/// Durable state of runs (a state directory): starts a run or resumes the unfinished one with the same settings,
/// and checkpoints every round. Implemented by <c>Federate.State</c>; the engine sees only this contract.
/// </summary>
public interface IRunDurability
{
    /// <summary>
    /// Resumes the unfinished run of <paramref name="plan"/> (same settings) from its last checkpoint, or records a
    /// new run. With <paramref name="newRun"/> a new run is recorded whatever is unfinished.
    /// </summary>
    RunStart Begin(RunPlan plan, bool newRun = false);

    /// <summary>The observer that checkpoints the run <paramref name="start"/> began (given to the driver first).</summary>
    IRunObserver Track(RunStart start, Strategy strategy, Func<bool> interrupted);
}
