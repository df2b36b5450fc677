using Federate.Server.Hosting;

namespace Federate.Server.Internal;

internal sealed class FederateServerBuilder(IServiceCollection services) : IFederateServerBuilder
{
    public IServiceCollection Services { get; } = services;
}
