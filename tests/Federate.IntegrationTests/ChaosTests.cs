using Federate.Chaos;
using Federate.Core;
using Xunit.Abstractions;

namespace Federate.IntegrationTests;

/// <summary>
/// The short variant of the chaos runner (benchmarks/Federate.Chaos; the full run is in benchmarks/chaos/README.md):
/// real server and client processes, three seeded server SIGKILLs (mid-fold, during a checkpoint write, during
/// evaluate) each followed by a restart with the same command, one client SIGKILL and one network fault through the
/// fault proxy.
/// </summary>
public sealed class ChaosTests(ITestOutputHelper log)
{
    [Fact]
    public async Task ShortChaosRun_ServerKillsEndIdentical_ClientKillAndNetworkFaultFinish()
    {
        using var dir = new TempDir();
        var report = await new ChaosRunner(new ChaosSettings
        {
            FederateDll = Path.Combine(AppContext.BaseDirectory, "federate.dll"),
            WorkDirectory = dir.Path,
            Seed = 11,
            ServerKills = 3,
            ClientKills = 1,
            NetworkFaults = 1,
            Rounds = 3,
            ServerKillPoints = ["fold", "checkpoint-file", "evaluate"],
            TrialTimeout = TimeSpan.FromSeconds(120),
            Log = log.WriteLine,
        }).RunAsync();
        log.WriteLine(report.ToTable());

        Assert.True(report.ReferenceDeterministic, "two uninterrupted runs with the same seed gave different models");
        Assert.Equal([3, 1, 1], [report.Of(TrialKind.ServerKill).Count, report.Of(TrialKind.ClientKill).Count, report.Of(TrialKind.NetworkFault).Count]);
        foreach (var trial in report.Trials)
        {
            Assert.True(trial.Consistent, $"{trial.Kind} {trial.Planned}: {trial.Problem}");
            Assert.DoesNotContain("not reached", trial.Landed, StringComparison.Ordinal);
        }

        foreach (var trial in report.Of(TrialKind.ServerKill))
        {
            // The kill landed where it was drawn, the restart resumed the run, and nothing differs from the reference.
            Assert.Contains(trial.Landed, new[] { "fold", "checkpoint-file", "evaluate" });
            Assert.NotNull(trial.ResumedAfter);
            Assert.True(trial.Identical, $"{trial.Planned}: {trial.Problem}");
        }
    }

    [Fact]
    public async Task PlainClient_FirstConnectionCutDuringHandshake_RetriesAndFinishes()
    {
        // Found by the chaos runner: a server SIGKILLed while a client's HTTP/2 handshake was under way made the
        // client take it for a TLS server and give up (exit 1), so the restarted server waited for it forever.
        using var dir = new TempDir();
        int port = FederateProcess.FreePort();
        await using var server = FederateProcess.Start("server", log, Args.ServerArgs(port, dir["out"], "--dataset", "digits", "--min-clients", "1", "--rounds", "1", "--model", "logistic"));
        await server.WaitForLineAsync("listening on");
        await using var proxy = new FaultProxy(port, new ProxyFault(Connection: 0, Upstream: true, AtByte: 0, Stall: null));
        await using var client = FederateProcess.Start("client", log, Args.ClientArgs(proxy.Port, "--dataset", "digits", "--model", "logistic"));

        Assert.Equal(0, await client.WaitForExitAsync());
        Assert.Equal(0, await server.WaitForExitAsync());
        Assert.True(proxy.Fired);
        Assert.True(proxy.Connections >= 2, $"{proxy.Connections} connections");
        Assert.DoesNotContain("requires TLS", client.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("mlp", 20_000)]
    [InlineData("noop:4000000", 1_000_000)] // 16 MB: the server is still writing (held by flow control) when the cut comes
    public async Task Server_ConnectionCutMidTask_SendsTheTaskAgainOnReconnect(string model, int cutAtByte)
    {
        // Found by the chaos runner: a task lost with a connection cut in the download direction was never sent
        // again when the client reconnected with the same node id, so the round waited for the round timeout and
        // went on without that client.
        using var dir = new TempDir();
        int port = FederateProcess.FreePort();
        await using var server = FederateProcess.Start("server", log, Args.ServerArgs(port, dir["out"], "--dataset", "digits", "--model", model, "--min-clients", "1", "--rounds", "2", "--round-timeout", "30", "--verbose"));
        await server.WaitForLineAsync("listening on");

        // The first train task is 38,440 tensor bytes for the MLP (byte 20,000 of the download is inside it) and
        // 16,000,000 for the noop model.
        await using var proxy = new FaultProxy(port, new ProxyFault(Connection: 0, Upstream: false, AtByte: cutAtByte, Stall: null));
        // The tensors stay in the gRPC streams (through the proxy); the transfer endpoint's resume has tests of its own.
        await using var client = FederateProcess.Start("client", log, Args.ClientArgs(proxy.Port, "--dataset", "digits", "--model", model, "--no-transfer-endpoint"));

        Assert.Equal(0, await server.WaitForExitAsync());
        Assert.Equal(0, await client.WaitForExitAsync());
        Assert.True(proxy.Fired);
        Assert.Contains("lost", client.Output, StringComparison.Ordinal);
        var history = HistoryJson.Parse(File.ReadAllText(Path.Combine(dir["out"], "history.json")));
        Assert.All(history.Rounds, r => Assert.Equal((1, 0), (r.Results, r.Failures.Count)));
    }
}
