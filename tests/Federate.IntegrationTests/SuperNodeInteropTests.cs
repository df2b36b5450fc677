using System.Globalization;
using Xunit.Abstractions;
using StandIn = Federate.IntegrationTests.FlowerInteropTests.StandIn;

namespace Federate.IntegrationTests;

/// <summary>
/// Flower's Fleet API with real processes on 127.0.0.1: a Python stand-in SuperNode (Flower/supernode_standin.py:
/// Debian's python3-grpcio, -protobuf and -numpy, no Flower install) speaking Flower 1.19's request-response Fleet
/// service and content-addressed objects, running the Message-API app of samples/flower/linreg-app, against
/// <c>federate server --flower-port ... --flower-app ...</c>.
/// </summary>
[Collection(FlowerCollection.Name)]
public sealed class SuperNodeInteropTests(ITestOutputHelper log)
{
    private static string S(int i) => i.ToString(CultureInfo.InvariantCulture);

    private static string App => Path.Combine(AppContext.BaseDirectory, "linreg-app");

    /// <summary>One SuperNode of each supported version (1.19's and 1.23's Fleet API) in one run.</summary>
    [Fact]
    public async Task Run_StandInSuperNodesOnFederate_LossesEqualFlowersOwnServer()
    {
        using var dir = new TempDir();
        int port = FederateProcess.FreePort();
        int flowerPort = FederateProcess.FreePort();
        await using var server = FederateProcess.Start("server", log, Args.ServerArgs(port, dir["server"], "--flower-port", S(flowerPort), "--flower-app", App, "--min-clients", "2", "--rounds", "3", "--config", "tag=blue", "--local-epochs", "3", "--evaluate-config", "split=test"));
        await server.WaitForLineAsync("Fleet API for SuperNodes");
        using var n0 = StandIn.StartScript(log, "supernode_standin.py", $"127.0.0.1:{flowerPort}", "0", "linear", "0.1", "1.19");
        using var n1 = StandIn.StartScript(log, "supernode_standin.py", $"127.0.0.1:{flowerPort}", "1", "linear", "0.1", "1.23");

        Assert.Equal(0, await server.WaitForExitAsync());
        Assert.Equal(0, await n0.WaitForExitAsync());
        Assert.Equal(0, await n1.WaitForExitAsync());

        var history = HistoryJson.Parse(File.ReadAllText(Path.Combine(dir["server"], "history.json")));
        Assert.Equal(3, history.Rounds.Count);
        for (int r = 0; r < 3; r++)
        {
            Assert.Equal(2, history.Rounds[r].Results);
            Assert.Empty(history.Rounds[r].Failures);

            // The same training as the legacy NumPyClient; the loss travels as a double here, as a float32 there.
            Assert.Equal(FlowerInteropTests.FlowerServerLosses[r], history.Rounds[r].Evaluate["loss"], 1e-6);

            // A ClientApp's strings and bytes (in a ConfigRecord) are kept per node.
            Assert.Equal(["standin-0", "standin-1"], history.Rounds[r].TrainValues.Where(v => v.Key == "device").Select(v => v.Value.AsString()).Order(StringComparer.Ordinal));
            Assert.Equal(["AP8=", "Af8="], history.Rounds[r].TrainValues.Where(v => v.Key == "digest").Select(v => Convert.ToBase64String(v.Value.AsBytes())).Order(StringComparer.Ordinal));
        }

        Assert.Contains("speaks Flower 1.19 (CreateNode)'s Fleet API", server.Output, StringComparison.Ordinal);
        Assert.Contains("speaks Flower 1.23 (ActivateNode)'s Fleet API", server.Output, StringComparison.Ordinal);
        Assert.Contains("initial parameters from a client: 2 tensors, 4 values", server.Output, StringComparison.Ordinal);
        Assert.Contains("'supernode@ipv4:127.0.0.1:", server.Output, StringComparison.Ordinal);
        Assert.Contains("app federate/linreg-app 1.0.0, FAB files ['.info/CONTENT', 'linreg_app/__init__.py', 'linreg_app/client_app.py', 'linreg_app/server_app.py', 'linreg_app/task.py', 'pyproject.toml']", n0.Output + n1.Output, StringComparison.Ordinal);
        // No --model with Flower nodes: one node gives the initial parameters. Of local_epochs, lr and batch_size only
        // what the operator set reaches them; --evaluate-config reaches evaluate.
        Assert.Contains("train round 3 group 3 config [('local_epochs', 3), ('server-round', 3), ('server_round', 3), ('tag', 'blue')]", n1.Output, StringComparison.Ordinal);
        Assert.Contains("evaluate round 2 group 2 config [('server-round', 2), ('server_round', 2), ('split', 'test')]", n0.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_NativeClientSuperNodeAndLegacyFlowerClient_TrainTogether()
    {
        using var dir = new TempDir();
        int port = FederateProcess.FreePort();
        int flowerPort = FederateProcess.FreePort();
        await using var server = FederateProcess.Start("server", log, Args.ServerArgs(port, dir["server"], "--flower-port", S(flowerPort), "--flower-app", App, "--dataset", "iris", "--model", "logistic", "--min-clients", "3", "--rounds", "3", "--seed", "3"));
        await server.WaitForLineAsync("Fleet API for SuperNodes");
        await using var native = FederateProcess.Start("native", log, Args.ClientArgs(port, "--dataset", "iris", "--model", "logistic", "--dataset-id", "0", "--num-partitions", "2", "--seed", "3"));
        await using var legacy = FederateProcess.Start("legacy", log, "client", "--protocol", "flower", "--server", $"127.0.0.1:{flowerPort}", "--dataset", "iris", "--model", "logistic", "--dataset-id", "1", "--num-partitions", "2", "--seed", "3");
        using var supernode = StandIn.StartScript(log, "supernode_standin.py", $"127.0.0.1:{flowerPort}", "2", "echo");

        Assert.Equal(0, await server.WaitForExitAsync());
        Assert.Equal(0, await native.WaitForExitAsync());
        Assert.Equal(0, await legacy.WaitForExitAsync());
        Assert.Equal(0, await supernode.WaitForExitAsync());

        var history = HistoryJson.Parse(File.ReadAllText(Path.Combine(dir["server"], "history.json")));
        Assert.Equal(3, history.Rounds.Count);
        Assert.All(history.Rounds, r =>
        {
            Assert.Equal(3, r.Results);
            Assert.Empty(r.Failures);
        });
        Assert.Contains("'flower@ipv4:127.0.0.1:", server.Output, StringComparison.Ordinal);
        Assert.Contains("'supernode@ipv4:127.0.0.1:", server.Output, StringComparison.Ordinal);
        Assert.Contains("supernode 2 evaluate round 3", supernode.Output, StringComparison.Ordinal);
        Assert.Contains("the server sent reconnect_ins after 6 answers", legacy.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_Flower122StandIn_RefusedNamingTheSupportedVersions()
    {
        using var dir = new TempDir();
        int port = FederateProcess.FreePort();
        int flowerPort = FederateProcess.FreePort();
        await using var server = FederateProcess.Start("server", log, Args.ServerArgs(port, dir["server"], "--flower-port", S(flowerPort), "--flower-app", App, "--min-clients", "1", "--rounds", "1"));
        await server.WaitForLineAsync("Fleet API for SuperNodes");
        using var middle = StandIn.StartScript(log, "supernode_standin.py", $"127.0.0.1:{flowerPort}", "0", "linear", "0.1", "1.22");

        Assert.Equal(1, await middle.WaitForExitAsync());
        const string Reason = "Flower 1.20 to 1.22 SuperNodes are not supported (they register as 1.19 does but read messages as 1.20 does): run flower-supernode from Flower 1.19 or 1.23, the versions this server speaks";
        Assert.Contains($"supernode 0 failed: StatusCode.FAILED_PRECONDITION {Reason}", middle.Output, StringComparison.Ordinal);
        await server.WaitForLineAsync(Reason);
    }

    [Fact]
    public async Task Run_FederateClientsAsSuperNodes_FinishWhenTheRunFinishes()
    {
        using var dir = new TempDir();
        int port = FederateProcess.FreePort();
        int flowerPort = FederateProcess.FreePort();
        await using var server = FederateProcess.Start("server", log, Args.ServerArgs(port, dir["server"], "--flower-port", S(flowerPort), "--dataset", "iris", "--model", "logistic", "--min-clients", "2", "--rounds", "3"));
        await server.WaitForLineAsync("FlowerService/Join");
        await using var c0 = FederateProcess.Start("c0", log, "client", "--protocol", "supernode", "--server", $"127.0.0.1:{flowerPort}", "--dataset", "iris", "--model", "logistic", "--dataset-id", "0", "--num-partitions", "2");
        await using var c1 = FederateProcess.Start("c1", log, "client", "--protocol", "supernode", "--server", $"127.0.0.1:{flowerPort}", "--dataset", "iris", "--model", "logistic", "--dataset-id", "1", "--num-partitions", "2");

        Assert.Equal(0, await server.WaitForExitAsync());
        Assert.Equal(0, await c0.WaitForExitAsync());
        Assert.Equal(0, await c1.WaitForExitAsync());

        var history = HistoryJson.Parse(File.ReadAllText(Path.Combine(dir["server"], "history.json")));
        Assert.Equal(3, history.Rounds.Count);
        Assert.All(history.Rounds, r =>
        {
            Assert.Equal(2, r.Results);
            Assert.Empty(r.Failures);
            Assert.True(r.Evaluate.ContainsKey("accuracy"));
        });
        Assert.Contains("finished after 6 answers; training is over", c0.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Server_FlowerAppThatIsNoApp_ExitsTwoNamingTheProblem()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir["empty-app"]);
        int port = FederateProcess.FreePort();
        await using var server = FederateProcess.Start("server", log, Args.ServerArgs(port, dir["server"], "--flower-port", "0", "--flower-app", dir["empty-app"], "--model", "none"));

        Assert.Equal(2, await server.WaitForExitAsync());
        Assert.Contains($"--flower-app '{dir["empty-app"]}' has no pyproject.toml (give a Flower app folder, as 'flwr new' makes, or a .fab file)", server.Output, StringComparison.Ordinal);
    }
}
