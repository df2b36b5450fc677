using Federate.Core;

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
    private readonly Strategy _strategy;
    private readonly RunOptions _options;
    private Func<ArrayRecord>? _initialModel;

    /// <summary>Creates the run.</summary>
    /// <param name="strategy">The strategy; the coordinator wraps it for streaming aggregation.</param>
    /// <param name="options">
    /// Round limit, stopping rules, configs; <see cref="RunOptions.BeforeRoundAsync"/> defaults to the coordinator's
    /// <see cref="RunControl"/>, and <see cref="RunOptions.RunId"/> becomes the server's <see cref="FleetServerOptions.RunId"/>.
    /// </param>
    /// <param name="initialModel">
    /// Creates the initial global model when the run starts (a factory, not a model, so the initial model can be
    /// collected once round 1 replaced it).
    /// </param>
    public StrategyRun(Strategy strategy, RunOptions options, Func<ArrayRecord> initialModel)
    {
        _strategy = strategy ?? throw new ArgumentNullException(nameof(strategy));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _initialModel = initialModel ?? throw new ArgumentNullException(nameof(initialModel));
    }

    /// <summary>Config recorded in the history (history.json's <c>config</c>). Default empty.</summary>
    public IReadOnlyDictionary<string, object?>? Config { get; init; }

    /// <summary>Called with the result before the clients are told the run finished (write the model and history here). Default none.</summary>
    public Func<RunResult, CancellationToken, Task>? OnCompletedAsync { get; init; }

    /// <summary>The final model and history once the run ended; null before.</summary>
    public RunResult? Result { get; private set; }

    /// <inheritdoc />
    /// <returns>0 when the run ended by a stopping rule, 1 when it was cancelled.</returns>
    /// <exception cref="InvalidOperationException">The run was already run.</exception>
    public async Task<int> RunAsync(FleetCoordinator coordinator, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(coordinator);
        var initialModel = Interlocked.Exchange(ref _initialModel, null) ?? throw new InvalidOperationException("a StrategyRun runs once; register a new one for another run");
        _options.BeforeRoundAsync ??= coordinator.Control.BeforeRoundAsync;

        // One run id for the history and the notifications (training_uuid) the server sends.
        _options.RunId = coordinator.Options.RunId;
        coordinator.Control.BeginRun();
        RunResult result;
        try
        {
            var driver = new RunDriver(coordinator.Grid, coordinator.Wrap(_strategy), _options, [coordinator.Observer]);

            // The initial model is created inline, not kept in a local of this async method, so it can be collected after round 1.
            result = await driver.RunAsync(initialModel(), Config, cancellationToken).ConfigureAwait(false);
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
