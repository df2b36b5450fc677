namespace Federate.Server;

/// <summary>
/// A simple <see cref="IFederatedRun"/>: one strategy from an initial model, rounds driven by a
/// <see cref="RunDriver"/> over the coordinator's grid, rounds gated by the inspector's <see cref="RunControl"/>,
/// and the clients told when it ends. No resume, checkpoints or output files: read <see cref="Result"/>, or write
/// outputs in <see cref="OnCompletedAsync"/>.
/// </summary>
/// <example>
/// <code>
/// builder.Services.AddFederateRun(_ => new StrategyRun(new FedAvg(), new RunOptions { Rounds = 3, MinNodes = 2 }, () => initialModel));
/// </code>
/// </example>
public sealed class StrategyRun : IFederatedRun
{
    private RunPlan? _plan;

    /// <summary>A run of <paramref name="strategy"/> with <paramref name="options"/>, starting from <paramref name="initialModel"/> (created when the run starts).</summary>
    public StrategyRun(Strategy strategy, RunOptions options, Func<ArrayRecord> initialModel)
        : this(new RunPlan
        {
            Strategy = strategy ?? throw new ArgumentNullException(nameof(strategy)),
            Options = options ?? throw new ArgumentNullException(nameof(options)),
            Initial = RunPlan.Fixed(initialModel ?? throw new ArgumentNullException(nameof(initialModel))),
        })
    {
    }

    /// <summary>
    /// A run of a whole <see cref="RunPlan"/>: privacy, stop rules, observers, outputs and durability (a state
    /// directory resumes an unfinished run with the same settings) apply as in <c>federate server</c>.
    /// </summary>
    public StrategyRun(RunPlan plan)
    {
        _plan = plan ?? throw new ArgumentNullException(nameof(plan));
    }

    /// <summary>Settings recorded as the history's config (merged into the plan's).</summary>
    public IReadOnlyDictionary<string, object?>? Config { get; init; }

    /// <summary>Called with the result before the clients are told the run is over (e.g. to save the model).</summary>
    public Func<RunResult, CancellationToken, Task>? OnCompletedAsync { get; init; }

    /// <summary>The result, once the run ended.</summary>
    public RunResult? Result { get; private set; }

    /// <inheritdoc />
    public async Task<int> RunAsync(FleetCoordinator coordinator, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(coordinator);
        var plan = Interlocked.Exchange(ref _plan, null) ?? throw new InvalidOperationException("a StrategyRun runs once; register a new one for another run");
        foreach (var (key, value) in Config ?? new Dictionary<string, object?>())
        {
            plan.Config[key] = value;
        }

        // One run id for the history and the notifications (training_uuid) the server sends (a resumed durable run keeps its own).
        plan.Options.RunId = coordinator.Options.RunId;
        plan.Options.StopRules.Add(StopRules.BeforeRoundAsync(coordinator.Control.BeforeRoundAsync));
        plan.Observers.Add(coordinator.Observer);
        var run = FederatedRun.Prepare(plan);
        coordinator.Control.BeginRun();
        RunResult result;
        try
        {
            result = await run.RunAsync(coordinator.Grid, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            coordinator.Control.EndRun();
        }

        Result = result;
        if (OnCompletedAsync is { } completed)
        {
            await completed(result, cancellationToken).ConfigureAwait(false);
        }

        await coordinator.FinishAsync(result.History, CancellationToken.None).ConfigureAwait(false);
        return result.History.StopReason == StopReasons.Cancelled ? 1 : 0;
    }
}
