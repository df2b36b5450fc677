namespace Federate.Server;

/// <summary>
/// A federated run driven against a <see cref="FleetCoordinator"/>: what a hosted Federate server does once it
/// listens. Register one with
/// <see cref="Hosting.FederateServerServiceCollectionExtensions.AddFederateRun{TRun}(Microsoft.Extensions.DependencyInjection.IServiceCollection, Action{Hosting.FederatedRunHostOptions}?)"/>;
/// the <see cref="Hosting.FederatedRunHost"/> calls <see cref="RunAsync"/> once, records the exit code and stops
/// the application when it returns.
/// </summary>
/// <remarks>
/// An implementation typically runs a <see cref="Core.Running.RunPlan"/> (or a <see cref="Core.Running.RunDriver"/>) over
/// <see cref="FleetCoordinator.Grid"/> with <see cref="FleetCoordinator.Observer"/>, writes its outputs, and ends with <see cref="FleetCoordinator.FinishAsync"/> so connected clients learn the run is over.
/// Node failures are values in the run's history; exceptions are for broken infrastructure (the host logs them and
/// records exit code 1). <see cref="StrategyRun"/> is a simple implementation.
/// </remarks>
public interface IFederatedRun
{
    /// <summary>Runs to the end and returns the process exit code (0 = the run finished).</summary>
    /// <param name="coordinator">The server's coordinator.</param>
    /// <param name="cancellationToken">Cancelled when the application stops (Ctrl+C): end the run as cancelled.</param>
    Task<int> RunAsync(FleetCoordinator coordinator, CancellationToken cancellationToken);
}
