namespace Federate.Server;

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
