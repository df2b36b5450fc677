namespace Federate.Cli.Tests;

/// <summary><c>--secagg</c> options of <c>federate sim</c> and <c>federate server</c> through the real entry point.</summary>
public class SecAggCliTests
{
    [Theory]
    [InlineData("error: --secagg-shares needs --secagg", "sim", "--secagg-shares", "4")]
    [InlineData("error: --secagg-timeout needs --secagg", "server", "--secagg-timeout", "5")]
    [InlineData("error: --secagg hides every client's update, so --strategy krum (which needs them one by one) cannot run; use one of: fedavg, fedprox, fedavgm, fedadam, fedyogi, fedadagrad", "sim", "--secagg", "--strategy", "krum")]
    [InlineData("error: --secagg-modulus must be a power of two from 4 to 2^32 (4294967296), got 1000", "sim", "--secagg", "--secagg-modulus", "1000")]
    [InlineData("error: --secagg-threshold (9) cannot exceed --secagg-shares (4)", "sim", "--secagg", "--secagg-shares", "4", "--secagg-threshold", "9")]
    [InlineData("error: --secagg works with --central-dp fixed (clients clip their updates, the server adds noise to the sum), not adaptive", "server", "--insecure", "--secagg", "--central-dp", "adaptive")]
    [InlineData("error: --secagg-timeout must be non-negative, got -1", "sim", "--secagg", "--secagg-timeout", "-1")]
    public async Task SecAgg_BadInput_OneLineErrorNamingTheFlags(string expected, params string[] args)
    {
        var (code, output, err) = await Cli.RunAsync(args);

        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Equal(expected, err.TrimEnd());
    }

    [Fact]
    public async Task Sim_SecAgg_RunsAndRecordsTheSettings()
    {
        var dir = Path.Combine(Path.GetTempPath(), "federate-secagg-cli-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var (code, output, _) = await Cli.RunAsync("sim", "--secagg", "--secagg-shares", "4", "--clients", "6", "--rounds", "2", "--local-epochs", "1", "--out", dir, "--json");

            Assert.Equal(0, code);
            using var summary = System.Text.Json.JsonDocument.Parse(output);
            Assert.Equal(2, summary.RootElement.GetProperty("rounds").GetInt32());
            using var history = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "history.json")));
            var config = history.RootElement.GetProperty("config");
            Assert.True(config.GetProperty("secagg").GetBoolean());
            Assert.Equal(4, config.GetProperty("secagg_shares").GetInt32());
            Assert.Equal(4294967296, config.GetProperty("secagg_modulus").GetInt64());
            Assert.All(history.RootElement.GetProperty("rounds").EnumerateArray(), r => Assert.Equal(6, r.GetProperty("train").GetProperty("secagg_clients").GetInt32()));
        }
        finally
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }
}
