using System.Globalization;
using System.Text.Json;

namespace Federate.Cli.Tests;

public class PrivacyCliTests
{
    private static double RelErr(double actual, double expected) => Math.Abs(actual - expected) / Math.Abs(expected);

    [Theory]
    // Rows of rdp_epsilon_grid.csv (Opacus 1.5.4): sigma, q, T, delta -> epsilon, best alpha.
    [InlineData("0.5", "0.001", "1", 2.835610328605305, 4.4)]
    [InlineData("1.0", "0.01", "1000", 2.1013652716430564, 7.8)]
    [InlineData("1.1", "0.256", "100", 17.63690357581988, 2.3)]
    [InlineData("2.0", "0.1", "10000", 38.20336406942885, 1.9)]
    public async Task PrivacyEpsilon_GridRow_Json_MatchesReference(string sigma, string q, string steps, double epsilon, double alpha)
    {
        var (code, output, err) = await Cli.RunAsync("privacy", "epsilon", "--noise-multiplier", sigma, "--sample-rate", q, "--steps", steps, "--delta", "1e-5", "--json");
        Assert.True(code == 0, err);
        using var json = JsonDocument.Parse(output);
        Assert.True(RelErr(json.RootElement.GetProperty("epsilon").GetDouble(), epsilon) < 1e-9);
        Assert.Equal(alpha, json.RootElement.GetProperty("best_alpha").GetDouble());
    }

    [Fact]
    public async Task PrivacyEpsilon_Text_PrintsEpsilonAndOrder()
    {
        var (code, output, _) = await Cli.RunAsync("privacy", "epsilon", "--noise-multiplier", "0.5", "--sample-rate", "0.001", "--steps", "1", "--delta", "1e-5");
        Assert.Equal(0, code);
        Assert.StartsWith("epsilon 2.83561032860530", output);
        Assert.Contains("best order 4.4", output);
    }

    [Theory]
    // Rows of dp_noise_multiplier.csv: target epsilon, delta, q, T -> noise multiplier.
    [InlineData("0.5", "0.01", "100", 1.46484375)]
    [InlineData("1", "0.01", "100", 1.083984375)]
    [InlineData("2", "0.01", "100", 0.82763671875)]
    public async Task PrivacyNoise_Row_Json_MatchesReference(string target, string q, string steps, double sigma)
    {
        var (code, output, err) = await Cli.RunAsync("privacy", "noise", "--target-epsilon", target, "--delta", "1e-5", "--sample-rate", q, "--steps", steps, "--json");
        Assert.True(code == 0, err);
        using var json = JsonDocument.Parse(output);
        Assert.Equal(sigma, json.RootElement.GetProperty("noise_multiplier").GetDouble());
        Assert.True(json.RootElement.GetProperty("epsilon").GetDouble() <= double.Parse(target, CultureInfo.InvariantCulture));
    }

