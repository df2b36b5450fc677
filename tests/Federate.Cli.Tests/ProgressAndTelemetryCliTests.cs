using Spectre.Console.Testing;

namespace Federate.Cli.Tests;

/// <summary><c>federate sim</c>'s live progress, <c>--version</c>, and the telemetry options' bad input.</summary>
public class ProgressAndTelemetryCliTests
{
    private static RoundRecord Round(int round, double accuracy) => new()
    {
        Round = round,
        Train = new MetricRecord { ["loss"] = 0.5 },
        Evaluate = new MetricRecord { ["loss"] = 0.4, ["accuracy"] = accuracy },
        Results = 3,
        Seconds = 0.25,
    };

    private static async Task<string> ShowAsync(TestConsole console, int rounds)
    {
        var progress = new RoundProgress(console, rounds);
        await progress.RunAsync(_ =>
        {
            var history = new RunHistory { RunId = "progress" };
            progress.OnRunStarted(history, new ArrayRecord());
            for (int r = 1; r <= rounds; r++)
            {
                progress.OnRoundStarted(r, 3);
                var record = Round(r, 0.5 + (r / 10.0));
                history.Rounds.Add(record);
                progress.OnRoundCompleted(record, new ArrayRecord());
            }

            return Task.FromResult(new RunResult(new ArrayRecord(), history));
        }, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
        return console.Output;
    }

    [Fact]
    public async Task RoundProgress_Terminal_ShowsProgressBarAndKeepsRoundLines()
    {
        var console = new TestConsole().Interactive().EmitAnsiSequences();
        console.Profile.Width = 160;
        var output = await ShowAsync(console, 2);
        Assert.Contains("round 2/2: done  (last accuracy 0.700)", output);
        Assert.Contains("100%", output);
        Assert.Contains("round   1/2  loss 0.500 train, 0.400 eval  accuracy 0.600", output);
        Assert.Contains("round   2/2  loss 0.500 train, 0.400 eval  accuracy 0.700", output);
    }

    [Fact]
    public async Task RoundProgress_NotATerminal_PrintsOnlyThePlainLinePerRound()
    {
        var console = new TestConsole();
        console.Profile.Width = 160;
        var output = await ShowAsync(console, 2);
        Assert.Equal(
            ["round   1/2  loss 0.500 train, 0.400 eval  accuracy 0.600  f1 -  3 ok 0 failed  0.25s", "round   2/2  loss 0.500 train, 0.400 eval  accuracy 0.700  f1 -  3 ok 0 failed  0.25s"],
            output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd()));
    }

    [Fact]
    public async Task Version_PrintsThePackageVersion()
    {
        var (code, output, _) = await Cli.RunProcessAsync("--version"); // a real process: the version is the entry assembly's
        Assert.Equal(0, code);
        var version = typeof(FederateCli).Assembly.GetName().Version!;
        Assert.StartsWith($"{version.Major}.{version.Minor}.{version.Build}", output.Trim());
    }

    [Theory]
    [InlineData("sim", "--otlp-endpoint", "localhost:4317", "--otlp-endpoint must be an absolute http:// or https:// URL such as http://localhost:4317, got 'localhost:4317'")]
    [InlineData("sim", "--otlp-endpoint", "ftp://collector", "--otlp-endpoint must be an absolute http:// or https:// URL")]
    [InlineData("server", "--log-format", "xml", "--log-format must be text or json, got 'xml'")]
    [InlineData("client", "--log-format", "yaml", "--log-format must be text or json, got 'yaml'")]
    public async Task TelemetryOptions_BadValue_OneLineUsageError(string command, string option, string value, string expected)
    {
        string[] more = command switch
        {
            "server" => ["--insecure", "--port", "0", "--no-inspector", "--state-dir", Cli.TempDir()],
            "client" => ["--server", "127.0.0.1:1", "--insecure"],
            _ => ["--rounds", "1", "--out", Cli.TempDir()],
        };
        var (code, _, error) = await Cli.RunAsync([command, option, value, .. more]);
        Assert.Equal(2, code);
        Assert.Equal($"error: {expected}", error.Trim().Split('\n')[0][..Math.Min(error.Trim().Split('\n')[0].Length, $"error: {expected}".Length)]);
        Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }
}
