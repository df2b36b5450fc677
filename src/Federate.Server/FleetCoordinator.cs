using Federate.Server.Inspector;
using Federate.Server.Internal;
using Microsoft.Extensions.Logging;

namespace Federate.Server;

/// <summary>
/// The coordinator of a Federate server, as a service: the gRPC grid over the connected nodes, operator control of the
/// run, the run observer (round log lines, lifecycle notifications and webhooks, the inspector) and the strategy
/// wrapper for streaming aggregation. Registered as a singleton by
/// <see cref="Hosting.FederateServerServiceCollectionExtensions.AddFederateServer(Microsoft.Extensions.DependencyInjection.IServiceCollection, Action{FleetServerOptions}?)"/>;
/// an <see cref="IFederatedRun"/> drives a run against it.
/// </summary>
/// <example>
/// <code>
/// var driver = new RunDriver(coordinator.Grid, strategy, runOptions, [coordinator.Observer]);
/// var result = await driver.RunAsync(initial, config, cancellationToken);
/// await coordinator.FinishAsync(result.History, cancellationToken);
/// </code>
/// </example>
public sealed class FleetCoordinator
{
    private readonly NodeRegistry _registry;
    private readonly FleetGrid _grid;
    private readonly WebhookSender? _webhooks;
    private readonly FleetServerOptions _options;
    private readonly InspectorState? _inspector;

    internal FleetCoordinator(FleetServerOptions options, NodeRegistry registry, FleetGrid grid, NotificationHub hub, WebhookSender? webhooks, InspectorState? inspector, RunControl control, ILogger logger)
    {
        (_options, _registry, _grid, _webhooks, _inspector, Control) = (options, registry, grid, webhooks, inspector, control);
        var observer = new FleetRunObserver(hub, logger);
        Observer = inspector is null ? observer : new CompositeRunObserver([inspector, observer]);
        Grid = inspector is null ? grid : new InspectingGrid(grid, inspector);
    }

    /// <summary>The gRPC grid to give the run driver.</summary>
    public IGrid Grid { get; }

    /// <summary>Operator control of the run (inspector actions); give <see cref="RunControl.BeforeRoundAsync"/> to the run options.</summary>
    public RunControl Control { get; }

    /// <summary>Logs a line per round and sends lifecycle notifications (and feeds the inspector); give it to the run driver.</summary>
    public IRunObserver Observer { get; }

    /// <summary>The server's settings.</summary>
    public FleetServerOptions Options => _options;

    /// <summary>Number of connected nodes.</summary>
    public int NodeCount => _registry.Count;

    /// <summary>
    /// Tells connected clients that the run is over, then waits up to <see cref="FleetServerOptions.FinishGrace"/>
    /// for them to leave and for queued webhooks to go out.
    /// </summary>
    public async Task FinishAsync(RunHistory history, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(history);
        _registry.Finish(history.StopReason ?? StopReasons.RoundLimit, history.StopDetail ?? "");
        var grace = Task.Delay(_options.FinishGrace, cancellationToken);
        if (_webhooks is not null)
        {
            await _webhooks.DrainAsync(_options.FinishGrace).ConfigureAwait(false);
        }

        while (_registry.Count > 0 && !grace.IsCompleted)
        {
            await Task.WhenAny(grace, Task.Delay(50, cancellationToken)).ConfigureAwait(false);
        }
    }
}
