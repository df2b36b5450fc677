using System.Globalization;
using Xunit.Abstractions;

namespace Federate.IntegrationTests;

/// <summary>The U-Net on the synthetic segmentation data with DP-SGD: real server and clients give the simulation's model.</summary>
public sealed class SegmentationDeploymentTests(ITestOutputHelper log)
{
    private const int Clients = 2;

    private static string S(int i) => i.ToString(CultureInfo.InvariantCulture);

    [Fact]
    public async Task Run_UNetShapesSegDpSgd_SameModelAndDiceAsSimulation()
    {
        using var dir = new TempDir();
        int port = FederateProcess.FreePort();
        string[] training = ["--dataset", "shapes-seg", "--model", "unet-small", "--seed", "3", "--local-epochs", "1", "--batch-size", "32", "--lr", "0.05", "--momentum", "0.9"];
        await using var server = FederateProcess.Start("server", log, Args.ServerArgs(port, dir["server"], [.. training, "--min-clients", S(Clients), "--rounds", "2", "--dp-sgd"]));
        var clients = new List<FederateProcess>();
        for (int i = 0; i < Clients; i++)
        {
            clients.Add(FederateProcess.Start($"client{i}", log, Args.ClientArgs(port, [.. training, "--dataset-id", S(i), "--num-partitions", S(Clients)])));
        }

        await using var sim = FederateProcess.Start("sim", log, ["sim", .. training, "--clients", S(Clients), "--fraction", "1", "--partition", "iid", "--rounds", "2", "--dp-sgd", "--out", dir["sim"]]);
        var limit = TimeSpan.FromMinutes(5);
        try
        {
            Assert.Equal(0, await server.WaitForExitAsync(limit));
            Assert.Equal(0, await sim.WaitForExitAsync(limit));
            foreach (var c in clients)
            {
                Assert.Equal(0, await c.WaitForExitAsync(limit));
            }
        }
        finally
        {
            foreach (var c in clients)
            {
                await c.DisposeAsync();
            }
        }

        Assert.Equal(File.ReadAllBytes(Path.Combine(dir["sim"], "model.safetensors")), File.ReadAllBytes(Path.Combine(dir["server"], "model.safetensors")));
        var deployed = HistoryJson.Parse(File.ReadAllText(Path.Combine(dir["server"], "history.json")));
        var simulated = HistoryJson.Parse(File.ReadAllText(Path.Combine(dir["sim"], "history.json")));
        Assert.Equal(2, deployed.Rounds.Count);
        for (int r = 0; r < 2; r++)
        {
            Assert.Equal(Clients, deployed.Rounds[r].Results);
            // Pooled from per-pixel counts, so exact whatever the order replies arrive in; epsilon to rounding.
            Assert.Equal(simulated.Rounds[r].Evaluate["dice"], deployed.Rounds[r].Evaluate["dice"]);
            Assert.Equal(simulated.Rounds[r].Train["cumulative_sample_epsilon"], deployed.Rounds[r].Train["cumulative_sample_epsilon"], 9);
        }

        Assert.Contains("dice", sim.Output, StringComparison.Ordinal);
    }
}
