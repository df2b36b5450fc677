using System.Globalization;
using System.Text;
using Federate.Core;
using Federate.Core.SecureAggregation;
using Federate.Learning.Models;
using Federate.Simulation;
using Xunit.Abstractions;

namespace Federate.IntegrationTests;

/// <summary>
/// <c>federate server --secagg</c> with real client processes: the same model as <c>federate sim --secagg</c>, the
/// accuracy of plain FedAvg, and nothing the server receives, stores or logs holds a client's update.
/// </summary>
public sealed class SecureAggregationDeploymentTests(ITestOutputHelper log)
{
    private const int Clients = 4;
    private const int Seed = 11;

    private static string S(int i) => i.ToString(CultureInfo.InvariantCulture);

    [Fact]
    public async Task Server_SecAgg_SameModelAsSimulation_FedAvgAccuracy_AndNoUpdateReadableFromWhatTheServerGetsStoresOrLogs()
    {
        using var dir = new TempDir();
        int port = FederateProcess.FreePort();
        await using var server = FederateProcess.Start("server", log, Args.ServerArgs(port, dir["server"], "--dataset", "digits", "--min-clients", S(Clients), "--rounds", "5", "--seed", S(Seed), "--secagg", "--verbose"));
        // The proxy records what crosses the gRPC port: the clients keep their tensors there (--no-transfer-endpoint).
        await using var proxy = new RecordingProxy(port);
        await server.WaitForLineAsync("listening on");
        var clients = new List<FederateProcess>();
        for (int i = 0; i < Clients; i++)
        {
            clients.Add(FederateProcess.Start($"client{i}", log, Args.ClientArgs(proxy.Port, "--dataset", "digits", "--dataset-id", S(i), "--num-partitions", S(Clients), "--seed", S(Seed), "--no-transfer-endpoint")));
        }

        string[] Sim(string name, params string[] more) => ["sim", "--dataset", "digits", "--clients", S(Clients), "--fraction", "1", "--partition", "iid", "--seed", S(Seed), "--rounds", "5", "--out", dir[name], .. more];
        await using var secureSim = FederateProcess.Start("sim-secagg", log, Sim("sim-secagg", "--secagg"));
        await using var plainSim = FederateProcess.Start("sim-plain", log, Sim("sim-plain"));
        await AllSucceedAsync(clients, server, secureSim, plainSim);

        // Deployment = simulation, byte for byte; accuracy = plain FedAvg's within half a point.
        Assert.Equal(File.ReadAllBytes(Path.Combine(dir["sim-secagg"], "model.safetensors")), File.ReadAllBytes(Path.Combine(dir["server"], "model.safetensors")));
        var deployed = HistoryJson.Parse(File.ReadAllText(Path.Combine(dir["server"], "history.json")));
        var plain = HistoryJson.Parse(File.ReadAllText(Path.Combine(dir["sim-plain"], "history.json")));
        Assert.All(deployed.Rounds, r => Assert.Equal(Clients, r.Results));
        double a = deployed.Rounds[^1].Evaluate["accuracy"], b = plain.Rounds[^1].Evaluate["accuracy"];
        Assert.True(Math.Abs(a - b) <= 0.005, $"secure deployment {a:0.0000} vs plain FedAvg {b:0.0000}");

        // Every client's round-1 update (as the same seed trains it), as float32 windows of its model bytes.
        var updates = await RoundOneUpdatesAsync(dir["probe"]);
        var initial = InitialModelBytes();
        var received = proxy.ToServer();
        var sent = proxy.ToClients();
        Assert.True(received.Length > 4 * initial.Length, $"the proxy recorded {received.Length} bytes");

        // The control: the same search finds the model the server sent in what it sent.
        Assert.True(Windows(initial).Count(w => sent.AsSpan().IndexOf(w) >= 0) >= 30, "the search cannot find the global model in the server's messages");

        // What the server received, stored (state directory, outputs) and logged holds none of them.
        var stored = Directory.EnumerateFiles(dir["server"], "*", SearchOption.AllDirectories).Select(File.ReadAllBytes).ToList();
        stored.Add(Encoding.UTF8.GetBytes(server.Output));
        foreach (var (node, update) in updates)
        {
            Assert.All(Windows(update), w =>
            {
                Assert.True(received.AsSpan().IndexOf(w) < 0, $"client {node}'s update is in what the server received");
                Assert.All(stored, bytes => Assert.True(bytes.AsSpan().IndexOf(w) < 0, $"client {node}'s update is in what the server stored or logged"));
            });
        }

        Assert.DoesNotContain("num_examples", server.Output, StringComparison.Ordinal);
        Assert.Contains($"round 5: {Clients} results, 0 failures", server.Output, StringComparison.Ordinal);
        Assert.Contains($"secagg_clients {Clients}", server.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Server_SecAgg_InspectorShowsTheStagesAndRefusesClientWeights()
    {
        using var dir = new TempDir();
        int port = FederateProcess.FreePort();
        await using var server = FederateProcess.Start("server", log, Args.ServerArgs(port, dir["server"], "--dataset", "digits", "--min-clients", "3", "--secagg"));
        var url = await Args.InspectorUrlAsync(server);
        using var http = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(30) };

        using var status = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync(new Uri("api/status", UriKind.Relative)));
        Assert.True(status.RootElement.GetProperty("secure_aggregation").GetBoolean());
        Assert.Equal([SecAggNames.Setup, SecAggNames.ShareKeys, SecAggNames.CollectMasked, SecAggNames.Unmask, "evaluate"], status.RootElement.GetProperty("stages").EnumerateArray().Select(e => e.GetString()));
        using var weights = await http.GetAsync(new Uri("api/nodes/1/weights", UriKind.Relative));
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, weights.StatusCode);

