using Federate.Server.Internal;
using Microsoft.Extensions.Options;

namespace Federate.Server.Hosting;

/// <summary>
/// Runs the registered <see cref="IFederatedRun"/> once against the <see cref="FleetCoordinator"/> when the
/// application starts, records its exit code, and stops the application when the run returns (unless
/// <see cref="FederatedRunHostOptions.KeepServing"/>). Registered by
/// <see cref="FederateServerServiceCollectionExtensions.AddFederateRun{TRun}(IServiceCollection, Action{FederatedRunHostOptions}?)"/>;
/// resolve it to read <see cref="ExitCode"/> after the application stopped.
/// </summary>
public sealed class FederatedRunHost : BackgroundService
{
    private readonly IServiceProvider _services;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly FederatedRunHostOptions _options;
    private readonly ILogger _logger;
    private readonly TaskCompletionSource<int> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Creates the host (by dependency injection).</summary>
    public FederatedRunHost(IServiceProvider services, IHostApplicationLifetime lifetime, IOptions<FederatedRunHostOptions> options, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _services = services ?? throw new ArgumentNullException(nameof(services));
        _lifetime = lifetime ?? throw new ArgumentNullException(nameof(lifetime));
        _options = options.Value;
        _logger = loggerFactory.CreateLogger("Federate.Server");
    }

    /// <summary>The run's exit code once it returned (1 when it threw); null while it runs.</summary>
    public int? ExitCode => _completion.Task.IsCompleted ? _completion.Task.Result : null;

    /// <summary>Completes with the run's exit code when the run returned.</summary>
    public Task<int> Completion => _completion.Task;

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        int code;
        try
        {
            // The run starts once the application started (Kestrel listens), so ending early cannot cut the start short.
            await WhenStartedAsync(_lifetime.ApplicationStarted, stoppingToken).ConfigureAwait(false);
            var coordinator = _services.GetRequiredService<FleetCoordinator>();
            var run = _services.GetRequiredService<IFederatedRun>();
            code = await run.RunAsync(coordinator, stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The application is stopping: the run was cancelled, not failed.
            code = 1;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            ServerLog.RunFailed(_logger, ex);
            code = 1;
        }

        _completion.TrySetResult(code);
        bool stop = !_options.KeepServing && !stoppingToken.IsCancellationRequested;
        ServerLog.RunEnded(_logger, code, stop ? "stopping the application" : stoppingToken.IsCancellationRequested ? "the application is stopping" : "still serving");
        if (stop)
        {
            _lifetime.StopApplication();
        }
    }

    private static async Task WhenStartedAsync(CancellationToken started, CancellationToken stopping)
    {
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (started.Register(() => tcs.TrySetResult()))
        using (stopping.Register(() => tcs.TrySetCanceled(stopping)))
        {
            await tcs.Task.ConfigureAwait(false);
        }
    }
}
