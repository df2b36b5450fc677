using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Federate.Security;

/// <summary>
/// The client side of registration (design 5): makes the hello nonce, checks the server's answer (certificate from
/// the project CA, CN equal to the certificate's and to the kit's setting, signature over the client nonce and CN),
/// signs the server's nonce with the client's CN, and unwraps the session's payload key.
/// </summary>
public sealed class ClientIdentity : IDisposable
{
    private readonly RSA _key;

    /// <summary>Wraps a client kit.</summary>
    public ClientIdentity(StartupKit kit)
    {
        Kit = kit ?? throw new ArgumentNullException(nameof(kit));
        if (kit.Settings.Role != KitRoles.Client)
        {
            throw new SecurityException($"'{kit.Directory}' is a kit for the role '{kit.Settings.Role}'; a client needs a client kit");
        }

        _key = kit.Certificate.GetRSAPrivateKey() ?? throw new SecurityException("the client kit's key is not an RSA key");
    }

    /// <summary>The client kit.</summary>
    public StartupKit Kit { get; }

    /// <summary>The client's CN.</summary>
    public string CommonName => Kit.Name;

    /// <summary>The client certificate (DER).</summary>
    public byte[] CertificateDer => Kit.Certificate.RawData;

    /// <summary>A fresh random nonce.</summary>
    public static byte[] NewNonce() => RandomNumberGenerator.GetBytes(ServerIdentity.NonceLength);

    /// <summary>Checks the server's hello; null when it proves the server, else a one-line problem.</summary>
    public string? VerifyServer(ReadOnlySpan<byte> clientNonce, ReadOnlySpan<byte> certificateDer, string serverCn, ReadOnlySpan<byte> signature, DateTimeOffset now)
    {
        using var certificate = Pki.TryLoad(certificateDer);
        if (certificate is null)
        {
            return "the server sent no valid certificate in its hello";
        }

        if (Pki.ValidateChain(certificate, Kit.CaCertificate, now) is { } problem)
        {
            return $"the server is not part of this project: {problem}";
        }

        if (Pki.CommonName(certificate) != serverCn || Pki.Role(certificate) != KitRoles.Server)
        {
            return $"the server claims CN '{serverCn}' but its certificate says '{Pki.CommonName(certificate)}' ({Pki.Role(certificate)})";
        }

        if (serverCn != Kit.Settings.ServerCn)
        {
            return $"the server's CN '{serverCn}' is not the one in this kit ('{Kit.Settings.ServerCn}')";
        }

        using var key = certificate.GetRSAPublicKey();
        if (key is null || !Pki.Verify(key, signature.ToArray(), Purposes.Hello, clientNonce.ToArray(), System.Text.Encoding.UTF8.GetBytes(serverCn)))
        {
            return "the server's hello signature does not verify with its certificate";
        }

        return null;
    }

    /// <summary>Signs the registration: (server nonce, client CN).</summary>
    public byte[] SignRegistration(ReadOnlySpan<byte> serverNonce) =>
        Pki.Sign(_key, Purposes.Register, serverNonce.ToArray(), System.Text.Encoding.UTF8.GetBytes(CommonName));

    /// <summary>
    /// Checks the server's signature over (wrapped key, server nonce) with the server certificate from the hello, then
    /// unwraps the key; a key substituted on the way (e.g. by a TLS-terminating proxy) is refused.
    /// </summary>
    /// <exception cref="SecurityException">The signature does not verify or the key cannot be unwrapped.</exception>
    public byte[] UnwrapPayloadKey(byte[] wrapped, ReadOnlySpan<byte> serverCertificateDer, ReadOnlySpan<byte> serverNonce, byte[] signature)
    {
        using var certificate = Pki.TryLoad(serverCertificateDer) ?? throw new SecurityException("the server sent no valid certificate in its hello");
        using var key = certificate.GetRSAPublicKey();
        if (key is null || !Pki.Verify(key, signature, Purposes.PayloadKey, wrapped, serverNonce.ToArray()))
        {
            throw new SecurityException("refusing the server: its payload key is not signed by the server (substituted on the way?)");
        }

        return UnwrapPayloadKey(wrapped);
    }

    /// <summary>Unwraps a payload key wrapped for this client with RSA-OAEP-SHA256.</summary>
    public byte[] UnwrapPayloadKey(byte[] wrapped) => PayloadCipher.Unwrap(wrapped, _key);

    /// <summary>The CA certificate used to check the server's TLS certificate.</summary>
    public X509Certificate2 Ca => Kit.CaCertificate;

    /// <summary>Signs the secure-aggregation keys this client announces (their transcript) with its kit key.</summary>
    public byte[] SignSecAggKeys(byte[] transcript) => Pki.Sign(_key, Purposes.SecAggKeys, transcript);

    /// <summary>
    /// Checks a neighbour's secure-aggregation keys: null when <paramref name="certificateDer"/> is a client certificate
    /// of this project's CA, valid at <paramref name="now"/>, and <paramref name="signature"/> its signature over
    /// <paramref name="transcript"/>; otherwise a one-line problem.
    /// </summary>
    public string? VerifySecAggKeys(byte[] certificateDer, byte[] transcript, byte[] signature, DateTimeOffset now)
    {
        using var certificate = Pki.TryLoad(certificateDer);
        if (certificate is null)
        {
            return "the certificate is not a certificate";
        }

        if (Pki.ValidateChain(certificate, Kit.CaCertificate, now) is { } problem)
        {
            return problem;
        }

        if (Pki.Role(certificate) != KitRoles.Client)
        {
            return $"the certificate is for the role '{Pki.Role(certificate)}', not a client";
        }

        using var key = certificate.GetRSAPublicKey();
        return key is not null && Pki.Verify(key, signature, Purposes.SecAggKeys, transcript) ? null : "the signature does not match the keys";
    }

    /// <inheritdoc />
    public void Dispose() => _key.Dispose();
}
