using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Federate.Security;

/// <summary>
/// Creates a project's root CA and the startup kits of its participants (<c>federate provision</c>). The output folder
/// holds <c>_project/</c> (the CA's key and the project state: keep it offline) and one kit folder per participant:
/// <c>server/</c>, then one per client and admin, named after them.
/// </summary>
public static partial class Provisioner
{
    /// <summary>The CA folder inside the output folder.</summary>
    public const string ProjectFolder = "_project";

    private const string CaKeyFile = "ca-key.pem";
    private const string StateFile = "project.json";

    /// <summary>Creates the CA, the server kit and a kit per client and admin.</summary>
    /// <returns>The kit folders written.</returns>
    public static IReadOnlyList<string> Create(string project, IReadOnlyList<string> serverHosts, int serverPort, IEnumerable<string> clients, IEnumerable<string> admins, string outDir, int validityDays = 365)
    {
        CheckName(project, "--name");
        if (serverHosts.Count == 0 || serverHosts.Any(string.IsNullOrWhiteSpace))
        {
            throw new ArgumentException("--server must list at least one host name or address");
        }

        if (validityDays is < 1 or > 36500)
        {
            throw new ArgumentException($"--validity must be in [1, 36500] days, got {validityDays}");
        }

        var clientList = clients.ToList();
        var adminList = admins.ToList();
        foreach (var n in clientList.Concat(adminList))
        {
            CheckName(n, "participant name");
        }

        var duplicate = clientList.Concat(adminList).Append("server").GroupBy(n => n, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new ArgumentException($"participant name '{duplicate.Key}' is used twice (names must be unique, and 'server' is taken)");
        }

        var caDir = Path.Combine(outDir, ProjectFolder);
        if (File.Exists(Path.Combine(caDir, StateFile)))
        {
            throw new IOException($"'{outDir}' already holds a project; use 'federate provision add-client' to add sites, or pick another --out");
        }

        Directory.CreateDirectory(caDir);
        using var caKey = RSA.Create(3072);
        var now = DateTimeOffset.UtcNow;
        var caRequest = new CertificateRequest($"CN={project} Root CA, O={project}", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        using var ca = caRequest.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(validityDays + 365));
        WriteSecret(Path.Combine(caDir, CaKeyFile), caKey.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(Path.Combine(caDir, StartupKit.CaFile), ca.ExportCertificatePem());

        var state = new ProjectState { Project = project, ServerHosts = [.. serverHosts], ServerPort = serverPort, ValidityDays = validityDays };
        var written = new List<string>
        {
            WriteKit(outDir, state, ca, caKey, "server", KitRoles.Server),
        };
        foreach (var c in clientList)
        {
            written.Add(WriteKit(outDir, state, ca, caKey, c, KitRoles.Client));
        }

        foreach (var a in adminList)
        {
            written.Add(WriteKit(outDir, state, ca, caKey, a, KitRoles.Admin));
        }

        SaveState(outDir, state);
        WriteServerLists(outDir, state, caKey, new Participants { Clients = clientList, Admins = adminList });
        return written;
    }

    /// <summary>Adds one client (or admin) to an existing project; other kits stay as they are (the server's enrolment list gains the name).</summary>
    /// <returns>The new kit folder.</returns>
    public static string Add(string outDir, string name, string role = KitRoles.Client)
    {
        CheckName(name, "participant name");
        var (state, ca, caKey) = LoadProject(outDir);
        using (ca)
        using (caKey)
        {
            if (state.Serials.ContainsKey(name) || name.Equals("server", StringComparison.OrdinalIgnoreCase))
            {
                throw new ArgumentException($"'{name}' is already a participant of project '{state.Project}'; pick another name");
            }

            var kit = WriteKit(outDir, state, ca, caKey, name, role);
            SaveState(outDir, state);
            var participants = ReadServerParticipants(outDir);
            (role == KitRoles.Admin ? participants.Admins : participants.Clients).Add(name);
            WriteServerLists(outDir, state, caKey, participants);
            return kit;
        }
    }

    /// <summary>Revokes a participant's certificate: the signed revocation list in the server kit gains it.</summary>
    public static void Revoke(string outDir, string name)
    {
        var (state, ca, caKey) = LoadProject(outDir);
        using (ca)
        using (caKey)
        {
            if (!state.Serials.TryGetValue(name, out var serial))
            {
                throw new ArgumentException($"'{name}' is not a participant of project '{state.Project}'");
            }

            if (state.Revoked.Any(r => r.Serial == serial))
            {
                throw new ArgumentException($"'{name}' is already revoked");
            }

            state.Revoked.Add(new RevokedEntry { Serial = serial, Name = name, RevokedAt = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture) });
            SaveState(outDir, state);
            WriteServerLists(outDir, state, caKey, ReadServerParticipants(outDir));
        }
    }

