using System.Text.Json;

namespace Federate.Cli.Tests;

public class SimCommandTests
{
    [Fact]
    public async Task Sim_Defaults_TrainsDigitsAbove93Percent()
    {
        var dir = Cli.TempDir();
        var (code, output, err) = await Cli.RunAsync("sim", "--out", dir);
        Assert.True(code == 0, err);
        using var history = Cli.History(dir);
        var rounds = history.RootElement.GetProperty("rounds");
        var last = rounds[rounds.GetArrayLength() - 1];
        var accuracy = last.GetProperty("evaluate").GetProperty("accuracy").GetDouble();
        Assert.True(accuracy >= 0.93, $"accuracy {accuracy}");
        Assert.Equal("digits", history.RootElement.GetProperty("config").GetProperty("dataset").GetString());
        Assert.Equal(10, last.GetProperty("clients").GetProperty("results").GetInt32());
        Assert.True(File.Exists(Path.Combine(dir, "model.safetensors")));
        Assert.Contains("round  20/20", output);
        Assert.Contains("stopped: round_limit", output);
    }

    [Fact]
    public async Task Sim_SameSeed_IdenticalModelFiles()
    {
        var a = Cli.TempDir();
        var b = Cli.TempDir();
        string[] common = ["sim", "--dataset", "iris", "--model", "logistic", "--clients", "3", "--rounds", "3", "--partition", "iid", "--seed", "5"];
        Assert.Equal(0, (await Cli.RunAsync([.. common, "--out", a])).Code);
        Assert.Equal(0, (await Cli.RunAsync([.. common, "--out", b, "--parallelism", "1"])).Code);
        Assert.Equal(File.ReadAllBytes(Path.Combine(a, "model.safetensors")), File.ReadAllBytes(Path.Combine(b, "model.safetensors")));
    }

    [Fact]
    public async Task Sim_GaussianNbThreshold_StopsOnConvergenceWithF1AndRecall()
    {
        var dir = Cli.TempDir();
        var (code, output, err) = await Cli.RunAsync("sim", "--dataset", "breast-cancer", "--model", "gaussian-nb", "--clients", "3", "--rounds", "10", "--threshold", "0.001", "--out", dir, "--json");
        Assert.True(code == 0, err);
        using var summary = JsonDocument.Parse(output);
        Assert.Equal("converged", summary.RootElement.GetProperty("stop_reason").GetString());
        Assert.True(summary.RootElement.GetProperty("rounds").GetInt32() < 10);
        var evaluate = summary.RootElement.GetProperty("evaluate");
        Assert.True(evaluate.GetProperty("f1").GetDouble() >= 0.90);
        Assert.True(evaluate.GetProperty("recall").GetDouble() > 0);
        using var history = Cli.History(dir);
        Assert.Equal("converged", history.RootElement.GetProperty("stop_reason").GetString());
        Assert.Contains("less than the threshold 0.001", history.RootElement.GetProperty("stop_detail").GetString());
    }

    [Fact]
    public async Task Sim_DropRate_RecordsFailures()
    {
        var dir = Cli.TempDir();
        var (code, _, err) = await Cli.RunAsync("sim", "--dataset", "wine", "--model", "logistic", "--clients", "10", "--rounds", "3", "--partition", "iid", "--drop-rate", "0.3", "--out", dir);
        Assert.True(code == 0, err);
        using var history = Cli.History(dir);
        var failures = history.RootElement.GetProperty("rounds").EnumerateArray().Sum(r => r.GetProperty("clients").GetProperty("failures").GetInt32());
        Assert.True(failures > 0);
        var first = history.RootElement.GetProperty("rounds").EnumerateArray().SelectMany(r => r.GetProperty("clients").GetProperty("failed").EnumerateArray()).First();
        Assert.Equal("dropped", first.GetProperty("code").GetString());
    }

    [Fact]
    public async Task Sim_Target_StopsWhenReached()
    {
        var dir = Cli.TempDir();
        var (code, output, err) = await Cli.RunAsync("sim", "--dataset", "iris", "--model", "logistic", "--clients", "3", "--partition", "iid", "--rounds", "30", "--target", "accuracy=0.8", "--out", dir, "--json");
        Assert.True(code == 0, err);
        using var summary = JsonDocument.Parse(output);
        Assert.Equal("target_reached", summary.RootElement.GetProperty("stop_reason").GetString());
    }

    [Fact]
    public async Task Sim_SensorColumnPartition_OneMotePerClient()
    {
        var dir = Cli.TempDir();
        var (code, _, err) = await Cli.RunAsync("sim", "--dataset", "sensor-single-hop", "--model", "logistic", "--clients", "4", "--partition", "column:mote_id", "--rounds", "2", "--out", dir);
        Assert.True(code == 0, err);
    }
}

public class FashionMnistSimTests
{
    [Theory]
    [InlineData("iid", 0.84)]
    [InlineData("dirichlet:0.3", 0.75)]
    public async Task Sim_FashionMnistIssueCommand_ReachesAccuracy(string partition, double minimum)
    {
        var dir = Cli.TempDir();
        var (code, output, err) = await Cli.RunAsync("sim", "--dataset", "fashion-mnist", "--model", "mlp", "--clients", "100", "--fraction", "0.1", "--rounds", "30", "--partition", partition, "--local-epochs", "1", "--batch-size", "32", "--seed", "1", "--out", dir, "--json");
        Assert.True(code == 0, err);
        using var summary = JsonDocument.Parse(output);
        var evaluate = summary.RootElement.GetProperty("evaluate");
        Assert.Equal(10000, evaluate.GetProperty("num_examples").GetDouble());
        Assert.True(evaluate.GetProperty("accuracy").GetDouble() >= minimum, $"accuracy {evaluate.GetProperty("accuracy").GetDouble()}");
    }

    [Fact]
    public async Task Sim_FashionMnistMissing_OneLineHowToGetIt()
    {
        var (code, _, err) = await Cli.RunAsync("sim", "--dataset", "fashion-mnist", "--data-dir", Cli.TempDir(), "--out", Cli.TempDir());
        Assert.NotEqual(0, code);
        Assert.Contains("apt-get install dataset-fashion-mnist", err);
        Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }
}

public class RobustAggregationSimTests
{
    private static async Task<double> Accuracy(params string[] extra)
    {
        var (code, output, err) = await Cli.RunAsync(["sim", "--clients", "20", "--rounds", "10", "--partition", "iid", "--attack", "sign-flip:0.2", "--byzantine", "4", "--out", Cli.TempDir(), "--json", .. extra]);
        Assert.True(code == 0, err);
        using var summary = JsonDocument.Parse(output);
        return summary.RootElement.GetProperty("evaluate").GetProperty("accuracy").GetDouble();
    }

    [Fact]
    public async Task Sim_SignFlipAttack_FedAvgBreaksAndRobustStrategiesHold()
    {
        Assert.True(await Accuracy("--strategy", "fedavg") < 0.5);
        foreach (var strategy in new[] { "median", "trimmed-mean", "bulyan" })
        {
            var accuracy = await Accuracy("--strategy", strategy);
            Assert.True(accuracy >= 0.85, $"{strategy}: {accuracy}");
        }
    }

    [Fact]
    public async Task Sim_BadAttackSpec_OneLineError()
    {
        var (code, _, err) = await Cli.RunAsync("sim", "--attack", "sign-flip:2", "--out", Cli.TempDir());
        Assert.Equal(2, code);
        Assert.StartsWith("error: attack fraction must be in (0, 1)", err);
    }
}
