namespace Federate.Security;

/// <summary>The server's answer to a client's hello (design 5, step 2).</summary>
/// <param name="Certificate">The server certificate (DER).</param>
/// <param name="CommonName">The server's CN.</param>
/// <param name="Signature">Signature over (client nonce, server CN).</param>
/// <param name="ServerNonce">A fresh nonce the client signs in its registration.</param>
public sealed record ServerHello(byte[] Certificate, string CommonName, byte[] Signature, byte[] ServerNonce);
