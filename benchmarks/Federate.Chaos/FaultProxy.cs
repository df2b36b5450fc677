using System.Net;
using System.Net.Sockets;

namespace Federate.Chaos;

/// <summary>
/// A loopback TCP proxy in front of a server port that injects one <see cref="ProxyFault"/>: it cuts or stalls a
/// connection in the middle of the byte stream (so in the middle of an HTTP/2 frame and of a tensor chunk), then
/// forwards everything else untouched. Listens on 127.0.0.1 with a free port.
/// </summary>
public sealed class FaultProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _target;
    private readonly ProxyFault? _fault;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _pumps = [];
    private readonly Lock _lock = new();
    private readonly Task _accepting;
    private int _connections;
    private int _fired;

    /// <summary>Starts a proxy to 127.0.0.1:<paramref name="targetPort"/> with an optional fault.</summary>
    public FaultProxy(int targetPort, ProxyFault? fault)
    {
        _target = targetPort;
        _fault = fault;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    /// <summary>The port clients connect to.</summary>
    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Connections accepted so far.</summary>
    public int Connections => Volatile.Read(ref _connections);

    /// <summary>True once the fault fired.</summary>
    public bool Fired => Volatile.Read(ref _fired) == 1;

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        Task[] pumps;
        lock (_lock)
        {
            pumps = [.. _pumps, _accepting];
        }

        try
        {
            await Task.WhenAll(pumps).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or IOException or TimeoutException or ObjectDisposedException)
        {
            // Connections torn down at the end.
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            int index = Interlocked.Increment(ref _connections) - 1;
            lock (_lock)
            {
                _pumps.Add(ServeAsync(client, index));
            }
        }
    }

    private async Task ServeAsync(Socket client, int index)
    {
        var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        client.NoDelay = true;
        try
        {
            await server.ConnectAsync(new IPEndPoint(IPAddress.Loopback, _target), _stop.Token).ConfigureAwait(false);
            using var broken = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            var fault = _fault is { } f && f.Connection == index ? f : null;
            var up = PumpAsync(client, server, fault is { Upstream: true } ? fault : null, client, server, broken);
            var down = PumpAsync(server, client, fault is { Upstream: false } ? fault : null, client, server, broken);
            await Task.WhenAll(up, down).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or IOException or ObjectDisposedException)
        {
            // A side hung up (or the fault cut it).
        }
        finally
        {
            client.Dispose();
            server.Dispose();
        }
    }

    private async Task PumpAsync(Socket from, Socket to, ProxyFault? fault, Socket client, Socket server, CancellationTokenSource broken)
    {
        var buffer = new byte[16 * 1024];
        long passed = 0;
        try
        {
            while (true)
            {
                int n = await from.ReceiveAsync(buffer, SocketFlags.None, broken.Token).ConfigureAwait(false);
                if (n == 0)
                {
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }

                if (fault is not null && passed + n >= fault.AtByte && Interlocked.Exchange(ref _fired, 1) == 0)
                {
                    int before = (int)Math.Max(0, fault.AtByte - passed);
                    await SendAllAsync(to, buffer.AsMemory(0, before), broken.Token).ConfigureAwait(false);
                    if (fault.Stall is not { } stall)
                    {
                        // Cut: reset both sides mid-stream.
                        client.LingerState = new LingerOption(true, 0);
                        server.LingerState = new LingerOption(true, 0);
                        await broken.CancelAsync().ConfigureAwait(false);
                        client.Close();
                        server.Close();
                        return;
                    }

                    await Task.Delay(stall, broken.Token).ConfigureAwait(false);
                    await SendAllAsync(to, buffer.AsMemory(before, n - before), broken.Token).ConfigureAwait(false);
                    passed += n;
                    continue;
                }

                await SendAllAsync(to, buffer.AsMemory(0, n), broken.Token).ConfigureAwait(false);
                passed += n;
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or IOException or ObjectDisposedException)
        {
            // One side is gone: end the other as well.
            await broken.CancelAsync().ConfigureAwait(false);
            from.Dispose();
            to.Dispose();
        }
    }

    private static async Task SendAllAsync(Socket to, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        while (data.Length > 0)
        {
            int sent = await to.SendAsync(data, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            data = data[sent..];
        }
    }
}