    private static string WriteKit(string outDir, ProjectState state, X509Certificate2 ca, RSA caKey, string name, string role)
    {
        var dir = Path.Combine(outDir, name);
        if (Directory.Exists(dir) && Directory.EnumerateFileSystemEntries(dir).Any())
        {
            throw new IOException($"'{dir}' already exists and is not empty; pick another name or --out");
        }

        Directory.CreateDirectory(dir);
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={name}, OU={role}, O={state.Project}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        var eku = new OidCollection { role == KitRoles.Server ? new Oid("1.3.6.1.5.5.7.3.1") : new Oid("1.3.6.1.5.5.7.3.2") };
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(eku, false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        if (role == KitRoles.Server)
        {
            var san = new SubjectAlternativeNameBuilder();
            foreach (var host in state.ServerHosts)
            {
                if (IPAddress.TryParse(host, out var ip))
                {
                    san.AddIpAddress(ip);
                }
                else
                {
                    san.AddDnsName(host);
                }
            }

            request.CertificateExtensions.Add(san.Build());
        }

        var serialBytes = RandomNumberGenerator.GetBytes(16);
        serialBytes[0] &= 0x7F;
        var now = DateTimeOffset.UtcNow;
        var notAfter = now.AddDays(state.ValidityDays);
        if (notAfter > ca.NotAfter)
        {
            notAfter = ca.NotAfter;
        }

        using var issued = request.Create(ca.SubjectName, X509SignatureGenerator.CreateForRSA(caKey, RSASignaturePadding.Pkcs1), now.AddMinutes(-5), notAfter, serialBytes);
        File.WriteAllText(Path.Combine(dir, StartupKit.CertificateFile), issued.ExportCertificatePem());
        WriteSecret(Path.Combine(dir, StartupKit.KeyFile), key.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(Path.Combine(dir, StartupKit.CaFile), ca.ExportCertificatePem());
        var settings = new KitSettings
        {
            Project = state.Project,
            Name = name,
            Role = role,
            ServerCn = "server",
            ServerHosts = state.ServerHosts,
            ServerPort = state.ServerPort,
        };
        File.WriteAllBytes(Path.Combine(dir, StartupKit.SettingsFile), JsonSerializer.SerializeToUtf8Bytes(settings, KitJson.Default.KitSettings));
        state.Serials[name] = Pki.Serial(issued);
        return dir;
    }

    private static void WriteServerLists(string outDir, ProjectState state, RSA caKey, Participants participants)
    {
        var serverDir = Path.Combine(outDir, "server");
        var body = new RevocationBody { Project = state.Project, IssuedAt = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture), Revoked = [.. state.Revoked] };
        var signature = caKey.SignData(KitJson.Canonical(body), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var signed = new SignedRevocationList { List = body, Signature = Convert.ToBase64String(signature) };
        var revoked = JsonSerializer.SerializeToUtf8Bytes(signed, KitJson.Default.SignedRevocationList);
        File.WriteAllBytes(Path.Combine(outDir, ProjectFolder, StartupKit.RevokedFile), revoked);
        if (Directory.Exists(serverDir))
        {
            AtomicWrite(Path.Combine(serverDir, StartupKit.RevokedFile), revoked);
            AtomicWrite(Path.Combine(serverDir, StartupKit.ParticipantsFile), JsonSerializer.SerializeToUtf8Bytes(participants, KitJson.Default.Participants));
        }
    }

    private static Participants ReadServerParticipants(string outDir) => StartupKit.ReadParticipants(Path.Combine(outDir, "server"));

    private static (ProjectState State, X509Certificate2 Ca, RSA CaKey) LoadProject(string outDir)
    {
        var caDir = Path.Combine(outDir, ProjectFolder);
        var statePath = Path.Combine(caDir, StateFile);
        if (!File.Exists(statePath))
        {
            throw new IOException($"'{outDir}' holds no project (no {ProjectFolder}/{StateFile}); give the --out folder of 'federate provision'");
        }

        var state = JsonSerializer.Deserialize(File.ReadAllBytes(statePath), KitJson.Default.ProjectState) ?? throw new IOException($"{statePath} is empty");
        var ca = X509CertificateLoader.LoadCertificate(StartupKit.PemDer(File.ReadAllText(Path.Combine(caDir, StartupKit.CaFile)), "CERTIFICATE"));
        var key = RSA.Create();
        key.ImportFromPem(File.ReadAllText(Path.Combine(caDir, CaKeyFile)));
        return (state, ca, key);
    }

    private static void SaveState(string outDir, ProjectState state) =>
        AtomicWrite(Path.Combine(outDir, ProjectFolder, StateFile), JsonSerializer.SerializeToUtf8Bytes(state, KitJson.Default.ProjectState));

    private static void AtomicWrite(string path, byte[] bytes)
    {
        var tmp = path + ".tmp";
        File.WriteAllBytes(tmp, bytes);
        File.Move(tmp, path, overwrite: true);
    }

    private static void WriteSecret(string path, string text)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using var stream = new FileStream(path, options);
        using var writer = new StreamWriter(stream);
        writer.Write(text);
    }

    private static void CheckName(string name, string what)
    {
        if (!NamePattern().IsMatch(name))
        {
            throw new ArgumentException($"{what} '{name}' must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit");
        }
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex NamePattern();
}
