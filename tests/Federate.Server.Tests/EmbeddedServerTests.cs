using System.Net;
using System.Text.Json;
using Federate.Client;
using Federate.Core;
using Federate.Server;
using Federate.Server.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Federate.Server.Tests;

/// <summary>A Federate server embedded in an ASP.NET Core app (samples/EmbeddedServer's composition) on one port.</summary>
public sealed class EmbeddedServerTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task AddFederateServer_TwoClientsTwoRounds_RunCompletesAndStopsTheApp()
    {
        // Arrange: the sample's composition, fleet API and inspector on one HTTP/2 port.
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        builder.Services.AddFederateServer(o =>
        {
            o.Insecure = true;
            o.FinishGrace = TimeSpan.FromSeconds(10);
        });
        var run = new StrategyRun(
            new FedAvg(),
            new RunOptions { Rounds = 2, MinNodes = 2, RoundTimeout = TimeSpan.FromSeconds(30) },
            () => new ArrayRecord { { "w", Tensor.FromArray(new float[4], 4) } });
        builder.Services.AddFederateRun(_ => run);
        await using var app = builder.Build();
        app.MapFederateFleet();
        app.MapFederateInspector();
        await app.StartAsync().WaitAsync(Limit);
        int port = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()).Port;

        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        using (var status = JsonDocument.Parse(await http.GetStringAsync("api/status").WaitAsync(Limit)))
        {
            Assert.Equal("openapi/federate-inspector.json", status.RootElement.GetProperty("openapi").GetString());
        }

        using (var openApi = JsonDocument.Parse(await http.GetStringAsync("openapi/federate-inspector.json").WaitAsync(Limit)))
        {
            Assert.True(openApi.RootElement.GetProperty("paths").TryGetProperty("/api/status", out _));
        }

        // Act: two real clients on the same port.
        using var stop = new CancellationTokenSource(Limit);
        var clients = Enumerable.Range(0, 2)
            .Select(i => new FleetClient(new FleetClientOptions { Server = $"127.0.0.1:{port}", Insecure = true, PartitionId = i, Name = $"site-{i}" }, new AddOneClient().ToClientApp()))
            .ToArray();
        try
        {
            var exits = clients.Select(c => c.RunAsync(stop.Token)).ToArray();
            var host = app.Services.GetRequiredService<FederatedRunHost>();
            int code = await host.Completion.WaitAsync(Limit);

            // Assert: the run ended by its round limit, every client was told, and the app stopped itself.
            Assert.Equal(0, code);
            Assert.Equal(0, host.ExitCode);
            var result = run.Result!;
            Assert.Equal(StopReasons.RoundLimit, result.History.StopReason);
            Assert.Equal(app.Services.GetRequiredService<FleetCoordinator>().Options.RunId, result.History.RunId);
            Assert.Equal(2, result.History.Rounds.Count);
            Assert.All(result.History.Rounds, r => Assert.Equal(2, r.Results));
            Assert.Equal([2f, 2f, 2f, 2f], result.Parameters["w"].GetArray<float>());
            Assert.All(await Task.WhenAll(exits).WaitAsync(Limit), e => Assert.Equal(ClientExit.Finished, e));
            await app.WaitForShutdownAsync().WaitAsync(Limit);
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }
    }

    [Fact]
    public async Task AddFederateServer_InvalidOptions_FailsAtStartWithOneLine()
    {
        // Arrange
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        builder.Services.AddFederateServer(o =>
        {
            o.Insecure = true;
            o.ChunkSize = 10;
        });
        await using var app = builder.Build();
        app.MapFederateFleet();
        app.MapFederateInspector();

        // Act
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync().WaitAsync(Limit));

        // Assert
        Assert.StartsWith("--chunk-size must be in [1024, ", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact]
    public async Task AddFederateServer_NoKitNorInsecure_FailsAtStartWithOneLine()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        builder.Services.AddFederateServer();
        await using var app = builder.Build();
        app.MapFederateFleet();

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync().WaitAsync(Limit));

        Assert.StartsWith("give --kit DIR", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact]
    public void MapFederateFleet_WithoutAddFederateServer_Throws()
    {
        var builder = WebApplication.CreateSlimBuilder();
        var app = builder.Build();

        var ex = Assert.Throws<InvalidOperationException>(() => app.MapFederateFleet());

        Assert.Equal("call services.AddFederateServer(...) before app.MapFederateFleet()", ex.Message);
    }

    [Fact]
    public async Task FederatedRunHost_RunThrows_ExitCodeOneAndAppStops()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        builder.Services.AddFederateServer(o => o.Insecure = true);
        builder.Services.AddFederateRun<ThrowingRun>();
        await using var app = builder.Build();
        app.MapFederateFleet();

        await app.StartAsync().WaitAsync(Limit);
        int code = await app.Services.GetRequiredService<FederatedRunHost>().Completion.WaitAsync(Limit);

        Assert.Equal(1, code);
        await app.WaitForShutdownAsync().WaitAsync(Limit);
    }

    [Fact]
    public async Task FederatedRunHost_KeepServing_RecordsExitCodeAndKeepsTheAppRunning()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        builder.Services.AddFederateServer(o => o.Insecure = true);
        builder.Services.AddFederateRun(sp => new ReturningRun(sp.GetRequiredService<FleetCoordinator>()), o => o.KeepServing = true);
        await using var app = builder.Build();
        app.MapFederateFleet();

        await app.StartAsync().WaitAsync(Limit);
        var host = app.Services.GetRequiredService<FederatedRunHost>();
        int code = await host.Completion.WaitAsync(Limit);

        Assert.Equal(3, code);
        Assert.Equal(3, host.ExitCode);
        Assert.False(app.Lifetime.ApplicationStopping.IsCancellationRequested);
        await app.StopAsync().WaitAsync(Limit);
    }

    private sealed class ThrowingRun : IFederatedRun
    {
        public Task<int> RunAsync(FleetCoordinator coordinator, CancellationToken cancellationToken) => throw new InvalidOperationException("broken infrastructure");
    }

    /// <summary>Returns 3 when given the coordinator registered in the container.</summary>
    private sealed class ReturningRun(FleetCoordinator expected) : IFederatedRun
    {
        public Task<int> RunAsync(FleetCoordinator coordinator, CancellationToken cancellationToken) => Task.FromResult(ReferenceEquals(expected, coordinator) ? 3 : 2);
    }
}
