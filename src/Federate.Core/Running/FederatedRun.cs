namespace Federate.Core.Running;

/// <summary>
/// Runs a <see cref="RunPlan"/> over a grid: begins or resumes the durable run, restores the strategy's state,
/// drives the rounds (<see cref="RunDriver"/>) with the durable state's observer first, and writes the outputs.
/// <see cref="Prepare"/> is separate from <see cref="RunAsync(IGrid, CancellationToken)"/> so a server knows the run
/// (its id, its generation) before it starts listening.
/// </summary>
public sealed class FederatedRun
{
    private readonly RunPlan _plan;

    private FederatedRun(RunPlan plan, RunStart? start)
    {
        _plan = plan;
        Start = start;
        RunId = start?.RunId ?? plan.Options.RunId;
    }

    /// <summary>The run's id.</summary>
    public string RunId { get; }

    /// <summary>How the durable run started; null without durability.</summary>
    public RunStart? Start { get; }

    /// <summary>
    /// Begins the run of <paramref name="plan"/>: with durability, resumes the unfinished run with the same settings
    /// or records a new one (<paramref name="newRun"/> forces a new one).
    /// </summary>
    public static FederatedRun Prepare(RunPlan plan, bool newRun = false)
    {
        ArgumentNullException.ThrowIfNull(plan);
        plan.Outputs?.EnsureDirectory();
        return new FederatedRun(plan, plan.Durability?.Begin(plan, newRun));
    }

    /// <summary>Prepares and runs <paramref name="plan"/> over <paramref name="grid"/>.</summary>
    public static Task<RunResult> RunAsync(RunPlan plan, IGrid grid, CancellationToken cancellationToken = default)
        => Prepare(plan).RunAsync(grid, cancellationToken);

    /// <summary>Runs the rounds over <paramref name="grid"/> until a stop rule holds, then writes the outputs.</summary>
    public async Task<RunResult> RunAsync(IGrid grid, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(grid);
        if (Start is { FinishedHistory: { } finished })
        {
            // The same settings already ran to the end: nothing runs again.
            var done = new RunResult(Start.Parameters ?? [], finished);
            if (Start.Parameters is not null)
            {
                _plan.Outputs?.Write(done);
            }

            return done;
        }

        var options = _plan.Options;
        options.RunId = RunId;
        options.Resume = Start?.Resume;
        var strategy = _plan.Strategy;
        Start?.RestoreStrategy?.Invoke(strategy);
        Start?.RestoreState?.Invoke();

        var observers = new List<IRunObserver>(_plan.Observers.Count + 1);
        if (_plan.Durability is { } durability && Start is { } start)
        {
            observers.Add(durability.Track(start, strategy, () => cancellationToken.IsCancellationRequested));
        }

        observers.AddRange(_plan.Observers);
        var driver = new RunDriver(grid, strategy, options, observers);
        var result = await driver.RunAsync(await InitialAsync(grid, cancellationToken).ConfigureAwait(false), new Dictionary<string, object?>(_plan.Config), cancellationToken).ConfigureAwait(false);
        _plan.Outputs?.Write(result);
        return result;
    }

    private ValueTask<ArrayRecord> InitialAsync(IGrid grid, CancellationToken cancellationToken)
    {
        if (Start?.Parameters is { } checkpoint)
        {
            // Handed over once: the driver drops its reference after round 1, and so must we.
            Start.Parameters = null;
            return ValueTask.FromResult(checkpoint);
        }

        return _plan.Initial(grid, cancellationToken);
    }
}
