using Federate.Client;
using Federate.Core;
using Federate.Core.Client;
using Federate.Core.Running;
using Federate.Core.Strategies;
using Federate.Protocol;
using Federate.Protocol.Fleet.V1;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Federate.Server.Tests;

/// <summary>
/// The round timeout, driven by a fake clock: the timeout fires exactly when the test says, after the honest client's
/// reply has arrived, however slow the machine (the process version of this test raced a 1.5 s wall-clock timeout).
/// </summary>
public sealed class RoundTimeoutTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan RoundTimeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Server_SilentNodeWithHeartbeats_RoundTimeoutRecordsFailureAndGoesOn()
    {
        var time = new DeadlineClock(RoundTimeout);
        var options = new FleetServerOptions { Port = 0, Host = "127.0.0.1", Insecure = true, NodeExpiry = TimeSpan.FromHours(1), FinishGrace = TimeSpan.FromSeconds(5) };
        await using var server = await FleetServer.StartAsync(options, timeProvider: time);
        var driver = new RunDriver(server.Grid, new FedAvg(), new RunOptions { Rounds = 2, MinNodes = 2, RoundTimeout = RoundTimeout, RunId = options.RunId }, [server.Observer]);
        var run = driver.RunAsync(new ArrayRecord { { "w", Tensor.FromArray(new float[] { 0, 0 }, 2) } });

        // Registered, and alive as far as the server's clock goes, but it never takes a task.
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{server.Port}");
        var silent = await new Fleet.FleetClient(channel).RegisterAsync(new RegisterRequest { ProtocolVersion = FleetProtocol.Version, Name = "silent" }, deadline: DateTime.UtcNow + Limit);

        // It asks for work once (a node that never pulls is never sampled), before the honest node joins, so no round
        // has started and the 1 ms poll comes back empty; then it falls silent.
        using (var pull = new Fleet.FleetClient(channel).PullTask(new PullTaskRequest { ProtocolVersion = FleetProtocol.Version, NodeId = silent.NodeId, WaitMs = 1 }, deadline: DateTime.UtcNow + Limit))
        {
            Assert.False(await pull.ResponseStream.MoveNext(CancellationToken.None));
        }

        var lines = new LineWatcher();
        using var honest = new FleetClient(new FleetClientOptions { Server = $"127.0.0.1:{server.Port}", Insecure = true, PartitionId = 0, Name = "honest" }, new AddOneClient().ToClientApp(), logger: lines);
        using var stop = new CancellationTokenSource(Limit);
        var honestRun = honest.RunAsync(stop.Token);

        // Each phase: once its deadline is set and the honest reply is in, the clock reaches the deadline.
        int phase = 0;
        foreach (var (round, kind) in new[] { (1, "train"), (1, "evaluate"), (2, "train"), (2, "evaluate") })
        {
            await time.DeadlineSet(++phase).WaitAsync(Limit);
            await lines.WaitForAsync($"round {round}: {kind} reply submitted").WaitAsync(Limit);
            time.Advance(RoundTimeout);
        }

        var result = await run.WaitAsync(Limit);
        await server.FinishAsync(result.History, stop.Token);
        Assert.Equal(ClientExit.Finished, await honestRun.WaitAsync(Limit));
        Assert.Equal(2, result.History.Rounds.Count);
        Assert.All(result.History.Rounds, r =>
        {
            Assert.Equal(1, r.Results);
            var failure = Assert.Single(r.Failures, f => f.Phase == "train");
            Assert.Equal((silent.NodeId, "timeout", "no reply before the round timeout (90 s)"), (failure.NodeId, failure.Code, failure.Reason));
        });
        Assert.Equal(new float[] { 2, 2 }, result.Parameters["w"].GetArray<float>());
    }

    /// <summary>A fake clock that signals each round deadline it is asked to time (a timer of exactly the round timeout).</summary>
    private sealed class DeadlineClock(TimeSpan deadline) : FakeTimeProvider
    {
        private readonly Lock _lock = new();
        private readonly List<TaskCompletionSource> _set = [];
        private int _count;

        public Task DeadlineSet(int n)
        {
            lock (_lock)
            {
                return Slot(n).Task;
            }
        }

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = base.CreateTimer(callback, state, dueTime, period);
            if (dueTime == deadline)
            {
                lock (_lock)
                {
                    Slot(++_count).TrySetResult();
                }
            }

            return timer;
        }

        private TaskCompletionSource Slot(int n)
        {
            while (_set.Count < n)
            {
                _set.Add(new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            }

            return _set[n - 1];
        }
    }

    /// <summary>A logger that lets a test wait for a line.</summary>
    private sealed class LineWatcher : ILogger
    {
        private readonly Lock _lock = new();
        private readonly List<string> _lines = [];
        private readonly List<(string Text, TaskCompletionSource Done)> _waits = [];

        public Task WaitForAsync(string text)
        {
            lock (_lock)
            {
                if (_lines.Any(l => l.Contains(text, StringComparison.Ordinal)))
                {
                    return Task.CompletedTask;
                }

                var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _waits.Add((text, done));
                return done.Task;
            }
        }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var line = formatter(state, exception);
            lock (_lock)
            {
                _lines.Add(line);
                foreach (var (text, done) in _waits.Where(w => line.Contains(w.Text, StringComparison.Ordinal)).ToList())
                {
                    done.TrySetResult();
                }
            }
        }
    }
}
