using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Federate.Security.Tests;

[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class ProvisioningTests(ProjectFixture project) : IClassFixture<ProjectFixture>
{
    [Fact]
    public void Create_WritesOneKitPerParticipant_KeysPrivateAndCertificatesNamed()
    {
        foreach (var (name, role) in new[] { ("server", KitRoles.Server), ("a", KitRoles.Client), ("b", KitRoles.Client), ("x", KitRoles.Admin) })
        {
            using var kit = project.Kit(project.Demo, name);
            Assert.Equal(name, Pki.CommonName(kit.Certificate));
            Assert.Equal(role, Pki.Role(kit.Certificate));
            Assert.Equal(role, kit.Settings.Role);
            Assert.Equal("demo", kit.Settings.Project);
            Assert.True(kit.Certificate.HasPrivateKey);
            Assert.Null(Pki.ValidateChain(kit.Certificate, kit.CaCertificate, DateTimeOffset.UtcNow));
            var mode = File.GetUnixFileMode(Path.Combine(project.Demo, name, StartupKit.KeyFile));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, mode);
            Assert.InRange((kit.Certificate.NotAfter - kit.Certificate.NotBefore).TotalDays, 29.9, 30.1);
        }

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(project.Demo, Provisioner.ProjectFolder, "ca-key.pem")));
    }

    [Fact]
    public void Create_ServerCertificate_HasEverySanAndServerAuth()
    {
        using var kit = project.Kit(project.Demo, "server");
        var san = kit.Certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Equal(["localhost"], san.EnumerateDnsNames());
        Assert.Equal(["127.0.0.1"], san.EnumerateIPAddresses().Select(a => a.ToString()));
        Assert.True(kit.Certificate.MatchesHostname("localhost"));
        Assert.True(kit.Certificate.MatchesHostname("127.0.0.1"));
        Assert.False(kit.Certificate.MatchesHostname("example.com"));
        Assert.Equal("1.3.6.1.5.5.7.3.1", kit.Certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages[0].Value);
        Assert.Equal(["a", "b", "r"], kit.ReadParticipants().Clients);
        Assert.Equal(["x", "y"], kit.ReadParticipants().Admins);
    }

    [Fact]
    public void AddClient_OtherKitsUntouched_ServerEnrolmentGainsName()
    {
        using var dir = new TempProject("addc", ["a"]);
        var before = Directory.GetFiles(Path.Combine(dir.Path, "a")).ToDictionary(f => f, f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))));
        Provisioner.Add(dir.Path, "c");
        foreach (var (file, hash) in before)
        {
            Assert.Equal(hash, Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(file))));
        }

        using var c = StartupKit.Load(Path.Combine(dir.Path, "c"));
        using var a = StartupKit.Load(Path.Combine(dir.Path, "a"));
        Assert.Equal(a.CaCertificate.Thumbprint, c.CaCertificate.Thumbprint);
        using var server = StartupKit.Load(Path.Combine(dir.Path, "server"));
        Assert.Equal(["a", "c"], server.ReadParticipants().Clients);
        var ex = Assert.Throws<ArgumentException>(() => Provisioner.Add(dir.Path, "a"));
        Assert.Equal("'a' is already a participant of project 'addc'; pick another name", ex.Message);
    }

    [Fact]
    public void Revoke_SignedListNamesSerial_TamperedListRefused()
    {
        using var server = project.Kit(project.Demo, "server");
        using var r = project.Kit(project.Demo, "r");
        var list = server.ReadRevocations();
        Assert.Contains(list.Revoked, e => e.Name == "r" && e.Serial == Pki.Serial(r.Certificate));

        using var dir = new TempProject("tamper", ["a"]);
        Provisioner.Revoke(dir.Path, "a");
        var path = Path.Combine(dir.Path, "server", StartupKit.RevokedFile);
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"a\"", "\"z\"", StringComparison.Ordinal));
        using var tampered = StartupKit.Load(Path.Combine(dir.Path, "server"));
        var ex = Assert.Throws<SecurityException>(() => tampered.ReadRevocations());
        Assert.EndsWith("is not signed by the project CA; copy it again from the provisioning folder", ex.Message, StringComparison.Ordinal);
        Assert.Equal("'a' is already revoked", Assert.Throws<ArgumentException>(() => Provisioner.Revoke(dir.Path, "a")).Message);
    }

    [Theory]
    [InlineData("server", "participant name 'server' is used twice (names must be unique, and 'server' is taken)")]
    [InlineData("../evil", "participant name '../evil' must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")]
    public void Create_BadNames_OneLineError(string client, string expected)
    {
        var ex = Assert.Throws<ArgumentException>(() => Provisioner.Create("p", ["h"], 1, [client], [], Path.Combine(project.Root, "bad-" + Guid.NewGuid().ToString("N")[..6])));
        Assert.Equal(expected, ex.Message);
    }

    [Fact]
    public void Load_KitWithForeignCertificate_Refused()
    {
        using var dir = new TempProject("mix", ["a"]);
        File.Copy(Path.Combine(project.Other, "a", StartupKit.CertificateFile), Path.Combine(dir.Path, "a", StartupKit.CertificateFile), overwrite: true);
        var ex = Assert.ThrowsAny<Exception>(() => StartupKit.Load(Path.Combine(dir.Path, "a")));
        Assert.True(ex is SecurityException, ex.ToString());
    }
}

internal sealed class TempProject : IDisposable
{
    public TempProject(string name, string[] clients, string[]? admins = null)
    {
        Provisioner.Create(name, ["localhost"], 9443, clients, admins ?? [], Path);
    }

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "federate-sec-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