    [Theory]
    [InlineData("--sample-rate must be in [0, 1]", "privacy", "epsilon", "--noise-multiplier", "1", "--sample-rate", "1.5", "--steps", "10")]
    [InlineData("--delta must be in (0, 1)", "privacy", "epsilon", "--noise-multiplier", "1", "--sample-rate", "0.1", "--steps", "10", "--delta", "0")]
    [InlineData("--noise-multiplier must be greater than 0 (without noise there is no differential privacy: epsilon would be infinite), got -1", "privacy", "epsilon", "--noise-multiplier", "-1", "--sample-rate", "0.1", "--steps", "10")]
    [InlineData("--noise-multiplier must be greater than 0 (without noise there is no differential privacy: epsilon would be infinite), got 0", "privacy", "epsilon", "--noise-multiplier", "0", "--sample-rate", "0.01", "--steps", "100")]
    [InlineData("--noise-multiplier", "privacy", "epsilon", "--sample-rate", "0.1", "--steps", "10")]
    [InlineData("--target-epsilon must be a positive number", "privacy", "noise", "--target-epsilon", "0", "--sample-rate", "0.1", "--steps", "10")]
    [InlineData("--dp-sgd needs a model trained by SGD", "sim", "--model", "gaussian-nb", "--dp-sgd")]
    [InlineData("--central-dp must be fixed or adaptive", "sim", "--central-dp", "local")]
    [InlineData("--max-epsilon needs --dp-sgd", "sim", "--max-epsilon", "3")]
    [InlineData("--central-dp works with the averaging strategies", "sim", "--central-dp", "fixed", "--strategy", "krum")]
    [InlineData("--noise-multiplier needs --dp-sgd", "sim", "--noise-multiplier", "2")]
    [InlineData("--clip-norm needs --central-dp", "sim", "--dp-sgd", "--clip-norm", "2")]
    [InlineData("--target-quantile needs --central-dp adaptive", "sim", "--central-dp", "fixed", "--target-quantile", "0.9")]
    public async Task Privacy_BadInput_OneLineErrorAndNonZeroExit(string expected, params string[] args)
    {
        var (code, output, err) = await Cli.RunAsync(args);
        Assert.NotEqual(0, code);
        Assert.Equal("", output);
        Assert.StartsWith("error: ", err);
        Assert.Contains(expected, err);
        Assert.Single(err.TrimEnd().Split('\n'));
    }

    [Fact]
    public async Task PrivacyEpsilon_MissingOption_HintNamesFullCommand()
    {
        var (code, _, err) = await Cli.RunAsync("privacy", "epsilon", "--steps", "3");
        Assert.Equal(2, code);
        Assert.Contains("Run 'federate privacy epsilon --help' for usage.", err);
    }

    private static List<JsonElement> Rounds(string dir)
    {
        using var history = Cli.History(dir);
        return [.. history.RootElement.GetProperty("rounds").EnumerateArray().Select(r => r.Clone())];
    }

    [Fact]
    public async Task Sim_BreastCancerDpSgd_AccurateWithGrowingEpsilonMetrics()
    {
        var dir = Cli.TempDir();
        var (code, _, err) = await Cli.RunAsync("sim", "--dataset", "breast-cancer", "--model", "logistic", "--clients", "4", "--rounds", "10", "--dp-sgd", "--noise-multiplier", "1.0", "--max-grad-norm", "1.0", "--out", dir);
        Assert.True(code == 0, err);
        var rounds = Rounds(dir);
        Assert.Equal(10, rounds.Count);
        var accuracy = rounds[^1].GetProperty("evaluate").GetProperty("accuracy").GetDouble();
        Assert.True(accuracy >= 0.85, $"accuracy {accuracy}");
        foreach (var metric in new[] { "round_sample_epsilon", "cumulative_sample_epsilon", "cumulative_user_epsilon" })
        {
            var values = rounds.Select(r => r.GetProperty("train").GetProperty(metric).GetDouble()).ToArray();
            for (int i = 1; i < values.Length; i++)
            {
                Assert.True(values[i] > values[i - 1], $"{metric} did not grow in round {i + 1}: {string.Join(", ", values)}");
            }
        }

        var roundEps = rounds.Select(r => r.GetProperty("train").GetProperty("round_sample_epsilon").GetDouble()).ToArray();
        Assert.All(roundEps, e => Assert.True(e > 0));
        Assert.True(rounds[^1].GetProperty("train").GetProperty("cumulative_sample_epsilon").GetDouble() >= roundEps[^1]);
        using var history = Cli.History(dir);
        Assert.True(history.RootElement.GetProperty("config").GetProperty("dp_sgd").GetBoolean());
    }

