using Federate.Security;

namespace Federate.Server;

/// <summary>
/// Admin credentials backed by the project's admin kits: accepts <c>Authorization: Bearer TOKEN</c> where TOKEN comes
/// from <c>federate admin token --kit ADMIN_KIT</c> (signed by the admin's kit key, certificate from the project CA,
/// enrolled admin, not revoked, not expired).
/// </summary>
public sealed class KitAdminAuthenticator(ServerIdentity identity, TimeProvider? timeProvider = null) : IAdminAuthenticator
{
    /// <inheritdoc />
    public string? Authenticate(string? authorization, out string? problem)
    {
        const string Scheme = "Bearer ";
        if (authorization is null || !authorization.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            problem = "no admin credential: send 'Authorization: Bearer TOKEN' with a token from 'federate admin token --kit ADMIN_KIT'";
            return null;
        }

        return AdminTokens.Verify(authorization[Scheme.Length..].Trim(), identity, timeProvider, out problem);
    }
}
