namespace Federate.Cli.Tests;

/// <summary><c>federate server</c> and <c>federate client</c> usage errors through the real entry point.</summary>
public sealed class DeployCommandTests
{
    [Theory]
    [InlineData("server")]
    [InlineData("client", "--server", "127.0.0.1:9")]
    public async Task Deploy_WithoutInsecure_OneLineTlsError(params string[] args)
    {
        var (code, _, err) = await Cli.RunAsync(args);
        Assert.Equal(2, code);
        Assert.Contains("--insecure", err, StringComparison.Ordinal);
        Assert.Single(err.Trim().Split('\n'));
    }

    [Theory]
    [InlineData("error: --config must look like KEY=VALUE, got 'oops'", "server", "--insecure", "--port", "0", "--config", "oops")]
    [InlineData("error: --compression must be gzip or none, got 'zip'", "server", "--insecure", "--compression", "zip")]
    [InlineData("error: --min-clients must be at least 1, got 0", "server", "--insecure", "--port", "0", "--min-clients", "0")]
    [InlineData("error: --webhook must be an http(s) URL, got 'ftp://x'", "server", "--insecure", "--webhook", "ftp://x")]
    [InlineData("error: --demo needs the inspector; drop --no-inspector", "server", "--insecure", "--demo", "--no-inspector")]
    [InlineData("error: --manual needs the inspector; drop --no-inspector", "server", "--insecure", "--manual", "--no-inspector")]
    [InlineData("error: --inspector-port must be in [0, 65535], got 70000", "server", "--insecure", "--inspector-port", "70000")]
    [InlineData("error: --server must look like HOST:PORT, got 'nowhere'", "client", "--insecure", "--server", "nowhere")]
    [InlineData("error: give --server HOST:PORT (and/or --notify-listen HOST:PORT)", "client", "--insecure")]
    [InlineData("error: Unknown model 'nope'", "client", "--insecure", "--server", "127.0.0.1:9", "--model", "nope")]
    public async Task Deploy_BadOption_OneLineErrorNamingIt(string expected, params string[] args)
    {
        var (code, _, err) = await Cli.RunAsync(args);
        Assert.NotEqual(0, code);
        Assert.StartsWith(expected, err.Trim(), StringComparison.Ordinal);
        Assert.Single(err.Trim().Split('\n'));
    }
}
