using Federate.Protocol;
using Federate.Server.Flower;
using Federate.Server.Inspector;
using Federate.Server.Internal;
using Federate.State;
using Grpc.AspNetCore.Server;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Federate.Server.Hosting;

/// <summary>
/// Registers a Federate server in an ASP.NET Core application, the way <c>AddGrpc</c> registers gRPC: the coordinator
/// services here, the endpoints with <see cref="FederateEndpointRouteBuilderExtensions"/>.
/// </summary>
/// <example>
/// <code>
/// builder.Services.AddFederateServer(o => o.Insecure = true);
/// builder.Services.AddFederateRun(_ => new StrategyRun(new FedAvg(), new RunOptions { Rounds = 3 }, CreateModel));
/// var app = builder.Build();
/// app.MapFederateFleet();
/// app.MapFederateInspector();
/// </code>
/// </example>
public static class FederateServerServiceCollectionExtensions
{
    /// <summary>
    /// Adds the coordinator as singletons: node registry, gRPC grid, <see cref="RunControl"/>, notifications and
    /// webhooks, inspector state and the <see cref="FleetCoordinator"/>. <see cref="FleetServerOptions"/> are bound with
    /// the options pattern and validated when the host starts (an invalid setting fails the start with
    /// an <see cref="OptionsValidationException"/> whose message is one line).
    /// </summary>
    /// <remarks>
    /// The application's own Kestrel endpoints serve the mapped endpoints, so <see cref="FleetServerOptions.Port"/>,
    /// <see cref="FleetServerOptions.Host"/>, <see cref="FleetServerOptions.FlowerPort"/>,
    /// <see cref="FleetServerOptions.ConfigureFlowerEndpoint"/> and <see cref="InspectorOptions.Port"/> are not used:
    /// give the fleet API an HTTP/2 endpoint (TLS with ALPN, or HTTP/2 only without TLS). A <see cref="StateStore"/>
    /// registered in the container is shown by the inspector. Calling this again adds only the configuration.
    /// </remarks>
    /// <param name="services">The application's services.</param>
    /// <param name="configure">Sets the options (after any configuration binding).</param>
    /// <returns>A builder to chain further registrations.</returns>
    public static IFederateServerBuilder AddFederateServer(this IServiceCollection services, Action<FleetServerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<FleetServerOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<FleetServerOptions>, FleetServerOptionsValidator>());
        AddCoordinator(services, embedded: true, inspector: true);
        return new FederateServerBuilder(services);
    }

    /// <summary>
    /// Adds the Federate server with options bound from <paramref name="configuration"/> (e.g. the <c>Federate</c>
    /// section: <c>Insecure</c>, <c>HeartbeatInterval</c>, <c>Webhooks</c>, <c>Inspector:Manual</c>, ...), then
    /// <paramref name="configure"/>.
    /// </summary>
    /// <param name="services">The application's services.</param>
    /// <param name="configuration">The configuration section holding <see cref="FleetServerOptions"/>.</param>
    /// <param name="configure">Sets the options after binding.</param>
    /// <returns>A builder to chain further registrations.</returns>
    public static IFederateServerBuilder AddFederateServer(this IServiceCollection services, IConfiguration configuration, Action<FleetServerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<FleetServerOptions>().Bind(configuration);
        return services.AddFederateServer(configure);
    }

    /// <summary>
    /// Registers <typeparamref name="TRun"/> as the application's run (a singleton) and a <see cref="FederatedRunHost"/>
    /// that runs it once the application started, then stops the application. One run per application: the last
    /// registered is used.
    /// </summary>
    /// <typeparam name="TRun">The run; created by the container.</typeparam>
    /// <param name="services">The application's services.</param>
    /// <param name="configure">Settings of the run host (e.g. <see cref="FederatedRunHostOptions.KeepServing"/>).</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddFederateRun<TRun>(this IServiceCollection services, Action<FederatedRunHostOptions>? configure = null)
        where TRun : class, IFederatedRun
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddSingleton<IFederatedRun, TRun>();
        return AddRunHost(services, configure);
    }

    /// <summary>Registers the run created by <paramref name="factory"/> and a <see cref="FederatedRunHost"/> that runs it (see <see cref="AddFederateRun{TRun}"/>).</summary>
    /// <param name="services">The application's services.</param>
    /// <param name="factory">Creates the run (once).</param>
    /// <param name="configure">Settings of the run host.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddFederateRun(this IServiceCollection services, Func<IServiceProvider, IFederatedRun> factory, Action<FederatedRunHostOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(factory);
        services.AddSingleton(factory);
        return AddRunHost(services, configure);
    }

    private static IServiceCollection AddRunHost(IServiceCollection services, Action<FederatedRunHostOptions>? configure)
    {
        var options = services.AddOptions<FederatedRunHostOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        if (!services.Any(d => d.ServiceType == typeof(FederatedRunHost)))
        {
            services.AddSingleton<FederatedRunHost>();
            services.AddHostedService(sp => sp.GetRequiredService<FederatedRunHost>());
        }

        return services;
    }

    /// <summary>
    /// The coordinator's services. <paramref name="embedded"/>: inside someone's application (inspector OpenAPI
    /// document "federate-inspector", the app's JSON conventions untouched); otherwise <see cref="FleetServer"/>'s own app.
    /// </summary>
    internal static void AddCoordinator(IServiceCollection services, bool embedded, bool inspector)
    {
        if (services.Any(d => d.ServiceType == typeof(FleetCoordinator)))
        {
            return;
        }

        var accessor = new InspectorStateAccessor { OpenApiDocument = embedded ? "federate-inspector" : "v1" };
        services.AddSingleton(accessor);
        if (inspector)
        {
            InspectorEndpoints.AddServices(services, accessor, ownApp: !embedded);
        }

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(new TransferEndpoint());
        TelemetrySetup.AddTo(services);
        services.AddGrpc();
        services.AddOptions<GrpcServiceOptions<FleetService>>().Configure<IOptions<FleetServerOptions>>((grpc, server) =>
        {
            grpc.MaxReceiveMessageSize = FleetProtocol.MaxMessageSize;
            grpc.MaxSendMessageSize = FleetProtocol.MaxMessageSize;
            grpc.ResponseCompressionAlgorithm = CompressionOf(server);

            // Malformed messages fail before any handler runs; the detail then names the parse error
            // ("InvalidProtocolBufferException: ...") instead of a bare "Exception was thrown by handler".
            grpc.EnableDetailedErrors = true;
        });
        FlowerEndpoint.AddServices(services);

        services.TryAddSingleton(sp => sp.GetRequiredService<IOptions<FleetServerOptions>>().Value);
        services.TryAddSingleton(sp =>
        {
            var options = sp.GetRequiredService<FleetServerOptions>();
            return new NodeRegistry(sp.GetRequiredService<TimeProvider>(), options.HeartbeatInterval, options.EffectiveNodeExpiry, sp.GetRequiredService<ILoggerFactory>().CreateLogger("Federate.Server.Nodes"), options.FirstNodeId);
        });
        services.TryAddSingleton(sp =>
        {
            var options = sp.GetRequiredService<FleetServerOptions>();
            return options.Webhooks.Count == 0 ? null! : new WebhookSender(options.Webhooks, sp.GetRequiredService<ILoggerFactory>().CreateLogger("Federate.Server.Webhooks"), sp.GetRequiredService<TimeProvider>());
        });
        services.TryAddSingleton(sp => new FleetSecurity(sp.GetRequiredService<FleetServerOptions>(), sp.GetRequiredService<NodeRegistry>(), sp.GetRequiredService<FleetGrid>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILoggerFactory>().CreateLogger("Federate.Server.Security")));
        services.TryAddSingleton(sp =>
        {
            var options = sp.GetRequiredService<FleetServerOptions>();
            return new NotificationHub(options.RunId, sp.GetRequiredService<NodeRegistry>(), options.Webhooks.Count == 0 ? null : sp.GetRequiredService<WebhookSender>());
        });
        services.TryAddSingleton(sp => new FleetGrid(sp.GetRequiredService<NodeRegistry>(), sp.GetRequiredService<NotificationHub>(), sp.GetRequiredService<FleetServerOptions>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILoggerFactory>().CreateLogger("Federate.Server.Grid")));
        services.TryAddSingleton(sp => new RunControl(sp.GetRequiredService<FleetServerOptions>().Inspector?.Manual ?? false));
        services.TryAddSingleton(CreateCoordinator);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, CoordinatorStartup>());
    }

    /// <summary>
    /// The fleet service's response compression. MapGrpcService reads the service's gRPC options when the routes are
    /// mapped, before the host starts: invalid server options are then left to the start-up validation, which
    /// reports them as one line instead of a failure inside the route mapping.
    /// </summary>
    private static string? CompressionOf(IOptions<FleetServerOptions> server)
    {
        try
        {
            return server.Value.Compression == "gzip" ? "gzip" : null;
        }
        catch (OptionsValidationException)
        {
            return null;
        }
    }

    private static FleetCoordinator CreateCoordinator(IServiceProvider sp)
    {
        var options = sp.GetRequiredService<FleetServerOptions>();
        var logger = sp.GetRequiredService<ILoggerFactory>().CreateLogger("Federate.Server");
        if (options.Insecure)
        {
            ServerLog.Insecure(logger);
        }
        else if (options.Identity is { } id)
        {
            ServerLog.Secure(logger, id.Kit.Settings.Project, string.Join(",", id.Kit.Settings.ServerHosts), options.EncryptPayloads ? "on" : "off");
        }

        var registry = sp.GetRequiredService<NodeRegistry>();
        var control = sp.GetRequiredService<RunControl>();
        var accessor = sp.GetRequiredService<InspectorStateAccessor>();
        InspectorState? inspector = null;
        if (options.Inspector is not null || accessor.Mapped)
        {
            var inspectorOptions = options.Inspector ?? new InspectorOptions();
            inspector = new InspectorState(inspectorOptions, options.AdminAuthenticator, registry, control, sp.GetRequiredService<TimeProvider>(), InspectorEndpoints.JsonOptions)
            {
                HeartbeatInterval = options.HeartbeatInterval,
                Store = inspectorOptions.StateStore ?? sp.GetService<StateStore>(),
                Insecure = options.Insecure,
                OpenApiDocument = accessor.OpenApiDocument,
            };
            accessor.State = inspector;
            if (!inspectorOptions.SecureAggregation && inspectorOptions.KeepClientWeights)
            {
                ServerLog.KeepingClientWeights(logger);
            }

            if (options.AdminAuthenticator is null && options.Insecure)
            {
                ServerLog.AdminOpen(logger);
            }
        }

        return new FleetCoordinator(
            options,
            registry,
            sp.GetRequiredService<FleetGrid>(),
            sp.GetRequiredService<NotificationHub>(),
            options.Webhooks.Count == 0 ? null : sp.GetRequiredService<WebhookSender>(),
            inspector,
            control,
            logger);
    }
}
