namespace Federate.Server.Hosting;

/// <summary>
/// Returned by <see cref="FederateServerServiceCollectionExtensions.AddFederateServer(IServiceCollection, Action{FleetServerOptions}?)"/>
/// to chain further Federate registrations (as grpc-dotnet's <c>IGrpcServerBuilder</c>).
/// </summary>
public interface IFederateServerBuilder
{
    /// <summary>The service collection the Federate server is registered in.</summary>
    IServiceCollection Services { get; }
}
