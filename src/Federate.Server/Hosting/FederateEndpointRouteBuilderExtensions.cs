using Federate.Server.Flower;
using Federate.Server.Inspector;
using Federate.Server.Internal;
using Microsoft.AspNetCore.Routing;

namespace Federate.Server.Hosting;

/// <summary>
/// Maps a Federate server's endpoints in an ASP.NET Core application (after
/// <see cref="FederateServerServiceCollectionExtensions.AddFederateServer(IServiceCollection, Action{FleetServerOptions}?)"/>),
/// the way <c>MapGrpcService</c> maps a gRPC service. They are served on the application's own endpoints; restrict one
/// to a port or host with the returned builder (<c>.RequireHost("*:9093")</c>).
/// </summary>
public static class FederateEndpointRouteBuilderExtensions
{
    /// <summary>Maps the native fleet API (gRPC service <c>federate.fleet.v1.Fleet</c>; needs HTTP/2).</summary>
    /// <param name="endpoints">The application's routes.</param>
    /// <returns>A builder to add conventions to the fleet API's endpoints.</returns>
    /// <exception cref="InvalidOperationException">AddFederateServer was not called.</exception>
    public static GrpcServiceEndpointConventionBuilder MapFederateFleet(this IEndpointRouteBuilder endpoints)
    {
        Require(endpoints, nameof(MapFederateFleet));
        return endpoints.MapGrpcService<FleetService>();
    }

    /// <summary>
    /// Maps the inspector: the dashboard at <c>/</c>, the JSON API under <c>/api</c>, live updates at
    /// <c>/api/events/stream</c> (server-sent events) and the OpenAPI description at
    /// <c>/openapi/federate-inspector.json</c>, relative to <paramref name="endpoints"/> (map it on a group, e.g.
    /// <c>app.MapGroup("/federate").MapFederateInspector()</c>, to put it under a prefix). Browsers need HTTP/1.1 or
    /// TLS: without TLS serve it on an HTTP/1.1 endpoint.
    /// </summary>
    /// <param name="endpoints">The application's routes (or a group).</param>
    /// <returns>The inspector's route group, to add conventions (authorization, host restriction, ...).</returns>
    /// <exception cref="InvalidOperationException">AddFederateServer was not called.</exception>
    public static RouteGroupBuilder MapFederateInspector(this IEndpointRouteBuilder endpoints)
    {
        var accessor = Require(endpoints, nameof(MapFederateInspector));
        return InspectorEndpoints.Map(endpoints, accessor, inspectorPort: null);
    }

    /// <summary>
    /// Maps Flower's <c>flwr.proto.FlowerService/Join</c> stream, so Flower 1.5 to 1.27 clients join the run as grid
    /// nodes (needs HTTP/2; Flower clients do not run the challenge-response).
    /// </summary>
    /// <param name="endpoints">The application's routes.</param>
    /// <returns>A builder to add conventions to the Join endpoint.</returns>
    /// <exception cref="InvalidOperationException">AddFederateServer was not called.</exception>
    public static GrpcServiceEndpointConventionBuilder MapFlowerCompat(this IEndpointRouteBuilder endpoints)
    {
        Require(endpoints, nameof(MapFlowerCompat));
        return endpoints.MapGrpcService<FlowerJoinService>();
    }

    /// <summary>
    /// Maps Flower's Fleet API (<c>flwr.proto.Fleet</c>, Flower 1.19's shape), so SuperNodes (<c>flower-supernode</c>)
    /// join the run as grid nodes and run the Flower app of <see cref="FleetServerOptions.FlowerApp"/> (needs HTTP/2;
    /// SuperNodes do not run the challenge-response).
    /// </summary>
    /// <param name="endpoints">The application's routes.</param>
    /// <returns>A builder to add conventions to the Fleet endpoints.</returns>
    /// <exception cref="InvalidOperationException">AddFederateServer was not called.</exception>
    public static GrpcServiceEndpointConventionBuilder MapFlowerFleet(this IEndpointRouteBuilder endpoints)
    {
        Require(endpoints, nameof(MapFlowerFleet));
        return endpoints.MapGrpcService<FlowerFleetService>();
    }

    private static InspectorStateAccessor Require(IEndpointRouteBuilder endpoints, string method)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        return endpoints.ServiceProvider.GetService<InspectorStateAccessor>()
            ?? throw new InvalidOperationException($"call services.AddFederateServer(...) before app.{method}()");
    }
}
