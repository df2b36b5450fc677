namespace Federate.Core.Running;

/// <summary>
/// Everything that defines a federated run, independent of where its nodes are: the strategy (already wrapped for
/// privacy, see <see cref="Privacy.RunPrivacy"/>), the options (rounds, configs, stages, stop rules), the initial
/// parameters, the settings recorded in the history, observers, outputs and durability. A simulation runs a plan
/// over in-memory nodes, a server over its fleet; the same plan with the same seed gives the same model.
/// Run it with <see cref="FederatedRun"/>.
/// </summary>
public sealed class RunPlan
{
    /// <summary>The strategy.</summary>
    public required Strategy Strategy { get; set; }

    /// <summary>Rounds, seed, configs, stages and stop rules.</summary>
    public RunOptions Options { get; init; } = new();

    /// <summary>
    /// Gives the initial global model of a new run (not called when a run resumes from a checkpoint). It gets the
    /// grid, so it can ask a node (<see cref="InitialParameters.FromClientAsync"/>).
    /// </summary>
    public required Func<IGrid, CancellationToken, ValueTask<ArrayRecord>> Initial { get; init; }

    /// <summary>The run's settings, recorded in <c>history.json</c> and, with durability, compared on restart.</summary>
    public IDictionary<string, object?> Config { get; init; } = new Dictionary<string, object?>();

    /// <summary>Observers of the run (progress, notifications, dashboards), after the durable state's own.</summary>
    public IList<IRunObserver> Observers { get; } = [];

    /// <summary>State outside the strategy that is checkpointed every round and restored on resume.</summary>
    public IList<IDurableState> DurableState { get; } = [];

    /// <summary>Where the final model and history are written; null writes nothing.</summary>
    public RunOutputs? Outputs { get; init; }

    /// <summary>Durable state (checkpoints every round, resume after a crash); null keeps the run in memory only.</summary>
    public IRunDurability? Durability { get; set; }

    /// <summary>An initial model given directly.</summary>
    public static Func<IGrid, CancellationToken, ValueTask<ArrayRecord>> Fixed(Func<ArrayRecord> create)
    {
        ArgumentNullException.ThrowIfNull(create);
        return (_, _) => ValueTask.FromResult(create());
    }
}
