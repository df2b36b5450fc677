using Federate.Server.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace Federate.Server.Internal;

internal sealed class FederateServerBuilder(IServiceCollection services) : IFederateServerBuilder
{
    public IServiceCollection Services { get; } = services;
}
