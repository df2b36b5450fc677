namespace Federate.Security.Tests;

/// <summary>Two real projects provisioned once per test class: "demo" (clients a, b, r; admin x; r revoked) and "other" (client a).</summary>
public sealed class ProjectFixture : IDisposable
{
    public ProjectFixture()
    {
        Directory.CreateDirectory(Root);
        Provisioner.Create("demo", ["localhost", "127.0.0.1"], 9443, ["a", "b", "r"], ["x", "y"], Demo, validityDays: 30);
        Provisioner.Revoke(Demo, "r");
        Provisioner.Revoke(Demo, "y");
        Provisioner.Create("other", ["localhost"], 9443, ["a"], ["x"], Other);
    }

    public string Root { get; } = Path.Combine(Path.GetTempPath(), "federate-sec-" + Guid.NewGuid().ToString("N")[..8]);

    public string Demo => Path.Combine(Root, "demo");

    public string Other => Path.Combine(Root, "other");

    public StartupKit Kit(string project, string name) => StartupKit.Load(Path.Combine(project, name));

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
