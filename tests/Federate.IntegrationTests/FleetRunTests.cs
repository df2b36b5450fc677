using System.Globalization;
using Federate.Core;
using Xunit.Abstractions;

namespace Federate.IntegrationTests;

/// <summary>Real server and client processes on 127.0.0.1: runs, joins, leaves, failures.</summary>
public sealed class FleetRunTests(ITestOutputHelper log)
{
    private static string S(int i) => i.ToString(CultureInfo.InvariantCulture);

    [Fact]
    public async Task Run_ThreeDigitsClients_HistoryEqualsSimulation()
    {
        using var dir = new TempDir();
        int port = FederateProcess.FreePort();
        await using var server = FederateProcess.Start("server", log, Args.ServerArgs(port, dir["server"], "--dataset", "digits", "--min-clients", "3", "--rounds", "5", "--seed", "11"));
        var clients = new List<FederateProcess>();
        for (int i = 0; i < 3; i++)
        {
            clients.Add(FederateProcess.Start($"client{i}", log, Args.ClientArgs(port, "--dataset", "digits", "--dataset-id", S(i), "--num-partitions", "3", "--seed", "11")));
        }

        await using var sim = FederateProcess.Start("sim", log, "sim", "--dataset", "digits", "--clients", "3", "--fraction", "1", "--partition", "iid", "--seed", "11", "--rounds", "5", "--out", dir["sim"]);
        try
        {
            Assert.Equal(0, await server.WaitForExitAsync());
            Assert.Equal(0, await sim.WaitForExitAsync());
            foreach (var c in clients)
            {
                Assert.Equal(0, await c.WaitForExitAsync());
            }
        }
        finally
        {
            foreach (var c in clients)
            {
                await c.DisposeAsync();
            }
        }

        var deployed = HistoryJson.Parse(File.ReadAllText(Path.Combine(dir["server"], "history.json")));
        var simulated = HistoryJson.Parse(File.ReadAllText(Path.Combine(dir["sim"], "history.json")));
        Assert.Equal(5, deployed.Rounds.Count);
        Assert.Equal(simulated.Rounds.Count, deployed.Rounds.Count);
        for (int r = 0; r < 5; r++)
        {
            AssertSameMetrics(simulated.Rounds[r].Train, deployed.Rounds[r].Train, $"round {r + 1} train");
            AssertSameMetrics(simulated.Rounds[r].Evaluate, deployed.Rounds[r].Evaluate, $"round {r + 1} evaluate");
            Assert.Equal(3, deployed.Rounds[r].Results);
        }

        Assert.Contains("round 5", server.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_ClientKilledMidRun_FailureRecordedAndRestartedClientRejoins()
    {
        using var dir = new TempDir();
        int port = FederateProcess.FreePort();
        await using var server = FederateProcess.Start("server", log, Args.ServerArgs(port, dir["server"], "--dataset", "digits", "--min-clients", "2", "--rounds", "100", "--seed", "3", "--config", "local_epochs=30"));
        string[] Client(int i) => Args.ClientArgs(port, "--dataset", "digits", "--dataset-id", S(i), "--num-partitions", "3", "--seed", "3");
        await using var c0 = FederateProcess.Start("client0", log, Client(0));
        await using var c1 = FederateProcess.Start("client1", log, Client(1));
        var victim = FederateProcess.Start("client2", log, Client(2));
        await server.WaitForLineAsync("3 connected");
        await victim.WaitForLineAsync("train task received");
        victim.Kill();
        await victim.DisposeAsync();

        // The run goes on without it; the failure is recorded; a restarted client rejoins a later round.
        await server.WaitForLineAsync(l => l.Contains("left: no heartbeat", StringComparison.Ordinal), "node expiry");
        await using var again = FederateProcess.Start("client2-again", log, Client(2));
        await again.WaitForLineAsync("train task received");
        Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(120)));

        var history = HistoryJson.Parse(File.ReadAllText(Path.Combine(dir["server"], "history.json")));
        Assert.Equal(100, history.Rounds.Count);
        int failedRound = history.Rounds.First(r => r.Failures.Any(f => f.Code is "dropped" or "timeout")).Round;
        Assert.Contains(history.Rounds, r => r.Round > failedRound && r.Results == 3);
        Assert.All(history.Rounds, r => Assert.True(r.Results >= 1));
    }