    [Fact]
    public async Task Sim_DpSgdAndCentralDpSameSeed_IdenticalModelWhateverTheParallelism()
    {
        var a = Cli.TempDir();
        var b = Cli.TempDir();
        string[] common = ["sim", "--dataset", "iris", "--model", "mlp:8", "--clients", "3", "--rounds", "3", "--partition", "iid", "--seed", "5", "--dp-sgd", "--central-dp", "fixed", "--central-noise-multiplier", "0.5"];
        Assert.Equal(0, (await Cli.RunAsync([.. common, "--out", a])).Code);
        Assert.Equal(0, (await Cli.RunAsync([.. common, "--out", b, "--parallelism", "1"])).Code);
        Assert.Equal(File.ReadAllBytes(Path.Combine(a, "model.safetensors")), File.ReadAllBytes(Path.Combine(b, "model.safetensors")));
    }

    [Fact]
    public async Task Sim_CentralDp_ReportsUserLevelEpsilonFromServerAccountant()
    {
        var dir = Cli.TempDir();
        var (code, _, err) = await Cli.RunAsync("sim", "--dataset", "breast-cancer", "--model", "logistic", "--clients", "4", "--rounds", "4", "--central-dp", "adaptive", "--central-noise-multiplier", "0.8", "--clip-norm", "0.5", "--out", dir);
        Assert.True(code == 0, err);
        var rounds = Rounds(dir);
        var user = rounds.Select(r => r.GetProperty("train").GetProperty("cumulative_user_epsilon").GetDouble()).ToArray();
        var reference = new Core.Privacy.RdpAccountant();
        reference.Step(0.8, 1.0, 4);
        Assert.Equal(reference.GetEpsilon(1e-5), user[^1], 9);
        Assert.True(user[0] < user[^1]);
        Assert.NotEqual(0.5, rounds[^1].GetProperty("train").GetProperty("clip_norm").GetDouble());
    }

    [Fact]
    public async Task Sim_TargetEpsilon_StopsBeforeExceedingRound()
    {
        var dir = Cli.TempDir();
        var (code, _, err) = await Cli.RunAsync("sim", "--dataset", "breast-cancer", "--model", "logistic", "--clients", "4", "--rounds", "10", "--local-epochs", "1", "--central-dp", "fixed", "--target-epsilon", "15", "--out", dir);
        Assert.True(code == 0, err);
        using var history = Cli.History(dir);
        Assert.Equal("privacy_budget", history.RootElement.GetProperty("stop_reason").GetString());
        var rounds = Rounds(dir);
        var last = rounds[^1].GetProperty("train").GetProperty("cumulative_user_epsilon").GetDouble();
        Assert.True(last <= 15, $"{last}");
        var next = new Core.Privacy.RdpAccountant();
        next.Step(1.0, 1.0, rounds.Count + 1);
        Assert.True(next.GetEpsilon(1e-5) > 15);
        Assert.Contains($"round {rounds.Count + 1} would raise the user-level epsilon", history.RootElement.GetProperty("stop_detail").GetString());
    }

    [Fact]
    public async Task Sim_MaxEpsilon_ClientsRefuseBeyondBudget()
    {
        var dir = Cli.TempDir();
        var (code, _, err) = await Cli.RunAsync("sim", "--dataset", "breast-cancer", "--model", "logistic", "--clients", "4", "--rounds", "6", "--local-epochs", "1", "--dp-sgd", "--max-epsilon", "4", "--out", dir);
        Assert.True(code == 0, err);
        var rounds = Rounds(dir);
        var refusals = rounds.SelectMany(r => r.GetProperty("clients").GetProperty("failed").EnumerateArray()).ToArray();
        Assert.NotEmpty(refusals);
        Assert.All(refusals, f => Assert.Equal("privacy_budget", f.GetProperty("code").GetString()));
        Assert.Contains("--max-epsilon 4", refusals[0].GetProperty("reason").GetString());
        foreach (var r in rounds.Where(r => r.GetProperty("train").TryGetProperty("cumulative_sample_epsilon", out _)))
        {
            Assert.True(r.GetProperty("train").GetProperty("cumulative_sample_epsilon").GetDouble() <= 4);
        }
    }
}
