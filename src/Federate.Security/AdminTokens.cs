using System.Buffers.Text;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;

namespace Federate.Security;

/// <summary>
/// Admin credentials from an admin kit: <c>fadm1.base64url(claims).base64url(certificate DER).base64url(signature)</c>,
/// signed by the admin's kit key. The server accepts one when the certificate chains to the project CA, is an admin
/// certificate of an enrolled, unrevoked admin, the signature verifies and the token has not expired.
/// </summary>
public static class AdminTokens
{
    /// <summary>Longest lifetime accepted.</summary>
    public static readonly TimeSpan MaxLifetime = TimeSpan.FromDays(1);

    private const string Prefix = "fadm1.";

    /// <summary>Creates a bearer token from an admin kit.</summary>
    public static string Create(StartupKit kit, TimeSpan lifetime, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(kit);
        if (kit.Settings.Role != KitRoles.Admin)
        {
            throw new SecurityException($"'{kit.Directory}' is a kit for the role '{kit.Settings.Role}'; admin tokens need an admin kit");
        }

        if (lifetime <= TimeSpan.Zero || lifetime > MaxLifetime)
        {
            throw new ArgumentException($"--ttl must be between 1 and {MaxLifetime.TotalMinutes:0} minutes");
        }

        var now = (time ?? TimeProvider.System).GetUtcNow();
        var claims = new AdminClaims { Project = kit.Settings.Project, Cn = kit.Name, IssuedMs = now.ToUnixTimeMilliseconds(), ExpiresMs = (now + lifetime).ToUnixTimeMilliseconds() };
        var payload = JsonSerializer.SerializeToUtf8Bytes(claims, KitJson.Default.AdminClaims);
        var der = kit.Certificate.RawData;
        using var key = kit.Certificate.GetRSAPrivateKey()!;
        var signature = Pki.Sign(key, Purposes.Admin, payload, der);
        return Prefix + Base64Url.EncodeToString(payload) + "." + Base64Url.EncodeToString(der) + "." + Base64Url.EncodeToString(signature);
    }

    /// <summary>Checks a token; returns the admin's name, or null with a one-line problem.</summary>
    public static string? Verify(string? token, ServerIdentity server, TimeProvider? time, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(server);
        var now = (time ?? TimeProvider.System).GetUtcNow();
        if (string.IsNullOrEmpty(token) || !token.StartsWith(Prefix, StringComparison.Ordinal) || token.Length > 16384)
        {
            problem = "admin credential refused: not an admin token; create one with 'federate admin token --kit ADMIN_KIT'";
            return null;
        }

        var parts = token[Prefix.Length..].Split('.');
        byte[] payload, der, signature;
        try
        {
            if (parts.Length != 3)
            {
                throw new FormatException();
            }

            payload = Base64Url.DecodeFromChars(parts[0]);
            der = Base64Url.DecodeFromChars(parts[1]);
            signature = Base64Url.DecodeFromChars(parts[2]);
        }
        catch (FormatException)
        {
            problem = "admin credential refused: the token is malformed";
            return null;
        }

        using var certificate = Pki.TryLoad(der);
        if (certificate is null)
        {
            problem = "admin credential refused: the token holds no valid certificate";
            return null;
        }

        server.Refresh();
        if (Pki.ValidateChain(certificate, server.Kit.CaCertificate, now) is { } chainProblem)
        {
            problem = $"admin credential refused: {chainProblem}";
            return null;
        }

        string cn = Pki.CommonName(certificate);
        if (Pki.Role(certificate) != KitRoles.Admin || !server.IsEnrolledAdmin(cn))
        {
            problem = $"admin credential refused: '{cn}' is not an enrolled admin of project '{server.Kit.Settings.Project}'";
            return null;
        }

        if (server.IsRevoked(Pki.Serial(certificate)))
        {
            problem = $"admin credential refused: the certificate of '{cn}' has been revoked";
            return null;
        }

        using var key = certificate.GetRSAPublicKey();
        if (key is null || !Pki.Verify(key, signature, Purposes.Admin, payload, der))
        {
            problem = "admin credential refused: the signature does not verify (tampered token)";
            return null;
        }

        var claims = KitJson.TryRead(payload, KitJson.Default.AdminClaims);

        if (claims is null || claims.Cn != cn)
        {
            problem = "admin credential refused: the token's claims do not match its certificate";
            return null;
        }

        long nowMs = now.ToUnixTimeMilliseconds();
        if (nowMs >= claims.ExpiresMs || claims.ExpiresMs - claims.IssuedMs > (long)MaxLifetime.TotalMilliseconds)
        {
            problem = "admin credential refused: the token has expired; create a new one with 'federate admin token'";
            return null;
        }

        problem = null;
        return cn;
    }
}