    [Fact]
    public async Task Run_ClientBeforeServerAndClientMidRun_BothJoin()
    {
        using var dir = new TempDir();
        int port = FederateProcess.FreePort();
        await using var early = FederateProcess.Start("early", log, Args.ClientArgs(port, "--dataset", "digits", "--dataset-id", "0", "--num-partitions", "2"));
        await early.WaitForLineAsync("unreachable");
        await using var server = FederateProcess.Start("server", log, Args.ServerArgs(port, dir["server"], "--dataset", "digits", "--min-clients", "1", "--rounds", "12", "--config", "local_epochs=300"));
        await early.WaitForLineAsync("joined");
        await server.WaitForLineAsync("round 2:");
        await using var late = FederateProcess.Start("late", log, Args.ClientArgs(port, "--dataset", "digits", "--dataset-id", "1", "--num-partitions", "2"));
        await late.WaitForLineAsync("train task received");
        Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(120)));
        Assert.Equal(0, await early.WaitForExitAsync());
        Assert.Equal(0, await late.WaitForExitAsync());

        var history = HistoryJson.Parse(File.ReadAllText(Path.Combine(dir["server"], "history.json")));
        Assert.Equal(1, history.Rounds[0].Results);
        Assert.Contains(history.Rounds, r => r.Results == 2);
    }

    [Fact]
    public async Task Client_ServerRestarts_ReconnectsAndRejoins()
    {
        using var dir = new TempDir();
        int port = FederateProcess.FreePort();
        var first = FederateProcess.Start("server-1", log, Args.ServerArgs(port, dir["first"], "--min-clients", "2", "--rounds", "3"));
        await using var client = FederateProcess.Start("client", log, Args.ClientArgs(port));
        await client.WaitForLineAsync("joined");
        first.Kill();
        await first.DisposeAsync();
        await client.WaitForLineAsync(l => l.Contains("lost", StringComparison.Ordinal) || l.Contains("unreachable", StringComparison.Ordinal), "connection lost");

        await using var second = FederateProcess.Start("server-2", log, Args.ServerArgs(port, dir["second"], "--min-clients", "1", "--rounds", "2"));
        Assert.Equal(0, await second.WaitForExitAsync());
        Assert.Equal(0, await client.WaitForExitAsync());
        Assert.Equal(2, client.Output.Split('\n').Count(l => l.Contains("joined", StringComparison.Ordinal)));
        Assert.Contains("registering again", client.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Client_CtrlC_QuitsCleanly()
    {
        using var dir = new TempDir();
        int port = FederateProcess.FreePort();
        await using var server = FederateProcess.Start("server", log, Args.ServerArgs(port, dir["server"], "--min-clients", "2", "--rounds", "1"));
        await using var client = FederateProcess.Start("client", log, Args.ClientArgs(port));
        await client.WaitForLineAsync("joined");
        client.Interrupt();
        Assert.Equal(0, await client.WaitForExitAsync());
        await server.WaitForLineAsync("left: quit");
    }

    [Fact]
    public async Task Noop_TwoMillionParameters_ChunkedTransferAggregates()
    {
        using var dir = new TempDir();
        int port = FederateProcess.FreePort();
        await using var server = FederateProcess.Start("server", log, Args.ServerArgs(port, dir["server"], "--model", "noop:2000000", "--min-clients", "2", "--rounds", "2", "--seed", "5", "--chunk-size", "262144"));
        await using var c0 = FederateProcess.Start("client0", log, Args.ClientArgs(port, "--model", "noop:2000000", "--dataset-id", "0", "--num-partitions", "2", "--chunk-size", "262144"));
        await using var c1 = FederateProcess.Start("client1", log, Args.ClientArgs(port, "--model", "noop:2000000", "--dataset-id", "1", "--num-partitions", "2"));
        Assert.Equal(0, await server.WaitForExitAsync());

        var history = HistoryJson.Parse(File.ReadAllText(Path.Combine(dir["server"], "history.json")));
        Assert.All(history.Rounds, r => Assert.Equal(2, r.Results));
        var model = Safetensors.ReadFile(Path.Combine(dir["server"], "model.safetensors"), out _);
        var w = model["weights"].AsSpan<float>();
        Assert.Equal(2_000_000, w.Length);
        foreach (int i in new[] { 0, 1, 999_999, 1_999_999 })
        {
            float expected = (int)((i + 5L) % 1000) / 1000f + (2 * 1e-3f);
            Assert.InRange(w[i], expected - 1e-5f, expected + 1e-5f);
        }
    }

    [Theory]
    [InlineData("median")]
    [InlineData("fedadam")]
    public async Task Run_BufferingStrategy_MaterialisedUpdatesAggregate(string strategy)
    {
        using var dir = new TempDir();
        int port = FederateProcess.FreePort();
        await using var server = FederateProcess.Start("server", log, Args.ServerArgs(port, dir["server"], "--model", "logistic", "--strategy", strategy, "--min-clients", "2", "--rounds", "2"));
        await using var c0 = FederateProcess.Start("client0", log, Args.ClientArgs(port, "--model", "logistic", "--dataset-id", "0", "--num-partitions", "2"));
        await using var c1 = FederateProcess.Start("client1", log, Args.ClientArgs(port, "--model", "logistic", "--dataset-id", "1", "--num-partitions", "2"));
        Assert.Equal(0, await server.WaitForExitAsync());
        var history = HistoryJson.Parse(File.ReadAllText(Path.Combine(dir["server"], "history.json")));
        Assert.All(history.Rounds, r => Assert.Equal(2, r.Results));
        Assert.All(history.Rounds, r => Assert.Empty(r.Failures));
        Assert.True(history.Rounds[^1].Evaluate["accuracy"] > 0.5);
    }

    [Fact]
    public async Task Compression_Gzip_BothSidesFinish()
    {
        using var dir = new TempDir();
        int port = FederateProcess.FreePort();
        await using var server = FederateProcess.Start("server", log, Args.ServerArgs(port, dir["server"], "--model", "noop:300000", "--min-clients", "1", "--rounds", "2", "--compression", "gzip"));
        await using var client = FederateProcess.Start("client", log, Args.ClientArgs(port, "--model", "noop:300000", "--compression", "gzip"));
        Assert.Equal(0, await server.WaitForExitAsync());
        Assert.Equal(0, await client.WaitForExitAsync());
        var history = HistoryJson.Parse(File.ReadAllText(Path.Combine(dir["server"], "history.json")));
        Assert.All(history.Rounds, r => Assert.Equal(1, r.Results));
    }

    [Fact]
    public async Task VirtualClients_TwentyNoopClients_FinishTwoRounds()
    {
        using var dir = new TempDir();
        int port = FederateProcess.FreePort();
        await using var server = FederateProcess.Start("server", log, Args.ServerArgs(port, dir["server"], "--model", "noop:1000", "--min-clients", "20", "--rounds", "2", "--max-spool-mb", "0"));
        await using var clients = FederateProcess.Start("clients", log, Args.ClientArgs(port, "--model", "noop:1000", "--virtual-clients", "20", "--num-partitions", "20"));
        Assert.Equal(0, await server.WaitForExitAsync());
        Assert.Equal(0, await clients.WaitForExitAsync());
        var history = HistoryJson.Parse(File.ReadAllText(Path.Combine(dir["server"], "history.json")));
        Assert.All(history.Rounds, r => Assert.Equal(20, r.Results));
    }

    /// <summary>
    /// One upload read at a time: the other clients' uploads wait unread (the update folded next is still always
    /// admitted, so the round cannot deadlock), every update is counted once, and the model is the one the same run
    /// gives without the limit.
    /// </summary>
    [Fact]
    public async Task MaxConcurrentUploads_One_EveryUpdateCountedAndSameModel()
    {
        using var dir = new TempDir();
        var models = new List<byte[]>();
        foreach (var limit in new[] { "1", "8" })
        {
            int port = FederateProcess.FreePort();
            string state = dir[$"server-{limit}"];
            await using var server = FederateProcess.Start("server", log, Args.ServerArgs(port, state, "--model", "noop:300000", "--min-clients", "8", "--rounds", "2", "--seed", "3", "--max-concurrent-uploads", limit));
            await using var clients = FederateProcess.Start("clients", log, Args.ClientArgs(port, "--model", "noop:300000", "--virtual-clients", "8", "--num-partitions", "8", "--chunk-size", "65536"));
            Assert.Equal(0, await server.WaitForExitAsync());
            Assert.Equal(0, await clients.WaitForExitAsync());
            var history = HistoryJson.Parse(File.ReadAllText(Path.Combine(state, "history.json")));
            Assert.All(history.Rounds, r => Assert.Equal(8, r.Results));
            Assert.All(history.Rounds, r => Assert.Empty(r.Failures));
            models.Add(File.ReadAllBytes(Path.Combine(state, "model.safetensors")));
        }

        Assert.Equal(models[0], models[1]);
    }

    private static void AssertSameMetrics(MetricRecord expected, MetricRecord actual, string what)
    {
        Assert.Equal(expected.Keys.OrderBy(k => k, StringComparer.Ordinal), actual.Keys.OrderBy(k => k, StringComparer.Ordinal));
        foreach (var (k, v) in expected)
        {
            Assert.True(Math.Round(v, 4) == Math.Round(actual[k], 4), $"{what} {k}: simulation {v}, deployment {actual[k]}");
        }
    }
}
