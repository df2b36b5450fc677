using System.Text.Json;
using Xunit.Abstractions;

namespace Federate.IntegrationTests;

/// <summary>Differential privacy across real processes: DP-SGD asked by the server, a site's own budget, the run budget.</summary>
public sealed class PrivacyDeploymentTests(ITestOutputHelper log)
{
    [Fact]
    public async Task Run_ServerDpSgdWithBudgets_ClientRefusesAndRunStopsOnBudget()
    {
        using var dir = new TempDir();
        int port = FederateProcess.FreePort();
        string[] data = ["--dataset", "breast-cancer", "--model", "logistic", "--num-partitions", "2", "--seed", "1"];
        await using var server = FederateProcess.Start("server", log, Args.ServerArgs(port, dir["server"], "--dataset", "breast-cancer", "--model", "logistic", "--min-clients", "2", "--min-results", "1", "--rounds", "10", "--seed", "1", "--dp-sgd", "--noise-multiplier", "1.0", "--max-grad-norm", "1.0", "--target-epsilon", "12"));
        var ledger = Path.Combine(dir["client0"], "ledger.json");
        await using var client0 = FederateProcess.Start("client0", log, Args.ClientArgs(port, [.. data, "--dataset-id", "0", "--privacy-ledger", ledger]));
        await using var client1 = FederateProcess.Start("client1", log, Args.ClientArgs(port, [.. data, "--dataset-id", "1", "--max-epsilon", "8"]));
        Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(120)));

        using var history = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir["server"], "history.json")));
        var root = history.RootElement;
        Assert.Equal("privacy_budget", root.GetProperty("stop_reason").GetString());
        var rounds = root.GetProperty("rounds").EnumerateArray().ToList();
        Assert.InRange(rounds.Count, 2, 9);
        var cumulative = rounds.Select(r => r.GetProperty("train").GetProperty("cumulative_sample_epsilon").GetDouble()).ToList();
        for (int i = 1; i < cumulative.Count; i++)
        {
            Assert.True(cumulative[i] > cumulative[i - 1], $"cumulative_sample_epsilon did not grow: {string.Join(", ", cumulative)}");
        }

        Assert.True(cumulative[^1] <= 12, $"the run went past its budget: {cumulative[^1]}");
        var refusals = rounds.SelectMany(r => r.GetProperty("clients").GetProperty("failed").EnumerateArray())
            .Where(f => f.GetProperty("code").GetString() == "privacy_budget").ToList();
        Assert.NotEmpty(refusals);
        Assert.Contains("--max-epsilon 8", refusals[0].GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.True(File.Exists(ledger), "client 0 did not persist its privacy ledger");
        Assert.Contains("\"sample\"", await File.ReadAllTextAsync(ledger), StringComparison.Ordinal);
    }
}
