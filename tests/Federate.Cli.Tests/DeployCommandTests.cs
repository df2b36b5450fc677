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
    [InlineData("error: --keep-checkpoints must be 0 (keep all) or more, got -2", "server", "--insecure", "--port", "0", "--keep-checkpoints", "-2")]
    [InlineData("error: --keep-checkpoints must be 0 (keep all) or more, got -1", "sim", "--keep-checkpoints", "-1")]
    [InlineData("error: --max-concurrent-uploads must be at least 1, got 0", "server", "--insecure", "--port", "0", "--max-concurrent-uploads", "0")]
    [InlineData("error: --webhook must be an http(s) URL, got 'ftp://x'", "server", "--insecure", "--webhook", "ftp://x")]
    [InlineData("error: --demo needs the inspector; drop --no-inspector", "server", "--insecure", "--demo", "--no-inspector")]
    [InlineData("error: --manual needs the inspector; drop --no-inspector", "server", "--insecure", "--manual", "--no-inspector")]
    [InlineData("error: --inspector-port must be in [0, 65535], got 70000", "server", "--insecure", "--inspector-port", "70000")]
    [InlineData("error: --server must look like HOST:PORT, got 'nowhere'", "client", "--insecure", "--server", "nowhere")]
    [InlineData("error: give --server HOST:PORT (and/or --notify-listen HOST:PORT)", "client", "--insecure")]
    [InlineData("error: Unknown model 'nope'", "client", "--insecure", "--server", "127.0.0.1:9", "--model", "nope")]
    [InlineData("error: model 'unet-small' segments images but dataset 'digits' has no per-pixel masks; use a segmentation dataset such as --dataset shapes-seg", "client", "--insecure", "--server", "127.0.0.1:9", "--dataset", "digits", "--model", "unet-small")]
    [InlineData("error: dataset 'shapes-seg' is a segmentation dataset (per-pixel masks) and model 'logistic' classifies whole rows; use --model unet-small", "server", "--insecure", "--port", "0", "--dataset", "shapes-seg", "--model", "logistic")]
    [InlineData("error: --inspector-host must be an IP address (127.0.0.1, 0.0.0.0 for every interface), got 'example.org'", "server", "--insecure", "--port", "0", "--inspector-host", "example.org")]
    public async Task Deploy_BadOption_OneLineErrorNamingIt(string expected, params string[] args)
    {
        var (code, _, err) = await Cli.RunAsync(args);
        Assert.NotEqual(0, code);
        Assert.StartsWith(expected, err.Trim(), StringComparison.Ordinal);
        Assert.Single(err.Trim().Split('\n'));
    }

    [Theory]
    [InlineData("error: --dataset-id 5 is out of range: --num-partitions 3 gives partitions 0 to 2", "--dataset-id", "5", "--num-partitions", "3")]
    [InlineData("error: --dataset-id -1 is out of range: --num-partitions 3 gives partitions 0 to 2", "--dataset-id", "-1", "--num-partitions", "3")]
    [InlineData("error: --num-partitions must be at least 1, got 0", "--num-partitions", "0")]
    [InlineData("error: --virtual-clients 3 from --dataset-id 1 needs partitions 1 to 3, but --num-partitions is 2; raise --num-partitions to at least 4", "--virtual-clients", "3", "--dataset-id", "1", "--num-partitions", "2")]
    public async Task Client_PartitionOutOfRange_RefusedBeforeConnecting(string expected, params string[] args)
    {
        var (code, _, err) = await Cli.RunAsync(["client", "--insecure", "--server", "127.0.0.1:9", .. args]);
        Assert.Equal(2, code);
        Assert.Equal(expected, err.Trim());
    }

    [Fact]
    public async Task Client_ServerGoneForGood_GivesUpAfterTheLimitWithOneLine()
    {
        // Nothing listens on a port just released: every attempt is refused, as for a server killed after its run.
        var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        probe.Start();
        int port = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        var (code, _, err) = await Cli.RunAsync("client", "--insecure", "--server", $"127.0.0.1:{port}", "--retry-interval", "0.05",
            "--max-retry-interval", "0.1", "--give-up-after", "0.5");
        Assert.Equal(1, code);
        Assert.StartsWith($"error: the server at 127.0.0.1:{port} has been unreachable for ", err.Trim(), StringComparison.Ordinal);
        Assert.EndsWith("giving up after --give-up-after 0.5 s", err.Trim(), StringComparison.Ordinal);
        Assert.Single(err.Trim().Split('\n'));
    }

    [Fact]
    public async Task Client_GiveUpAfterZero_Refused()
    {
        var (code, _, err) = await Cli.RunAsync("client", "--insecure", "--server", "127.0.0.1:9", "--give-up-after", "0");
        Assert.Equal(2, code);
        Assert.Equal("error: --give-up-after must be positive (leave it out to keep trying), got 0", err.Trim());
    }

    [Fact]
    public async Task Client_DatasetIsAFolder_SaysItIsAFolder()
    {
        var dir = Cli.TempDir();
        var (code, _, err) = await Cli.RunAsync("client", "--insecure", "--server", "127.0.0.1:9", "--dataset", dir);
        Assert.Equal(1, code);
        Assert.Equal($"error: '{dir}' is a folder, not a data file; give a CSV file (or the name of an embedded dataset, such as digits)", err.Trim());
    }

    [Theory]
    [InlineData("--out", "the output folder")]
    [InlineData("--state-dir", "the state directory")]
    public async Task Server_OutOrStateDirIsAFile_SaysItIsAFile(string option, string what)
    {
        var file = Path.Combine(Cli.TempDir(), "a-file");
        await File.WriteAllTextAsync(file, "x");
        var (code, _, err) = await Cli.RunAsync("server", "--insecure", "--port", "0", "--no-inspector", option, file);
        Assert.Equal(1, code);
        Assert.Equal($"error: {what} '{file}' is a file; give a folder (it is created when missing)", err.Trim());
    }
}
