using System.Net;
using System.Net.Sockets;
using Federate.Server;

namespace Federate.Server.Tests;

/// <summary>The inspector binds its own address, 127.0.0.1 unless told otherwise, whatever the fleet port binds.</summary>
public sealed class InspectorBindingTests
{
    [Fact]
    public void InspectorOptions_Default_BindsLoopbackOnly()
    {
        Assert.Equal("127.0.0.1", new InspectorOptions().Host);
        Assert.Null(new InspectorOptions().Validate());
        Assert.Equal("'inspector_host' must be an IP address (127.0.0.1, 0.0.0.0 for every interface), got 'example.org'", new InspectorOptions { Host = "example.org" }.Validate());
    }

    [Theory]
    [InlineData(null, "127.0.0.1", "127.0.0.2")]
    [InlineData("127.0.0.2", "127.0.0.2", "127.0.0.1")]
    public async Task Start_InspectorHost_ListensOnThatAddressOnly(string? host, string reachable, string unreachable)
    {
        var inspector = new InspectorOptions { Port = 0 };
        if (host is not null)
        {
            inspector.Host = host;
        }

        await using var server = await FleetServer.StartAsync(new FleetServerOptions { Port = 0, Host = "127.0.0.1", Insecure = true, Inspector = inspector });
        var port = new Uri(server.InspectorUrl!).Port;
        Assert.StartsWith($"http://{reachable}:", server.InspectorUrl, StringComparison.Ordinal);

        using (var ok = new TcpClient())
        {
            await ok.ConnectAsync(IPAddress.Parse(reachable), port).WaitAsync(TimeSpan.FromSeconds(30));
            Assert.True(ok.Connected);
        }

        using var refused = new TcpClient();
        var error = await Assert.ThrowsAsync<SocketException>(() => refused.ConnectAsync(IPAddress.Parse(unreachable), port).WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(SocketError.ConnectionRefused, error.SocketErrorCode);
    }
}
