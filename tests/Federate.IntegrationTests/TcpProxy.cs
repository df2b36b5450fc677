using System.Net;
using System.Net.Sockets;

namespace Federate.IntegrationTests;

/// <summary>
/// A TCP proxy on 127.0.0.1 (port 0) in front of a server port that counts the bytes it passes each way, so a test can
/// assert on the wire what a client received (TLS records included).
/// </summary>
internal sealed class TcpProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _pumps = [];
    private readonly Lock _lock = new();
    private readonly Task _accept;
    private long _toClient;
    private long _toServer;

    public TcpProxy(int targetPort)
    {
        _target = targetPort;
        _listener.Start();
        _accept = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Bytes passed from the server to the client so far.</summary>
    public long BytesToClient => Interlocked.Read(ref _toClient);

    /// <summary>Bytes passed from the client to the server so far.</summary>
    public long BytesToServer => Interlocked.Read(ref _toServer);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _accept;
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }

        Task[] pumps;
        lock (_lock)
        {
            pumps = [.. _pumps];
        }

        await Task.WhenAll(pumps).WaitAsync(TimeSpan.FromSeconds(10));
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(_stop.Token);
            var server = new TcpClient { NoDelay = true };
            await server.ConnectAsync(IPAddress.Loopback, _target, _stop.Token);
            client.NoDelay = true;
            lock (_lock)
            {
                _pumps.Add(Task.WhenAll(PumpAsync(client, server, toClient: false), PumpAsync(server, client, toClient: true)).ContinueWith(_ =>
                {
                    client.Dispose();
                    server.Dispose();
                }, TaskScheduler.Default));
            }
        }
    }

    private async Task PumpAsync(TcpClient from, TcpClient to, bool toClient)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            var source = from.GetStream();
            var sink = to.GetStream();
            while (true)
            {
                int n = await source.ReadAsync(buffer, _stop.Token);
                if (n == 0)
                {
                    break;
                }

                Interlocked.Add(ref toClient ? ref _toClient : ref _toServer, n);
                await sink.WriteAsync(buffer.AsMemory(0, n), _stop.Token);
            }

            to.Client.Shutdown(SocketShutdown.Send);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The other side hung up or the proxy stops.
        }
    }
}
