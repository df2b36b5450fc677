using Federate.Security;

namespace Federate.Cli.Commands;

/// <summary>A client kit and the server address it names.</summary>
internal sealed record LoadedClientKit(ClientIdentity Identity, string? DefaultServer) : IDisposable
{
    public void Dispose()
    {
        Identity.Dispose();
        Identity.Kit.Dispose();
    }
}
