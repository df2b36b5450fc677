using System.Net;
using Federate.Protocol;
using Federate.Server.Hosting;
using Federate.Server.Inspector;
using Federate.Server.Internal;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Federate.Server;

/// <summary>
/// A Federate server: hosts the native fleet API on Kestrel (HTTP/2), keeps the node registry, and offers the
/// gRPC grid, a strategy wrapper for streaming aggregation and a run observer (round log lines, notifications and
/// webhooks) to a <see cref="RunDriver"/>. With <see cref="FleetServerOptions.Inspector"/> it also serves the inspector
/// (dashboard and JSON API on its own HTTP/1.1 endpoint, <see cref="InspectorUrl"/>) and <see cref="Control"/> lets
/// admins start rounds, stop and reset.
/// </summary>
/// <example>
/// <code>
/// await using var server = await FleetServer.StartAsync(options, logging => logging.AddSimpleConsole(), cancellationToken: ct);
/// var driver = new RunDriver(server.Grid, strategy, runOptions, [server.Observer]);
/// var result = await driver.RunAsync(initial, config, ct);
/// await server.FinishAsync(result.History, ct);
/// </code>
/// </example>
public sealed class FleetServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FleetServer(WebApplication app, FleetCoordinator coordinator, int port)
    {
        _app = app;
        Coordinator = coordinator;
        Port = port;
    }

    /// <summary>The port the server listens on (the chosen one when <see cref="FleetServerOptions.Port"/> was 0).</summary>
    public int Port { get; }

    /// <summary>The coordinator: grid, run control, observer, strategy wrapper (what an <see cref="IFederatedRun"/> is given).</summary>
    public FleetCoordinator Coordinator { get; }

    /// <summary>The gRPC grid to give the run driver.</summary>
    public IGrid Grid => Coordinator.Grid;

    /// <summary>Operator control of the run (inspector actions); give <see cref="RunControl.BeforeRoundAsync"/> to the run as a stop rule.</summary>
    public RunControl Control => Coordinator.Control;

    /// <summary>The dashboard's URL (<c>http://HOST:PORT/</c>), or null without an inspector.</summary>
    public string? InspectorUrl { get; private init; }

    /// <summary>Logs a line per round and sends lifecycle notifications; give it to the run driver.</summary>
    public IRunObserver Observer => Coordinator.Observer;

    /// <summary>Number of connected nodes.</summary>
    public int NodeCount => Coordinator.NodeCount;

    /// <summary>Starts listening.</summary>
    /// <exception cref="ArgumentException">The options are invalid (one-line message).</exception>
    public static async Task<FleetServer> StartAsync(FleetServerOptions options, Action<ILoggingBuilder>? configureLogging = null, TimeProvider? timeProvider = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if ((options.Validate() ?? options.Inspector?.Validate()) is { } problem)
        {
            throw new ArgumentException(problem);
        }

        var time = timeProvider ?? TimeProvider.System;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning).AddFilter("Grpc", LogLevel.Warning);

        // A failed start (a port in use) is reported once, as the exception StartAsync throws, not also as a logged stack trace.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical);
        configureLogging?.Invoke(builder.Logging);
        builder.WebHost.UseSockets(sockets => sockets.UnsafePreferInlineScheduling = true);
        ListenOptions? inspectorEndpoint = null;
        ListenOptions? transferEndpoint = null;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            var address = options.Host is "0.0.0.0" or "*" ? IPAddress.Any : IPAddress.Parse(options.Host);
            kestrel.Listen(address, options.Port, listen =>
            {
                listen.Protocols = HttpProtocols.Http2;
                if (!options.Insecure && options.Identity is { } identity)
                {
                    // TLS with the kit's server certificate (ALPN h2). No client certificate at the TLS layer: clients
                    // prove themselves by the challenge-response, which also holds through TLS-terminating proxies.
                    listen.UseHttps(identity.Kit.Certificate);
                }
            });
            if (options.FlowerPort is { } flowerPort)
            {
                kestrel.Listen(address, flowerPort, Flower.FlowerEndpoint.Configure(options));
            }

            if (options.Inspector is { } inspectorOptions)
            {
                // With a kit the dashboard is served over HTTPS with the server's certificate.
                inspectorEndpoint = InspectorEndpoints.Listen(kestrel, inspectorOptions.Address, inspectorOptions.Port, options.Insecure ? null : options.Identity?.Kit.Certificate);
            }

            // Listened last: the Flower endpoint is found as the second bound address.
            if (options.TransferPort >= 0 && options.Compression != "gzip")
            {
                transferEndpoint = TransferEndpoint.Listen(kestrel, address, options);
            }

            kestrel.Limits.MaxRequestBodySize = null;
            kestrel.Limits.MinRequestBodyDataRate = null;
            kestrel.Limits.MinResponseDataRate = null;
            kestrel.Limits.Http2.MaxStreamsPerConnection = 256;
            kestrel.Limits.Http2.InitialConnectionWindowSize = 4 << 20;
            kestrel.Limits.Http2.InitialStreamWindowSize = 2 << 20;
            kestrel.Limits.Http2.MaxFrameSize = 1 << 20;
            kestrel.Limits.Http2.KeepAlivePingDelay = TimeSpan.FromSeconds(20);
            kestrel.Limits.Http2.KeepAlivePingTimeout = TimeSpan.FromSeconds(20);
        });
        builder.Services.AddGrpc(grpc =>
        {
            grpc.MaxReceiveMessageSize = FleetProtocol.MaxMessageSize;
            grpc.MaxSendMessageSize = FleetProtocol.MaxMessageSize;
            grpc.ResponseCompressionAlgorithm = options.Compression == "gzip" ? "gzip" : null;

            // Malformed messages fail before any handler runs; the detail then names the parse error
            // ("InvalidProtocolBufferException: ...") instead of a bare "Exception was thrown by handler".
            grpc.EnableDetailedErrors = true;
        });

        // The same services an embedding app gets from AddFederateServer, with these (already validated) options.
        builder.Services.AddSingleton(time);
        builder.Services.AddSingleton(Microsoft.Extensions.Options.Options.Create(options));
        if (options.Inspector?.StateStore is { } store)
        {
            builder.Services.AddSingleton(store);
        }

        FederateServerServiceCollectionExtensions.AddCoordinator(builder.Services, embedded: false, inspector: options.Inspector is not null);

        var app = builder.Build();
        Flower.FlowerEndpoint.Map(app, options);
        app.MapFederateFleet();
        TransferEndpoint.Map(app);
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Federate.Server");
        if (options.Inspector is not null)
        {
            app.UseExceptionHandler();
            app.UseStatusCodePages();
            InspectorEndpoints.Map(app, app.Services.GetRequiredService<InspectorStateAccessor>(), () => inspectorEndpoint?.IPEndPoint?.Port ?? -1);
        }

        // Created now, not when the host starts, so its log lines (insecure, admin open) come before "listening".
        var coordinator = app.Services.GetRequiredService<FleetCoordinator>();

        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException ex) when (ex.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw options.TransferPort > 0 && ex.Message.Contains($":{options.TransferPort}:", StringComparison.Ordinal)
                ? new IOException($"the transfer endpoint's port {options.TransferPort} is in use; pick another with --transfer-port PORT (0 = any free port, -1 = off)", ex)
                : options.Inspector is { Port: > 0 } busy && ex.Message.Contains($":{busy.Port}:", StringComparison.Ordinal)
                ? new IOException($"the inspector's port {busy.Port} is in use (another federate server?); pick another with --inspector-port PORT (0 = any free port) or turn it off with --no-inspector", ex)
                : new IOException($"port {options.Port} is in use (another federate server?); pick another with --port PORT (0 = any free port)", ex);
        }
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        var bound = addresses.First();
        int port = new Uri(bound.Replace("[::]", "localhost", StringComparison.Ordinal).Replace("0.0.0.0", "localhost", StringComparison.Ordinal)).Port;
        ServerLog.Listening(logger, bound, FleetProtocol.Version, options.RunId);
        app.Services.GetRequiredService<TransferEndpoint>().Port = transferEndpoint?.IPEndPoint?.Port ?? 0;
        int? flowerPort = Flower.FlowerEndpoint.Started(addresses, options, logger);

        string? inspectorUrl = null;
        if (inspectorEndpoint?.IPEndPoint is { } inspectorBound)
        {
            var shown = inspectorBound.Address.Equals(IPAddress.Any) || inspectorBound.Address.Equals(IPAddress.IPv6Any) ? "127.0.0.1" : inspectorBound.Address.ToString();
            inspectorUrl = $"{(options.Insecure || options.Identity is null ? "http" : "https")}://{shown}:{inspectorBound.Port}/";
        }

        return new FleetServer(app, coordinator, port)
        {
            InspectorUrl = inspectorUrl,
            FlowerPort = flowerPort,
        };
    }

    /// <summary>The port of Flower's Join stream (the chosen one when <see cref="FleetServerOptions.FlowerPort"/> was 0); null when not served.</summary>
    public int? FlowerPort { get; private init; }

    /// <summary>
    /// Tells connected clients that the run is over, then waits up to <see cref="FleetServerOptions.FinishGrace"/>
    /// for them to leave and for queued webhooks to go out.
    /// </summary>
    public Task FinishAsync(RunHistory history, CancellationToken cancellationToken = default) => Coordinator.FinishAsync(history, cancellationToken);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            await _app.StopAsync(stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Open streams were cut at the stop deadline.
        }

        // The container disposes the registry and the webhook sender.
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
