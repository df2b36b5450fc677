namespace Federate.Server;

/// <summary>
/// Decides whether a request to an admin-only action (inspector actions, per-client weights, control API) carries a
/// valid admin credential. The security layer supplies one backed by the project's admin kits; development servers
/// may use <see cref="SharedTokenAdminAuthenticator"/>.
/// </summary>
public interface IAdminAuthenticator
{
    /// <summary>
    /// Checks the value of the request's <c>Authorization</c> header (for example <c>Bearer TOKEN</c>; null when absent).
    /// </summary>
    /// <param name="authorization">The header value, or null.</param>
    /// <param name="problem">When refused: a one-line reason that names what to do (for example "no admin credential: ...").</param>
    /// <returns>The admin's name when accepted; null when refused.</returns>
    string? Authenticate(string? authorization, out string? problem);
}

/// <summary>An admin credential that is one shared secret (<c>Authorization: Bearer SECRET</c>), for development servers.</summary>
public sealed class SharedTokenAdminAuthenticator : IAdminAuthenticator
{
    private readonly byte[] _token;

    /// <summary>Accepts <c>Bearer <paramref name="token"/></c>.</summary>
    public SharedTokenAdminAuthenticator(string token)
    {
        ArgumentException.ThrowIfNullOrEmpty(token);
        _token = System.Text.Encoding.UTF8.GetBytes(token);
    }

    /// <inheritdoc />
    public string? Authenticate(string? authorization, out string? problem)
    {
        const string Scheme = "Bearer ";
        if (authorization is null || !authorization.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            problem = "no admin credential: send 'Authorization: Bearer TOKEN' with the server's admin token";
            return null;
        }

        var given = System.Text.Encoding.UTF8.GetBytes(authorization[Scheme.Length..].Trim());
        if (!System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(given, _token))
        {
            problem = "admin credential refused: the token does not match the server's admin token";
            return null;
        }

        problem = null;
        return "admin";
    }
}
