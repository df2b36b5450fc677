namespace Federate.Server.Internal;

/// <summary>
/// Creates the <see cref="FleetCoordinator"/> when the host starts, before Kestrel listens, so the inspector sees
/// every node from the first, and a configuration problem stops the start.
/// </summary>
internal sealed class CoordinatorStartup(IServiceProvider services) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        services.GetRequiredService<FleetCoordinator>();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