        await using var refused = FederateProcess.Start("refused", log, Args.ServerArgs(FederateProcess.FreePort(), dir["refused"], "--secagg", "--keep-client-weights"));
        Assert.Equal(2, await refused.WaitForExitAsync());
        Assert.Contains("error: --keep-client-weights cannot be used with secure aggregation: the server must never see individual updates", refused.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Server_SecAggWithKits_ClientsSignTheirKeysAndTheRunMatchesTheInsecureOne()
    {
        using var dir = new TempDir();
        var kits = dir["kits"];
        await SecureFleet.ProvisionAsync(log, "--name", "hospitals", "--server", "localhost,127.0.0.1", "--clients", "site-a,site-b,site-c", "--out", kits);
        int port = FederateProcess.FreePort();
        await using var server = FederateProcess.Start("server", log, SecureFleet.ServerArgs(port, Path.Combine(kits, "server"), dir["secure"], "--dataset", "digits", "--min-clients", "3", "--rounds", "2", "--seed", S(Seed), "--secagg"));
        var sites = new[] { "site-a", "site-b", "site-c" }.Select((site, i) => FederateProcess.Start(site, log, SecureFleet.ClientArgs(port, Path.Combine(kits, site), "--dataset", "digits", "--dataset-id", S(i), "--num-partitions", "3", "--seed", S(Seed)))).ToList();
        await AllSucceedAsync(sites, server);

        await using var sim = FederateProcess.Start("sim", log, "sim", "--dataset", "digits", "--clients", "3", "--fraction", "1", "--partition", "iid", "--seed", S(Seed), "--rounds", "2", "--secagg", "--out", dir["sim"]);
        Assert.Equal(0, await sim.WaitForExitAsync());
        var history = HistoryJson.Parse(File.ReadAllText(Path.Combine(dir["secure"], "history.json")));
        Assert.All(history.Rounds, r => Assert.Equal(3, r.Results));
        Assert.Equal(File.ReadAllBytes(Path.Combine(dir["sim"], "model.safetensors")), File.ReadAllBytes(Path.Combine(dir["secure"], "model.safetensors")));
    }

    // Every process exits 0; the clients are disposed (killed if still running) whatever happens.
    internal static async Task AllSucceedAsync(IReadOnlyList<FederateProcess> clients, params FederateProcess[] others)
    {
        try
        {
            foreach (var p in others.Concat(clients))
            {
                Assert.Equal(0, await p.WaitForExitAsync());
            }
        }
        finally
        {
            foreach (var c in clients)
            {
                await c.DisposeAsync();
            }
        }
    }

    // 40 windows of 24 bytes spread over the model's bytes.
    private static byte[][] Windows(byte[] model) =>
        [.. Enumerable.Range(0, 40).Select(i => model.AsSpan((int)((long)i * (model.Length - 24) / 40), 24).ToArray())];

    private static byte[] InitialModelBytes()
    {
        var model = ModelFactory.Create("mlp", 64, 10);
        model.Initialize(Seed);
        return Flatten(model.GetParameters());
    }

    private static byte[] Flatten(ArrayRecord record) => [.. record.SelectMany(kv => kv.Value.AsBytes().ToArray())];

    // The simulated clients of the same seed train exactly what the deployed ones trained in round 1.
    private static async Task<Dictionary<long, byte[]>> RoundOneUpdatesAsync(string outDir)
    {
        using var simulation = Simulation.Simulation.Create(new SimulationSettings { Dataset = "digits", Clients = Clients, Partition = "iid", Seed = Seed, Rounds = 5, Out = outDir });
        var model = ModelFactory.Create("mlp", 64, 10);
        model.Initialize(Seed);
        var context = new RoundContext { RunId = "probe", Round = 1, Seed = Seed };
        var instructions = new FedAvg().ConfigureTrain(context, model.GetParameters(), simulation.Plan.Options.TrainConfig, simulation.Grid.Nodes);
        var updates = new Dictionary<long, byte[]>();
        await foreach (var reply in simulation.Grid.SendAndReceiveAsync(instructions, TimeSpan.FromMinutes(2), CancellationToken.None))
        {
            updates[reply.Metadata.SourceNodeId] = Flatten(reply.Content!.Arrays[RecordNames.Model]);
        }

        Assert.Equal(Clients, updates.Count);
        return updates;
    }
}
