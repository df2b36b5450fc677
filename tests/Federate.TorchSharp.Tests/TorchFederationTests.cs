using Xunit.Abstractions;

namespace Federate.TorchSharp.Tests;

public sealed class TorchFederationTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Simulation_FourRounds_LossDecreasesAndAccuracyRises()
    {
        var result = await Federation.SimulateAsync(rounds: 4, seed: 1);

        var rounds = result.History.Rounds;
        foreach (var r in rounds)
        {
            output.WriteLine($"round {r.Round}: train loss {r.Train["loss"]:0.0000}, evaluate loss {r.Evaluate["loss"]:0.0000}, accuracy {r.Evaluate["accuracy"]:0.0000}");
        }

        Assert.Equal(4, rounds.Count);
        Assert.All(rounds, r => Assert.Equal(Federation.Clients, r.Results));
        Assert.All(rounds, r => Assert.Empty(r.Failures));
        for (int i = 1; i < rounds.Count; i++)
        {
            Assert.True(rounds[i].Evaluate["loss"] < rounds[i - 1].Evaluate["loss"], $"evaluate loss went from {rounds[i - 1].Evaluate["loss"]} to {rounds[i].Evaluate["loss"]} in round {i + 1}");
        }

        Assert.True(rounds[^1].Evaluate["accuracy"] > 0.85, $"accuracy {rounds[^1].Evaluate["accuracy"]}");
        Assert.Equal(TorchStateDict.ToRecord(TestModels.Cnn()).Names, result.Parameters.Names);
    }

    [Fact]
    public async Task SimulationAndDeployment_SameSeed_ByteIdenticalModels()
    {
        var simulated = await Federation.SimulateAsync(rounds: 2, seed: 7);
        var again = await Federation.SimulateAsync(rounds: 2, seed: 7);
        var deployed = await Federation.DeployAsync(rounds: 2, seed: 7);
        var otherSeed = await Federation.SimulateAsync(rounds: 2, seed: 8);

        Assert.Equal(Federation.Bytes(simulated.Parameters), Federation.Bytes(again.Parameters));
        Assert.Equal(Federation.Bytes(simulated.Parameters), Federation.Bytes(deployed.Parameters));
        Assert.NotEqual(Federation.Bytes(simulated.Parameters), Federation.Bytes(otherSeed.Parameters));
        Assert.Equal(simulated.History.Rounds[^1].Evaluate["accuracy"], deployed.History.Rounds[^1].Evaluate["accuracy"]);
    }
}
