using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Federate.Security;

/// <summary>Certificate checks against a project CA (custom root trust: the system's CAs play no part).</summary>
public static class Pki
{
    /// <summary>The certificate's common name.</summary>
    public static string CommonName(X509Certificate2 certificate) => certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false);

    /// <summary>The certificate's role (the subject's OU: server, client or admin).</summary>
    public static string Role(X509Certificate2 certificate)
    {
        foreach (var rdn in certificate.SubjectName.EnumerateRelativeDistinguishedNames())
        {
            if (rdn.GetSingleElementType().Value == "2.5.4.11")
            {
                return rdn.GetSingleElementValue() ?? "";
            }
        }

        return "";
    }

    /// <summary>The serial number as lower-case hex.</summary>
    public static string Serial(X509Certificate2 certificate) => certificate.SerialNumber.ToLowerInvariant();

    /// <summary>
    /// Null when <paramref name="certificate"/> chains to <paramref name="ca"/> (and only to it) and is valid at
    /// <paramref name="now"/>; otherwise a one-line reason.
    /// </summary>
    public static string? ValidateChain(X509Certificate2 certificate, X509Certificate2 ca, DateTimeOffset now)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck; // revocation: the CA-signed revoked.json
        chain.ChainPolicy.VerificationTime = now.UtcDateTime;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        bool ok = chain.Build(certificate);
        if (ok && chain.ChainElements.Count >= 1 && chain.ChainElements[^1].Certificate.RawDataMemory.Span.SequenceEqual(ca.RawDataMemory.Span))
        {
            return null;
        }

        var statuses = chain.ChainStatus.Select(s => s.Status).ToHashSet();
        string cn = CommonName(certificate);
        if (statuses.Contains(X509ChainStatusFlags.NotTimeValid))
        {
            return $"the certificate of '{cn}' has expired or is not yet valid (valid {certificate.NotBefore:u} to {certificate.NotAfter:u})";
        }

        return $"the certificate of '{cn}' is not issued by this project's CA ('{CommonName(ca)}')";
    }

    /// <summary>Signs the length-prefixed parts under a purpose label (domain separation) with RSA PKCS#1 v1.5 SHA-256.</summary>
    public static byte[] Sign(RSA key, string purpose, params ReadOnlySpan<byte[]> parts) =>
        key.SignData(Concat(purpose, parts), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);

    /// <summary>Verifies a signature made by <see cref="Sign"/>.</summary>
    public static bool Verify(RSA key, byte[] signature, string purpose, params ReadOnlySpan<byte[]> parts)
    {
        try
        {
            return key.VerifyData(Concat(purpose, parts), signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    /// <summary>Loads a DER certificate from a peer, or null when the bytes are not one.</summary>
    public static X509Certificate2? TryLoad(ReadOnlySpan<byte> der)
    {
        if (der.Length is 0 or > 16 << 10)
        {
            return null;
        }

        try
        {
            return X509CertificateLoader.LoadCertificate(der);
        }
        catch (CryptographicException)
        {
            return null;
        }
    }

    private static byte[] Concat(string purpose, ReadOnlySpan<byte[]> parts)
    {
        using var ms = new MemoryStream();
        ms.Write(System.Text.Encoding.UTF8.GetBytes(purpose));
        ms.WriteByte(0);
        Span<byte> len = stackalloc byte[4];
        foreach (var p in parts)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(len, p.Length);
            ms.Write(len);
            ms.Write(p);
        }

        return ms.ToArray();
    }
}
