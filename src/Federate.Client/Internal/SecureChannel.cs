using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Federate.Security;
using Grpc.Core;

namespace Federate.Client.Internal;

/// <summary>
/// TLS for the fleet channel: the server's certificate must chain to the kit's project CA (the system's CAs play no
/// part) and name the host the client dialled. No client certificate at the TLS layer (clients prove themselves by
/// the challenge-response).
/// </summary>
internal static class SecureChannel
{
    public static void Configure(SocketsHttpHandler http, X509Certificate2 ca, bool http11 = false)
    {
        http.SslOptions = new SslClientAuthenticationOptions
        {
            ApplicationProtocols = [http11 ? SslApplicationProtocol.Http11 : SslApplicationProtocol.Http2],
            RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
            {
                if (certificate is null || (errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0)
                {
                    return false;
                }

                using var presented = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
                return Pki.ValidateChain(presented, ca, DateTimeOffset.UtcNow) is null;
            },
        };
    }

    /// <summary>A one-line explanation of a failure that retrying cannot fix (TLS trust, TLS against plain), or null.</summary>
    public static string? Describe(RpcException ex, bool secure)
    {
        for (Exception? e = ex.Status.DebugException; e is not null; e = e.InnerException)
        {
            if (secure && e is AuthenticationException)
            {
                // Only a certificate the validation callback saw and refused is the CA's or the host name's fault; a
                // handshake that never got that far met a server that does not speak TLS.
                return e.Message.Contains(nameof(SslClientAuthenticationOptions.RemoteCertificateValidationCallback), StringComparison.Ordinal)
                    ? "the server's TLS certificate is not issued by this kit's project CA or does not name the host in --server; check --kit and --server"
                    : "the server does not speak TLS: it is not a secure Federate server (a development server started with --insecure?); check --server, or connect to a development server with --insecure instead of --kit";
            }

            if (!secure && e is HttpRequestException or IOException && e.Message.Contains("HTTP/2", StringComparison.Ordinal) && e.Message.Contains("handshake", StringComparison.OrdinalIgnoreCase))
            {
                return "the server does not speak plain HTTP/2: it requires TLS; connect with --kit DIR (this site's startup kit) instead of --insecure";
            }
        }

        return null;
    }
}
