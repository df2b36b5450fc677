using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;

namespace Federate.Security;

/// <summary>
/// A participant's startup kit, as written by <c>federate provision</c>: <c>kit.json</c> (settings), <c>cert.pem</c>
/// (the participant's certificate, CN = its name), <c>key.pem</c> (its private key, mode 0600), <c>ca.pem</c> (the
/// project CA). A server kit also holds <c>participants.json</c> (enrolled clients and admins) and <c>revoked.json</c>
/// (the CA-signed revocation list); both are re-read when they change, so enrolment and revocation need no restart.
/// </summary>
public sealed class StartupKit : IDisposable
{
    /// <summary>File names inside a kit.</summary>
    public const string SettingsFile = "kit.json";

    /// <summary>The participant's certificate.</summary>
    public const string CertificateFile = "cert.pem";

    /// <summary>The participant's private key.</summary>
    public const string KeyFile = "key.pem";

    /// <summary>The project CA certificate.</summary>
    public const string CaFile = "ca.pem";

    /// <summary>Enrolled participants (server kit).</summary>
    public const string ParticipantsFile = "participants.json";

    /// <summary>Signed revocation list (server kit).</summary>
    public const string RevokedFile = "revoked.json";

    private StartupKit(string directory, KitSettings settings, X509Certificate2 certificate, X509Certificate2 ca)
    {
        Directory = directory;
        Settings = settings;
        Certificate = certificate;
        CaCertificate = ca;
    }

    /// <summary>The kit folder.</summary>
    public string Directory { get; }

    /// <summary>The settings.</summary>
    public KitSettings Settings { get; }

    /// <summary>The participant's certificate with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The project CA.</summary>
    public X509Certificate2 CaCertificate { get; }

    /// <summary>The participant's name (certificate CN).</summary>
    public string Name => Settings.Name;

    /// <summary>Loads a kit and checks that its certificate, key, CA and settings belong together.</summary>
    /// <exception cref="SecurityException">The kit is missing, incomplete or inconsistent.</exception>
    public static StartupKit Load(string directory, string? expectedRole = null)
    {
        if (!System.IO.Directory.Exists(directory))
        {
            throw new SecurityException($"startup kit folder '{directory}' does not exist; create kits with 'federate provision'");
        }

        string Need(string file)
        {
            var path = Path.Combine(directory, file);
            return File.Exists(path) ? path : throw new SecurityException($"startup kit '{directory}' has no {file}; use a kit made by 'federate provision'");
        }

        KitSettings settings;
        try
        {
            settings = JsonSerializer.Deserialize(File.ReadAllBytes(Need(SettingsFile)), KitJson.Default.KitSettings)
                ?? throw new SecurityException($"{SettingsFile} in '{directory}' is empty");
        }
        catch (JsonException ex)
        {
            throw new SecurityException($"{SettingsFile} in '{directory}' is damaged: {(ex.Path is { Length: > 2 } field && ex.Message.Contains("could not be converted", StringComparison.Ordinal) ? $"'{field[2..]}' has the wrong type" : $"it is not complete JSON (cut off or damaged near line {(ex.LineNumber ?? 0) + 1})")}; copy this participant's kit again from the provisioning folder ('federate provision')");
        }

        if (expectedRole is not null && settings.Role != expectedRole)
        {
            throw new SecurityException($"'{directory}' is a kit for the role '{settings.Role}', but this command needs the role '{expectedRole}'");
        }

        X509Certificate2 certificate;
        X509Certificate2 ca;
        try
        {
            certificate = X509Certificate2.CreateFromPemFile(Need(CertificateFile), Need(KeyFile));
            ca = X509CertificateLoader.LoadCertificate(PemDer(File.ReadAllText(Need(CaFile)), "CERTIFICATE"));
        }
        catch (CryptographicException ex)
        {
            throw new SecurityException($"startup kit '{directory}' has an unreadable certificate or key: {ex.Message}");
        }

        var kit = new StartupKit(directory, settings, certificate, ca);
        if (Pki.CommonName(certificate) != settings.Name)
        {
            kit.Dispose();
            throw new SecurityException($"startup kit '{directory}': the certificate's CN '{Pki.CommonName(certificate)}' differs from the kit's name '{settings.Name}'");
        }

        if (Pki.ValidateChain(certificate, ca, DateTimeOffset.UtcNow) is { } problem)
        {
            kit.Dispose();
            throw new SecurityException($"startup kit '{directory}': {problem}");
        }

        return kit;
    }

    /// <summary>Reads the enrolment list of a server kit (empty when the file is missing).</summary>
    public Participants ReadParticipants() => ReadParticipants(Directory);

    /// <summary>Reads the enrolment list in a server kit folder (empty when the file is missing).</summary>
    internal static Participants ReadParticipants(string directory)
    {
        var path = Path.Combine(directory, ParticipantsFile);
        if (!File.Exists(path))
        {
            return new Participants();
        }

        return JsonSerializer.Deserialize(File.ReadAllBytes(path), KitJson.Default.Participants) ?? new Participants();
    }

    /// <summary>Reads and verifies the revocation list of a server kit (empty when missing).</summary>
    /// <exception cref="SecurityException">The list is not signed by the project CA.</exception>
    public RevocationBody ReadRevocations()
    {
        var path = Path.Combine(Directory, RevokedFile);
        if (!File.Exists(path))
        {
            return new RevocationBody();
        }

        var signed = JsonSerializer.Deserialize(File.ReadAllBytes(path), KitJson.Default.SignedRevocationList) ?? new SignedRevocationList();
        using var rsa = CaCertificate.GetRSAPublicKey()!;
        byte[] signature;
        try
        {
            signature = Convert.FromBase64String(signed.Signature);
        }
        catch (FormatException)
        {
            signature = [];
        }

        if (!rsa.VerifyData(KitJson.Canonical(signed.List), signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1))
        {
            throw new SecurityException($"{RevokedFile} in '{Directory}' is not signed by the project CA; copy it again from the provisioning folder");
        }

        return signed.List;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Certificate.Dispose();
        CaCertificate.Dispose();
    }

    internal static byte[] PemDer(string pem, string label)
    {
        var fields = PemEncoding.Find(pem);
        var found = pem[fields.Label];
        if (found != label)
        {
            throw new CryptographicException($"expected a PEM {label}, found {found}");
        }

        return Convert.FromBase64String(pem[fields.Base64Data]);
    }
}
