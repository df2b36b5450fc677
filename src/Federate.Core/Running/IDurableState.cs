namespace Federate.Core.Running;

/// <summary>
/// State of a run that lives outside the strategy and must survive a crash with it (e.g. a simulation's client
/// privacy ledgers). A durable run checkpoints it with every round and restores it on resume, so the resumed run
/// goes on exactly as an uninterrupted one. Add it to <see cref="RunPlan.DurableState"/>.
/// </summary>
public interface IDurableState
{
    /// <summary>A name unique within the run (a file name part: letters, digits, '-' and '_').</summary>
    string Name { get; }

    /// <summary>The state as text, taken when a round completes.</summary>
    string Export();

    /// <summary>Restores the state exported at the checkpoint the run resumes from.</summary>
    void Import(string state);
}
