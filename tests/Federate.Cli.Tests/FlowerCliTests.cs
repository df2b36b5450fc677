namespace Federate.Cli.Tests;

/// <summary>Bad Flower options get one-line errors before anything listens or connects.</summary>
public class FlowerCliTests
{
    private static void AssertOneLineError((int Code, string Out, string Err) result, string expected)
    {
        Assert.NotEqual(0, result.Code);
        var lines = result.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal($"error: {expected}", Assert.Single(lines));
    }

    [Fact]
    public async Task Server_FlowerPortSameAsPort_OneLineError()
    {
        var dir = Cli.TempDir();
        var result = await Cli.RunAsync("server", "--insecure", "--host", "127.0.0.1", "--port", "19999", "--flower-port", "19999", "--out", dir, "--state-dir", Path.Combine(dir, "state"));

        AssertOneLineError(result, "--flower-port must differ from --port (19999)");
    }

    [Fact]
    public async Task Server_FlowerPortOutOfRange_OneLineError()
    {
        var dir = Cli.TempDir();
        var result = await Cli.RunAsync("server", "--insecure", "--flower-port", "70000", "--out", dir, "--state-dir", Path.Combine(dir, "state"));

        AssertOneLineError(result, "--flower-port must be in [0, 65535], got 70000");
    }

    [Fact]
    public async Task Server_FlowerAppWithoutFlowerPort_OneLineError()
    {
        var dir = Cli.TempDir();
        var result = await Cli.RunAsync("server", "--insecure", "--flower-app", dir, "--out", dir, "--state-dir", Path.Combine(dir, "state"));

        AssertOneLineError(result, "--flower-app needs --flower-port (SuperNodes connect to the Flower port)");
    }

    [Fact]
    public async Task Server_FlowerAppMissing_OneLineError()
    {
        var dir = Cli.TempDir();
        var app = Path.Combine(dir, "no-such-app.fab");
        var result = await Cli.RunAsync("server", "--insecure", "--flower-port", "0", "--flower-app", app, "--out", dir, "--state-dir", Path.Combine(dir, "state"));

        AssertOneLineError(result, $"--flower-app '{app}' is neither a Flower app folder nor a .fab file");
    }

    [Fact]
    public async Task Server_FlowerAppNotAZip_OneLineError()
    {
        var dir = Cli.TempDir();
        var app = Path.Combine(dir, "broken.fab");
        File.WriteAllText(app, "not a zip");
        var result = await Cli.RunAsync("server", "--insecure", "--flower-port", "0", "--flower-app", app, "--out", dir, "--state-dir", Path.Combine(dir, "state"));

        AssertOneLineError(result, $"--flower-app '{app}' is not a .fab (zip) file");
    }

    [Fact]
    public async Task Client_UnknownProtocol_OneLineError()
    {
        var result = await Cli.RunAsync("client", "--server", "127.0.0.1:1", "--protocol", "rest", "--dataset", "iris", "--model", "logistic");

        AssertOneLineError(result, "--protocol must be native, flower or supernode, got 'rest'");
    }
}
