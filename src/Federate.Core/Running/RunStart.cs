namespace Federate.Core.Running;

/// <summary>How a durable run starts: new, or resumed after its last checkpointed round.</summary>
public sealed class RunStart
{
    /// <summary>The run's id (a resumed run keeps its own).</summary>
    public required string RunId { get; init; }

    /// <summary>How many processes have run it, this one included (1 for a new run).</summary>
    public int Generation { get; init; } = 1;

    /// <summary>The last checkpointed round's model; null for a new run (or a resumed one without checkpoint yet).</summary>
    public ArrayRecord? Parameters { get; set; }

    /// <summary>The completed rounds to resume after; null for a new run.</summary>
    public RunResume? Resume { get; init; }

    /// <summary>Restores the strategy's state (server optimiser moments, privacy accounting) from the checkpoint.</summary>
    public Action<Strategy>? RestoreStrategy { get; init; }

    /// <summary>Restores the plan's <see cref="RunPlan.DurableState"/> from the checkpoint.</summary>
    public Action? RestoreState { get; init; }

    /// <summary>
    /// The history of a run with the same settings that already finished: nothing is run again (the engine returns
    /// it, with <see cref="Parameters"/> as the final model).
    /// </summary>
    public RunHistory? FinishedHistory { get; init; }

    /// <summary>True when the run had already finished before this start.</summary>
    public bool AlreadyFinished => FinishedHistory is not null;

    /// <summary>True when this start resumes an unfinished run.</summary>
    public bool Resumed => Generation > 1 && !AlreadyFinished;
}
