using System.Net;
using System.Net.Sockets;

namespace Federate.IntegrationTests;

/// <summary>
/// A TCP proxy on 127.0.0.1 (free port) in front of a server that records every byte each way, so a test can see
/// exactly what the server receives from clients (and sends them).
/// </summary>
internal sealed class RecordingProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly MemoryStream _toServer = new();
    private readonly MemoryStream _toClients = new();
    private readonly List<Task> _pumps = [];
    private readonly Lock _lock = new();
    private readonly Task _accept;

    public RecordingProxy(int serverPort)
    {
        _listener.Start();
        _accept = AcceptAsync(serverPort);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Everything clients sent to the server so far.</summary>
    public byte[] ToServer()
    {
        lock (_lock)
        {
            return _toServer.ToArray();
        }
    }

    /// <summary>Everything the server sent to clients so far.</summary>
    public byte[] ToClients()
    {
        lock (_lock)
        {
            return _toClients.ToArray();
        }
    }

    private async Task AcceptAsync(int serverPort)
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                var server = new TcpClient();
                await server.ConnectAsync(IPAddress.Loopback, serverPort, _stop.Token);
                lock (_lock)
                {
                    _pumps.Add(PumpAsync(client, server, _toServer));
                    _pumps.Add(PumpAsync(server, client, _toClients));
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
    }

    private async Task PumpAsync(TcpClient from, TcpClient to, MemoryStream record)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            var input = from.GetStream();
            var output = to.GetStream();
            int n;
            while ((n = await input.ReadAsync(buffer, _stop.Token)) > 0)
            {
                lock (_lock)
                {
                    record.Write(buffer, 0, n);
                }

                await output.WriteAsync(buffer.AsMemory(0, n), _stop.Token);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException or SocketException)
        {
        }
        finally
        {
            from.Dispose();
            to.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accept;
        Task[] pumps;
        lock (_lock)
        {
            pumps = [.. _pumps];
        }

        await Task.WhenAll(pumps);
        _stop.Dispose();
    }
}
