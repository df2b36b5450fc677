using Federate.Core;

namespace Federate.Core.Tests;

public class RunDriverTests
{
    private static readonly TimeSpan TestTimeout = TimeSpan.FromSeconds(30);

    private static DirectGrid Grid(int clients, Func<int, double> accuracy, Func<long, IClientApp>? overrideApp = null)
    {
        var apps = new Dictionary<long, IClientApp>();
        for (int i = 1; i <= clients; i++)
        {
            long node = i;
            apps[node] = overrideApp?.Invoke(node) ?? new FixedClient((p, round) => Records.Vector(p["w"].AsSpan<float>()[0] + node), node, accuracy).ToClientApp();
        }

        return new DirectGrid(apps);
    }

    [Fact]
    public async Task RunAsync_RoundLimit_RunsEveryRoundAndAverages()
    {
        var grid = Grid(2, _ => 0.5);
        var driver = new RunDriver(grid, new FedAvg(), new RunOptions { Rounds = 3, RunId = "run" });
        var result = await driver.RunAsync(Records.Vector(0)).WaitAsync(TestTimeout);
        // Each round: w + (1*1 + 2*2)/3 = w + 5/3.
        Assert.Equal(5f, result.Parameters["w"].AsSpan<float>()[0], 4);
        Assert.Equal(3, result.History.Rounds.Count);
        Assert.Equal(StopReasons.RoundLimit, result.History.StopReason);
        Assert.Equal(0.5, result.History.Rounds[0].Evaluate["accuracy"]);
        Assert.Equal(2, result.History.Rounds[0].Results);
    }

    [Fact]
    public async Task RunAsync_Resume_StartsAfterRestoredRoundsAndEndsLikeUninterrupted()
    {
        var full = await new RunDriver(Grid(2, _ => 0.5), new FedAvg(), new RunOptions { Rounds = 3, RunId = "run" }).RunAsync(Records.Vector(0)).WaitAsync(TestTimeout);
        var started = new List<int>();
        var observer = new RoundsStarted(started);
        var restored = full.History.Rounds.Take(2).ToList();
        var resumed = await new RunDriver(Grid(2, _ => 0.5), new FedAvg(), new RunOptions { Rounds = 3, RunId = "run", Resume = new RunResume(restored) }, [observer])
            .RunAsync(Records.Vector(10f / 3)).WaitAsync(TestTimeout);
        Assert.Equal([3], started);
        Assert.Equal([1, 2, 3], resumed.History.Rounds.Select(r => r.Round));
        Assert.Equal(full.Parameters["w"].AsSpan<float>()[0], resumed.Parameters["w"].AsSpan<float>()[0], 5);
        Assert.Equal(StopReasons.RoundLimit, resumed.History.StopReason);
    }

    [Fact]
    public async Task RunAsync_Threshold_StopsWhenScoreSettles()
    {
        var scores = new[] { 0.0, 0.5, 0.8, 0.9, 0.9005, 0.95 };
        var driver = new RunDriver(Grid(2, r => scores[r]), new FedAvg(), new RunOptions { Rounds = 5, Threshold = 0.001 });
        var result = await driver.RunAsync(Records.Vector(0)).WaitAsync(TestTimeout);
        Assert.Equal(4, result.History.Rounds.Count);
        Assert.Equal(StopReasons.Converged, result.History.StopReason);
        Assert.Contains("between rounds 3 and 4", result.History.StopDetail);
    }

    [Fact]
    public async Task RunAsync_Target_StopsWhenReached()
    {
        var driver = new RunDriver(Grid(1, r => r * 0.2), new FedAvg(), new RunOptions { Rounds = 10, Target = ("accuracy", 0.6) });
        var result = await driver.RunAsync(Records.Vector(0)).WaitAsync(TestTimeout);
        Assert.Equal(3, result.History.Rounds.Count);
        Assert.Equal(StopReasons.TargetReached, result.History.StopReason);
    }

    [Fact]
    public async Task RunAsync_FailingAndInvalidClients_AreRecordedNotThrown()
    {
        var throwing = new ModularClientApp((m, ct) => throw new InvalidOperationException("disk full"));
        var wrongShape = new FixedClient((p, r) => Records.Vector(1, 2), 1, _ => 0.5).ToClientApp();
        var grid = Grid(3, _ => 0.5, node => node switch { 2 => throwing, 3 => wrongShape, _ => null! });
        var driver = new RunDriver(grid, new FedAvg(), new RunOptions { Rounds = 1 });
        var result = await driver.RunAsync(Records.Vector(0)).WaitAsync(TestTimeout);
        var round = result.History.Rounds[0];
        Assert.Equal(1, round.Results);
        Assert.Contains(round.Failures, f => f.NodeId == 2 && f.Phase == "train" && f.Code == "client_error" && f.Reason == "disk full");
        Assert.Contains(round.Failures, f => f.NodeId == 3 && f.Phase == "train" && f.Code == "invalid_update");
        Assert.Equal(1f, result.Parameters["w"].AsSpan<float>()[0]);
    }

