using Federate.Protocol;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Federate.Server.Flower;

/// <summary>
/// Wiring of the Flower port: its own Kestrel endpoint (HTTP/2 only, so h2c works), Flower's message size limit on
/// the Join service (legacy clients) and the Fleet service (SuperNodes), and a filter so the Flower port serves only
/// those two and the native port never does.
/// </summary>
internal static class FlowerEndpoint
{
    private const string ConnectionTag = "federate.flower";
    private const string ServicePath = "/flwr.proto.FlowerService";
    private const string FleetPath = "/flwr.proto.Fleet";

    public static Action<ListenOptions> Configure(FleetServerOptions options) => listen =>
    {
        listen.Protocols = HttpProtocols.Http2;
        listen.Use(next => connection =>
        {
            connection.Items[ConnectionTag] = true;
            return next(connection);
        });
        if (options.ConfigureFlowerEndpoint is { } configure)
        {
            configure(listen);
        }
        else if (!options.Insecure && options.Identity is { } identity)
        {
            // With a kit, Flower clients connect over TLS with the server's certificate
            // (Flower: root_certificates = the kit's ca.pem). They do not run the challenge-response.
            listen.UseHttps(identity.Kit.Certificate);
        }
    };

    /// <summary>Flower's message size limits on the Join service (registered whether or not it is mapped).</summary>
    public static void AddServices(IServiceCollection services)
    {
        services.AddGrpc().AddServiceOptions<FlowerJoinService>(grpc =>
        {
            // Flower peers send whole models in one message (up to 2 GiB - 1 since Flower 1.16).
            grpc.MaxReceiveMessageSize = FlowerMapping.MaxMessageSize;
            grpc.MaxSendMessageSize = null;
        });
        services.AddGrpc().AddServiceOptions<FlowerFleetService>(grpc =>
        {
            grpc.MaxReceiveMessageSize = FlowerMapping.MaxMessageSize;
            grpc.MaxSendMessageSize = null;
        });
        services.TryAddSingleton<SuperNodeDirectory>();
    }

    public static void Map(WebApplication app, FleetServerOptions options)
    {
        if (options.FlowerPort is null)
        {
            return;
        }

        app.Use((context, next) =>
        {
            bool flowerConnection = context.Features.Get<IConnectionItemsFeature>()?.Items.ContainsKey(ConnectionTag) == true;
            bool flowerCall = context.Request.Path.StartsWithSegments(ServicePath, StringComparison.Ordinal) || context.Request.Path.StartsWithSegments(FleetPath, StringComparison.Ordinal);
            if (flowerConnection != flowerCall)
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return Task.CompletedTask;
            }

            return next(context);
        });
        app.MapGrpcService<FlowerJoinService>();
        app.MapGrpcService<FlowerFleetService>();
    }

    /// <summary>Logs where the Flower port listens and returns it (null when not served).</summary>
    public static int? Started(ICollection<string> addresses, FleetServerOptions options, ILogger logger)
    {
        if (options.FlowerPort is null)
        {
            return null;
        }

        var bound = addresses.Skip(1).First();
        int port = new Uri(bound.Replace("[::]", "localhost", StringComparison.Ordinal).Replace("0.0.0.0", "localhost", StringComparison.Ordinal)).Port;
        FlowerLog.Listening(logger, bound);
        if (options.FlowerApp is { } path)
        {
            var app = FlowerAppBundle.Load(path);
            FlowerLog.ServingApp(logger, bound, app.FabId, app.Version, app.Hash);
        }

        if (options.ConfigureFlowerEndpoint is null && (options.Insecure || options.Identity is null))
        {
            FlowerLog.Plaintext(logger);
        }
        else
        {
            FlowerLog.Unauthenticated(logger);
        }

        return port;
    }
}
