namespace Federate.Cli.Tests;

/// <summary><c>federate provision</c>, <c>federate admin token</c> and the kit options through the real entry point.</summary>
public sealed class ProvisionCommandTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "federate-prov-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    [Fact]
    public async Task Provision_AddClientRevokeToken_EachPrintsWhatItDid()
    {
        var (code, output, err) = await Cli.RunAsync("provision", "--name", "acme", "--server", "fl.example.org,10.0.0.5", "--clients", "a,b", "--admins", "ops", "--out", _dir, "--validity", "10");
        Assert.Equal(0, code);
        Assert.Equal("", err);
        Assert.Equal(
            [$"kit: {Path.Combine(_dir, "server")}", $"kit: {Path.Combine(_dir, "a")}", $"kit: {Path.Combine(_dir, "b")}", $"kit: {Path.Combine(_dir, "ops")}"],
            output.Trim().Split('\n').Take(4));

        (code, output, _) = await Cli.RunAsync("provision", "add-client", "c", "--out", _dir);
        Assert.Equal(0, code);
        Assert.StartsWith($"kit: {Path.Combine(_dir, "c")}", output, StringComparison.Ordinal);

        (code, _, _) = await Cli.RunAsync("provision", "revoke", "b", "--out", _dir);
        Assert.Equal(0, code);
        Assert.Contains("\"name\": \"b\"", File.ReadAllText(Path.Combine(_dir, "server", "revoked.json")), StringComparison.Ordinal);

        (code, output, _) = await Cli.RunAsync("admin", "token", "--kit", Path.Combine(_dir, "ops"), "--ttl", "10");
        Assert.Equal(0, code);
        Assert.StartsWith("fadm1.", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("error: --name PROJECT is required", "provision", "--server", "h")]
    [InlineData("error: --server HOST[,HOST...] is required", "provision", "--name", "p")]
    [InlineData("error: participant name 'a b' must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit", "provision", "--name", "p", "--server", "h", "--clients", "a b")]
    [InlineData("error: --validity must be in [1, 36500] days, got 0", "provision", "--name", "p", "--server", "h", "--validity", "0")]
    [InlineData("error: --kit DIR (an admin kit) is required", "admin", "token")]
    [InlineData("error: startup kit folder 'nowhere' does not exist; create kits with 'federate provision'", "server", "--kit", "nowhere")]
    [InlineData("error: startup kit folder 'nowhere' does not exist; create kits with 'federate provision'", "client", "--kit", "nowhere", "--server", "127.0.0.1:9")]
    [InlineData("error: --payload-encryption must be on or off, got 'maybe'", "server", "--payload-encryption", "maybe")]
    public async Task Provision_BadInput_OneLineError(string expected, params string[] args)
    {
        var (code, _, err) = await Cli.RunAsync([.. args.Select(a => a == "OUT" ? _dir : a)]);
        Assert.NotEqual(0, code);
        Assert.Equal(expected, err.Trim());
    }

    [Fact]
    public async Task Provision_AddClientWithoutProject_SaysWhichFolder()
    {
        var (code, _, err) = await Cli.RunAsync("provision", "add-client", "c", "--out", _dir);
        Assert.Equal(1, code);
        Assert.Equal($"error: '{_dir}' holds no project (no _project/project.json); give the --out folder of 'federate provision'", err.Trim());
    }

    [Fact]
    public async Task Server_KitAndInsecure_Refused()
    {
        await Cli.RunAsync("provision", "--name", "p", "--server", "localhost", "--out", _dir);
        var (code, _, err) = await Cli.RunAsync("server", "--insecure", "--kit", Path.Combine(_dir, "server"));
        Assert.Equal(2, code);
        Assert.Equal("error: give either --kit DIR (TLS) or --insecure (development), not both", err.Trim());
    }

    [Theory]
    [InlineData("{\"project\": ", "it is not complete JSON (cut off or damaged near line 2)")]
    [InlineData("{\"project\": 5}", "'project' has the wrong type")]
    public async Task Client_DamagedKitJson_SaysWhichFileWhatAndWhatToDo(string json, string problem)
    {
        await Cli.RunAsync("provision", "--name", "p", "--server", "localhost", "--clients", "a", "--out", _dir);
        var kit = Path.Combine(_dir, "a");
        await File.WriteAllTextAsync(Path.Combine(kit, "kit.json"), json + "\n");
        var (code, _, err) = await Cli.RunAsync("client", "--kit", kit, "--server", "127.0.0.1:9");
        Assert.NotEqual(0, code);
        Assert.Equal($"error: kit.json in '{kit}' is damaged: {problem}; copy this participant's kit again from the provisioning folder ('federate provision')", err.Trim());
    }
}