    [Fact]
    public async Task RunAsync_NoUsableReplies_StopsWithReason()
    {
        var throwing = new ModularClientApp((m, ct) => throw new InvalidOperationException("nope"));
        var grid = new DirectGrid(new Dictionary<long, IClientApp> { [1] = throwing });
        var driver = new RunDriver(grid, new FedAvg(), new RunOptions { Rounds = 5 });
        var result = await driver.RunAsync(Records.Vector(7)).WaitAsync(TestTimeout);
        Assert.Single(result.History.Rounds);
        Assert.Equal(StopReasons.NotEnoughResults, result.History.StopReason);
        Assert.Equal(7f, result.Parameters["w"].AsSpan<float>()[0]);
    }

    [Fact]
    public async Task RunAsync_Cancelled_StopsWithReason()
    {
        using var cts = new CancellationTokenSource();
        var observer = new CancelAfterRound(cts, 2);
        var driver = new RunDriver(Grid(1, _ => 0.5), new FedAvg(), new RunOptions { Rounds = 10 }, [observer]);
        var result = await driver.RunAsync(Records.Vector(0), cancellationToken: cts.Token).WaitAsync(TestTimeout);
        Assert.Equal(2, result.History.Rounds.Count);
        Assert.Equal(StopReasons.Cancelled, result.History.StopReason);
    }

    [Fact]
    public void Constructor_InvalidOptions_Throws()
    {
        var ex = Assert.Throws<ArgumentException>(() => new RunDriver(Grid(1, _ => 0), new FedAvg { Sampling = new SamplingOptions { FractionTrain = 0 } }, new RunOptions()));
        Assert.StartsWith("--fraction must be in (0, 1]", ex.Message);
        Assert.Throws<ArgumentException>(() => new RunDriver(Grid(1, _ => 0), new FedAvg(), new RunOptions { Rounds = 0 }));
    }

    [Fact]
    public async Task ModularClientApp_ModsRunInRegistrationOrder()
    {
        var order = new List<string>();
        ClientMod Mod(string name) => async (m, next, ct) =>
        {
            order.Add(name + ">");
            var r = await next(m, ct);
            order.Add("<" + name);
            return r;
        };

        var app = new ModularClientApp(
            (m, ct) =>
            {
                order.Add("app");
                return ValueTask.FromResult(m.CreateReply(new RecordDict()));
            },
            Mod("a"),
            Mod("b"));
        await app.HandleAsync(new Message(new MessageMetadata { RunId = "r", Round = 1, MessageType = MessageType.Query }, new RecordDict()), CancellationToken.None);
        Assert.Equal(new[] { "a>", "b>", "app", "<b", "<a" }, order);
    }

    private sealed class RoundsStarted(List<int> started) : IRunObserver
    {
        public void OnRoundStarted(int round, int sampled) => started.Add(round);
    }

    private sealed class CancelAfterRound(CancellationTokenSource cts, int round) : IRunObserver
    {
        public void OnRoundCompleted(RoundRecord record, ArrayRecord global)
        {
            if (record.Round == round)
            {
                cts.Cancel();
            }
        }
    }
}

public class RunDriverGateTests
{
    private static readonly TimeSpan TestTimeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task RunAsync_BeforeRoundAsyncVetoesRoundThree_StopsWithItsReason()
    {
        var asked = new List<int>();
        var options = new RunOptions { Rounds = 5 };
        options.StopRules.Add(StopRules.BeforeRoundAsync((round, _) =>
        {
            asked.Add(round);
            return ValueTask.FromResult<(string, string)?>(round == 3 ? (StopReasons.OperatorStop, "stopped by admin") : null);
        }));
        var grid = new DirectGrid(new Dictionary<long, IClientApp> { [1] = new FixedClient((p, _) => p, 1, _ => 0.5).ToClientApp() });
        var result = await new RunDriver(grid, new FedAvg(), options).RunAsync(Records.Vector(0)).WaitAsync(TestTimeout);
        Assert.Equal([1, 2, 3], asked);
        Assert.Equal(2, result.History.Rounds.Count);
        Assert.Equal(StopReasons.OperatorStop, result.History.StopReason);
        Assert.Equal("stopped by admin", result.History.StopDetail);
    }

    [Fact]
    public async Task RunAsync_CancelledWhileGateWaits_StopsAsCancelled()
    {
        using var cts = new CancellationTokenSource();
        var waiting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var options = new RunOptions { Rounds = 5 };
        options.StopRules.Add(StopRules.BeforeRoundAsync(async (round, ct) =>
        {
            waiting.TrySetResult();
            await Task.Delay(Timeout.Infinite, ct);
            return null;
        }));
        var grid = new DirectGrid(new Dictionary<long, IClientApp> { [1] = new FixedClient((p, _) => p, 1, _ => 0.5).ToClientApp() });
        var run = new RunDriver(grid, new FedAvg(), options).RunAsync(Records.Vector(0), cancellationToken: cts.Token);
        await waiting.Task.WaitAsync(TestTimeout);
        await cts.CancelAsync();
        var result = await run.WaitAsync(TestTimeout);
        Assert.Empty(result.History.Rounds);
        Assert.Equal(StopReasons.Cancelled, result.History.StopReason);
        Assert.Equal("stopped by the operator before round 1", result.History.StopDetail);
    }
}
