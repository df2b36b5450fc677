using Federate.Core;
using Federate.State;

namespace Federate.Cli.Tests;

/// <summary><c>federate runs list|show|export</c> on a state directory.</summary>
public sealed class RunsCommandTests
{
    private static string StateWithOneRun()
    {
        var dir = Cli.TempDir();
        using var store = StateStore.Open(dir);
        store.CreateRun("abcdef12-run", "f", new Dictionary<string, object?> { ["rounds"] = 2, ["seed"] = 4 });
        for (int n = 1; n <= 2; n++)
        {
            store.SaveRound("abcdef12-run", new RoundRecord { Round = n, Results = 2, Evaluate = new MetricRecord { ["accuracy"] = n / 4.0 }, TrainValues = [new NodeMetricValue(5, "device", "cuda:" + n), new NodeMetricValue(6, "digest", new byte[] { 1, 2 })] }, new ArrayRecord { { "w", Tensor.FromArray([1f, 2f], 2) } }, null);
        }

        return dir;
    }

    [Fact]
    public async Task List_ShowsRunStatusAndRounds()
    {
        var dir = StateWithOneRun();
        var (code, output, _) = await Cli.RunAsync("runs", "list", "--state-dir", dir);
        Assert.Equal(0, code);
        Assert.Contains("abcdef12-run", output, StringComparison.Ordinal);
        Assert.Contains("running", output, StringComparison.Ordinal);

        (code, output, _) = await Cli.RunAsync("runs", "list", "--state-dir", dir, "--json");
        Assert.Equal(0, code);
        Assert.Contains("\"rounds_done\":2", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ShowAndExport_ByPrefix_WriteRoundsAndHistoryJson()
    {
        var dir = StateWithOneRun();
        var (code, output, _) = await Cli.RunAsync("runs", "show", "abcdef", "--state-dir", dir);
        Assert.Equal(0, code);
        Assert.Contains("round 2: 2 results, 0 failures, evaluate accuracy 0.5", output, StringComparison.Ordinal);
        Assert.Contains("round 2: 2 results, 0 failures, evaluate accuracy 0.5 (0.000 s)\n  train device node 5: cuda:2\n  train digest node 6: base64:AQI=\n", output.ReplaceLineEndings("\n"), StringComparison.Ordinal);

        var file = Path.Combine(dir, "exported.json");
        (code, _, _) = await Cli.RunAsync("runs", "export", "abcdef12-run", "--state-dir", dir, "--out", file);
        Assert.Equal(0, code);
        var history = HistoryJson.Parse(File.ReadAllText(file));
        Assert.Equal("abcdef12-run", history.RunId);
        Assert.Equal([1, 2], history.Rounds.Select(r => r.Round));

        (code, output, _) = await Cli.RunAsync("runs", "export", "abcdef12-run", "--state-dir", dir);
        Assert.Equal(0, code);
        Assert.Equal(2, HistoryJson.Parse(output).Rounds.Count);
    }

    [Fact]
    public async Task UnknownRunOrMissingState_OneLineUsageError()
    {
        var dir = StateWithOneRun();
        var (code, _, error) = await Cli.RunAsync("runs", "show", "nope", "--state-dir", dir);
        Assert.Equal(2, code);
        Assert.StartsWith("error: no run 'nope'", error, StringComparison.Ordinal);

        (code, _, error) = await Cli.RunAsync("runs", "list", "--state-dir", Path.Combine(dir, "missing"));
        Assert.Equal(2, code);
        Assert.StartsWith("error: no state database", error, StringComparison.Ordinal);
    }
}
