using System.Net;
using Federate.Core;
using Federate.Protocol;
using Federate.Server.Inspector;
using Federate.Server.Internal;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

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
/// var driver = new RunDriver(server.Grid, server.Wrap(strategy), runOptions, [server.Observer]);
/// var result = await driver.RunAsync(initial, config, ct);
/// await server.FinishAsync(result.History, ct);
/// </code>
/// </example>
public sealed class FleetServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly NodeRegistry _registry;
    private readonly FleetGrid _grid;
    private readonly WebhookSender? _webhooks;
    private readonly FleetServerOptions _options;

    private InspectorState? _inspector;

    private FleetServer(WebApplication app, NodeRegistry registry, FleetGrid grid, WebhookSender? webhooks, IRunObserver observer, FleetServerOptions options, int port)
    {
        _app = app;
        _registry = registry;
        _grid = grid;
        _webhooks = webhooks;
        Observer = observer;
        _options = options;
        Port = port;
    }

    /// <summary>The port the server listens on (the chosen one when <see cref="FleetServerOptions.Port"/> was 0).</summary>
    public int Port { get; }

    /// <summary>The gRPC grid to give the run driver.</summary>
    public IGrid Grid => _inspector is null ? _grid : new InspectingGrid(_grid, _inspector);

    /// <summary>Operator control of the run (inspector actions); give <see cref="RunControl.BeforeRoundAsync"/> to the run options.</summary>
    public RunControl Control { get; private init; } = new(manual: false);

    /// <summary>The dashboard's URL (<c>http://HOST:PORT/</c>), or null without an inspector.</summary>
    public string? InspectorUrl { get; private init; }

    /// <summary>Logs a line per round and sends lifecycle notifications; give it to the run driver.</summary>
    public IRunObserver Observer { get; }

    /// <summary>Number of connected nodes.</summary>
    public int NodeCount => _registry.Count;

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
                inspectorEndpoint = InspectorEndpoints.Listen(kestrel, address, inspectorOptions.Port, options.Insecure ? null : options.Identity?.Kit.Certificate);
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

        Flower.FlowerEndpoint.AddServices(builder.Services, options);
        builder.Services.AddSingleton(options);
        var inspectorAccessor = new InspectorStateAccessor();
        if (options.Inspector is not null)
        {
            InspectorEndpoints.AddServices(builder.Services);
            builder.Services.AddSingleton(inspectorAccessor);
        }

        builder.Services.AddSingleton(time);
        builder.Services.AddSingleton(sp => new NodeRegistry(time, options.HeartbeatInterval, options.EffectiveNodeExpiry, sp.GetRequiredService<ILoggerFactory>().CreateLogger("Federate.Server.Nodes"), options.FirstNodeId));
        builder.Services.AddSingleton(sp => options.Webhooks.Count == 0 ? null! : new WebhookSender(options.Webhooks, sp.GetRequiredService<ILoggerFactory>().CreateLogger("Federate.Server.Webhooks"), time));
        builder.Services.AddSingleton(sp => new FleetSecurity(options, sp.GetRequiredService<NodeRegistry>(), sp.GetRequiredService<ILoggerFactory>().CreateLogger("Federate.Server.Security")));
        builder.Services.AddSingleton(sp => new NotificationHub(options.RunId, sp.GetRequiredService<NodeRegistry>(), options.Webhooks.Count == 0 ? null : sp.GetRequiredService<WebhookSender>()));
        builder.Services.AddSingleton(sp => new FleetGrid(sp.GetRequiredService<NodeRegistry>(), sp.GetRequiredService<NotificationHub>(), options, time, sp.GetRequiredService<ILoggerFactory>().CreateLogger("Federate.Server.Grid")));

        var app = builder.Build();
        Flower.FlowerEndpoint.Map(app, options);
        app.MapGrpcService<FleetService>();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Federate.Server");
        if (options.Insecure)
        {
            ServerLog.Insecure(logger);
        }
        else if (options.Identity is { } id)
        {
            SecurityLog.Secure(logger, id.Kit.Settings.Project, string.Join(",", id.Kit.Settings.ServerHosts), options.EncryptPayloads ? "on" : "off");
        }

        var control = new RunControl(options.Inspector?.Manual ?? false);
        InspectorState? inspector = null;
        if (options.Inspector is { } inspectorSettings)
        {
            inspector = new InspectorState(inspectorSettings, options.AdminAuthenticator, app.Services.GetRequiredService<NodeRegistry>(), control, time, InspectorEndpoints.JsonOptions)
            {
                HeartbeatInterval = options.HeartbeatInterval,
            };
            inspectorAccessor.State = inspector;
            app.UseExceptionHandler();
            app.UseStatusCodePages();
            InspectorEndpoints.Map(app, inspector, () => inspectorEndpoint?.IPEndPoint?.Port ?? -1, options.Insecure, logger);
            if (options.AdminAuthenticator is null && options.Insecure)
            {
                ServerLog.AdminOpen(logger);
            }
        }

        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException ex) when (ex.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw options.Inspector is { Port: > 0 } busy && ex.Message.Contains($":{busy.Port}:", StringComparison.Ordinal)
                ? new IOException($"the inspector's port {busy.Port} is in use (another federate server?); pick another with --inspector-port PORT (0 = any free port) or turn it off with --no-inspector", ex)
                : new IOException($"port {options.Port} is in use (another federate server?); pick another with --port PORT (0 = any free port)", ex);
        }
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        var bound = addresses.First();
        int port = new Uri(bound.Replace("[::]", "localhost", StringComparison.Ordinal).Replace("0.0.0.0", "localhost", StringComparison.Ordinal)).Port;
        ServerLog.Listening(logger, bound, FleetProtocol.Version, options.RunId);
        int? flowerPort = Flower.FlowerEndpoint.Started(addresses, options, logger);

        var registry = app.Services.GetRequiredService<NodeRegistry>();
        var grid = app.Services.GetRequiredService<FleetGrid>();
        var webhooks = options.Webhooks.Count == 0 ? null : app.Services.GetRequiredService<WebhookSender>();
        var observer = new FleetRunObserver(app.Services.GetRequiredService<NotificationHub>(), logger);
        string? inspectorUrl = null;
        if (inspectorEndpoint?.IPEndPoint is { } inspectorBound)
        {
            var shown = inspectorBound.Address.Equals(IPAddress.Any) || inspectorBound.Address.Equals(IPAddress.IPv6Any) ? "127.0.0.1" : inspectorBound.Address.ToString();
            inspectorUrl = $"{(options.Insecure || options.Identity is null ? "http" : "https")}://{shown}:{inspectorBound.Port}/";
        }

        return new FleetServer(app, registry, grid, webhooks, inspector is null ? observer : new CompositeRunObserver([inspector, observer]), options, port)
        {
            _inspector = inspector,
            Control = control,
            InspectorUrl = inspectorUrl,
            FlowerPort = flowerPort,
        };
    }

    /// <summary>The port of Flower's Join stream (the chosen one when <see cref="FleetServerOptions.FlowerPort"/> was 0); null when not served.</summary>
    public int? FlowerPort { get; private init; }

    /// <summary>
    /// Returns <paramref name="strategy"/> unchanged: the run driver hands each round's aggregator to <see cref="Grid"/>,
    /// which folds updates as they stream in whenever the aggregator can stream (server memory O(model)). Kept so
    /// existing callers compile; no wrapping is needed.
    /// </summary>
    public Strategy Wrap(Strategy strategy) => strategy ?? throw new ArgumentNullException(nameof(strategy));

    /// <summary>
    /// Tells connected clients that the run is over, then waits up to <see cref="FleetServerOptions.FinishGrace"/>
    /// for them to leave and for queued webhooks to go out.
    /// </summary>
    public async Task FinishAsync(RunHistory history, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(history);
        _registry.Finish(history.StopReason ?? StopReasons.RoundLimit, history.StopDetail ?? "");
        var grace = Task.Delay(_options.FinishGrace, cancellationToken);
        if (_webhooks is not null)
        {
            await _webhooks.DrainAsync(_options.FinishGrace).ConfigureAwait(false);
        }

        while (_registry.Count > 0 && !grace.IsCompleted)
        {
            await Task.WhenAny(grace, Task.Delay(50, cancellationToken)).ConfigureAwait(false);
        }
    }

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

        if (_webhooks is not null)
        {
            await _webhooks.DisposeAsync().ConfigureAwait(false);
        }

        _registry.Dispose();
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
