using Federate.Client;
using Federate.Client.Flower;
using Microsoft.Extensions.Logging;

namespace Federate.Cli.Commands;

/// <summary><c>federate client --protocol flower</c>: runs client apps under a Flower server, one Join stream each.</summary>
internal static class FlowerClientRunner
{
    public static async Task<int> RunAsync(string server, IReadOnlyList<IClientApp> apps, ILogger logger, TextWriter error, CancellationToken cancellationToken, bool superNode = false)
    {
        var clients = apps.Select(app => superNode ? new Connector(new SuperNodeClient(server, app, logger)) : new Connector(new FlowerClient(server, app, logger))).ToList();
        try
        {
            await Task.WhenAll(clients.Select(c => c.RunAsync(cancellationToken))).ConfigureAwait(false);
            return ExitCodes.Success;
        }
        catch (FleetClientException ex)
        {
            await error.WriteLineAsync($"error: {ex.Message}").ConfigureAwait(false);
            return ExitCodes.Failure;
        }
        catch (Exception ex) when (cancellationToken.IsCancellationRequested && ex is OperationCanceledException or Grpc.Core.RpcException)
        {
            // Ctrl+C: the operator stopped the client, as with the native protocol.
            return ExitCodes.Success;
        }
        finally
        {
            foreach (var c in clients)
            {
                c.Dispose();
            }
        }
    }

    /// <summary>A legacy Flower client or a SuperNode: either runs until its server ends the run.</summary>
    private sealed class Connector : IDisposable
    {
        private readonly Func<CancellationToken, Task> _run;
        private readonly IDisposable _owner;

        public Connector(FlowerClient client) => (_run, _owner) = (client.RunAsync, client);

        public Connector(SuperNodeClient client) => (_run, _owner) = (client.RunAsync, client);

        public Task RunAsync(CancellationToken cancellationToken) => _run(cancellationToken);

        public void Dispose() => _owner.Dispose();
    }
}
