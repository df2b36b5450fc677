using Federate.Core;
using Federate.Learning;
using Federate.Simulation;

namespace Federate.Simulation.Tests;

public class InMemoryGridTests
{
    private static readonly TimeSpan TestTimeout = TimeSpan.FromSeconds(60);

    private static Message Instruction(long node, int round = 1, MessageType type = MessageType.Train) =>
        new(new MessageMetadata { RunId = "r", Round = round, MessageType = type, DestinationNodeId = node, MessageId = $"m{node}" }, new RecordDict());

    private static async Task<List<Message>> Collect(IGrid grid, IReadOnlyList<Message> instructions, TimeSpan? timeout = null)
    {
        var list = new List<Message>();
        await foreach (var m in grid.SendAndReceiveAsync(instructions, timeout ?? Timeout.InfiniteTimeSpan, CancellationToken.None))
        {
            list.Add(m);
        }

        return list;
    }

    [Fact]
    public async Task SendAndReceive_SlowFirstClient_RepliesStillInInstructionOrder()
    {
        using var release = new ManualResetEventSlim(false);
        var grid = new InMemoryGrid(
            pid => new ModularClientApp((m, ct) =>
            {
                if (pid == 0)
                {
                    // Node 1 finishes only after node 2 has replied.
                    release.Wait(ct);
                }
                else
                {
                    release.Set();
                }

                return ValueTask.FromResult(m.CreateReply(new RecordDict()));
            }),
            new SimulationOptions { Clients = 2, Parallelism = 2 });
        var replies = await Collect(grid, [Instruction(1), Instruction(2)]).WaitAsync(TestTimeout);
        Assert.Equal(new long[] { 1, 2 }, replies.Select(r => r.Metadata.SourceNodeId));
    }

    [Fact]
    public async Task SendAndReceive_ClientThrows_YieldsErrorReply()
    {
        var grid = new InMemoryGrid(pid => throw new InvalidOperationException($"partition {pid} is corrupt"), new SimulationOptions { Clients = 1 });
        var replies = await Collect(grid, [Instruction(1)]).WaitAsync(TestTimeout);
        Assert.Equal("client_error", replies[0].Error!.Code);
        Assert.Equal("partition 0 is corrupt", replies[0].Error!.Reason);
    }

    [Fact]
    public async Task SendAndReceive_Timeout_YieldsTimeoutReply()
    {
        var grid = new InMemoryGrid(
            pid => new ModularClientApp(async (m, ct) =>
            {
                await Task.Delay(Timeout.Infinite, ct);
                return m.CreateReply(new RecordDict());
            }),
            new SimulationOptions { Clients = 1 });
        var replies = await Collect(grid, [Instruction(1)], TimeSpan.FromMilliseconds(50)).WaitAsync(TestTimeout);
        Assert.Equal("timeout", replies[0].Error!.Code);
    }

    [Fact]
    public async Task SendAndReceive_DropRate_FailsAboutThatFractionDeterministically()
    {
        var options = new SimulationOptions { Clients = 400, DropRate = 0.25, Seed = 7 };
        var grid = new InMemoryGrid(pid => new ModularClientApp((m, ct) => ValueTask.FromResult(m.CreateReply(new RecordDict()))), options);
        var instructions = grid.Nodes.Select(n => Instruction(n.NodeId)).ToList();
        var first = await Collect(grid, instructions).WaitAsync(TestTimeout);
        var second = await Collect(grid, instructions).WaitAsync(TestTimeout);
        int dropped = first.Count(r => r.Error?.Code == "dropped");
        Assert.InRange(dropped, 70, 130);
        Assert.Equal(first.Select(r => r.Error?.Code), second.Select(r => r.Error?.Code));
    }

    [Fact]
    public async Task SendAndReceive_ThousandClients_RunOnParallelismThreadsAndReplyInOrder()
    {
        var threads = new System.Collections.Concurrent.ConcurrentDictionary<int, bool>();
        int running = 0;
        int most = 0;
        var grid = new InMemoryGrid(
            pid => new ModularClientApp((m, ct) =>
            {
                int now = Interlocked.Increment(ref running);
                InterlockedMax(ref most, now);
                threads[Environment.CurrentManagedThreadId] = true;
                Interlocked.Decrement(ref running);
                return ValueTask.FromResult(m.CreateReply(new RecordDict()));
            }),
            new SimulationOptions { Clients = 1000, Parallelism = 3 });
        var replies = await Collect(grid, [.. grid.Nodes.Select(n => Instruction(n.NodeId))]).WaitAsync(TestTimeout);
        Assert.Equal(Enumerable.Range(1, 1000).Select(i => (long)i), replies.Select(r => r.Metadata.SourceNodeId));
        Assert.All(replies, r => Assert.Null(r.Error));
        Assert.InRange(most, 1, 3);
        Assert.InRange(threads.Count, 1, 3);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }

    [Fact]
    public async Task RunDriver_ThousandVirtualClients_RoundsFinishWithEveryResult()
    {
        // Client i trains to the constant i + 1 with i + 1 examples: FedAvg gives sum (i+1)^2 / sum (i+1).
        var grid = new InMemoryGrid(
            pid => new FixedModelClient(pid + 1).ToClientApp(),
            new SimulationOptions { Clients = 1000, Parallelism = 2 });
        var driver = new RunDriver(grid, new FedAvg(), new RunOptions { Rounds = 2, Seed = 1 });
        var result = await driver.RunAsync(new ArrayRecord { { "w", Tensor.FromArray(new float[4], 4) } }).WaitAsync(TimeSpan.FromMinutes(2));
        Assert.Equal(2, result.History.Rounds.Count);
        Assert.All(result.History.Rounds, r => Assert.Equal(1000, r.Results));
        double expected = Enumerable.Range(1, 1000).Sum(v => (double)v * v) / Enumerable.Range(1, 1000).Sum(v => (double)v);
        Assert.All(result.Parameters["w"].AsSpan<float>().ToArray(), v => Assert.InRange(v, expected - 0.1, expected + 0.1));
    }

    private sealed class FixedModelClient(int value) : FederatedClient
    {
        public override ArrayRecord GetParameters(ConfigRecord config) => new();

        public override FitResult Fit(ArrayRecord parameters, ConfigRecord config, CancellationToken cancellationToken) =>
            new(new ArrayRecord { { "w", Tensor.FromArray(Enumerable.Repeat((float)value, 4).ToArray(), 4) } }, value, new MetricRecord());

        public override EvaluateResult Evaluate(ArrayRecord parameters, ConfigRecord config, CancellationToken cancellationToken) =>
            new(1.0 / value, value, new MetricRecord());
    }

    [Fact]
    public async Task WaitForNodes_MoreThanAvailable_Throws()
    {
        var grid = new InMemoryGrid(pid => null!, new SimulationOptions { Clients = 2 });
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await grid.WaitForNodesAsync(3, CancellationToken.None));
    }

    [Fact]
    public void Constructor_InvalidOptions_ThrowsOneLine()
    {
        var ex = Assert.Throws<ArgumentException>(() => new InMemoryGrid(pid => null!, new SimulationOptions { Clients = 2, DropRate = 1 }));
        Assert.StartsWith("'drop_rate' must be in [0, 1)", ex.Message);
    }
}

public class SimulationEndToEndTests
{
    private static async Task<RunResult> RunDigits(int parallelism, int seed, int rounds = 3, int epochs = 1, double lr = 0.05)
    {
        var data = FederatedDataset.Create(DatasetCatalog.Load("digits"), 5, "dirichlet:0.5", seed);
        Model Create() => ModelFactory.Create("mlp:32", data.FeatureCount, data.ClassCount);
        var init = Create();
        init.Initialize(seed);
        var grid = new InMemoryGrid(
            pid =>
            {
                var (train, test) = data.GetPartition(pid);
                return new LearningClient(Create, train, test, new TrainOptions { Epochs = epochs, BatchSize = 32, LearningRate = lr }, seed, pid).ToClientApp();
            },
            new SimulationOptions { Clients = 5, Parallelism = parallelism, Seed = seed });
        var driver = new RunDriver(grid, new FedAvg(), new RunOptions { Rounds = rounds, Seed = seed });
        return await driver.RunAsync(init.GetParameters()).WaitAsync(TimeSpan.FromMinutes(2));
    }

    private static byte[] Bytes(ArrayRecord record)
    {
        using var ms = new MemoryStream();
        Safetensors.Write(ms, record);
        return ms.ToArray();
    }

    [Fact]
    public async Task Run_SameSeed_ByteIdenticalModelWhateverTheParallelism()
    {
        var a = await RunDigits(parallelism: 1, seed: 3);
        var b = await RunDigits(parallelism: 2, seed: 3);
        var c = await RunDigits(parallelism: 2, seed: 4);
        Assert.Equal(Bytes(a.Parameters), Bytes(b.Parameters));
        Assert.NotEqual(Bytes(a.Parameters), Bytes(c.Parameters));
        Assert.Equal(a.History.Rounds[^1].Evaluate["accuracy"], b.History.Rounds[^1].Evaluate["accuracy"]);
    }

    [Fact]
    public async Task Run_Digits_LearnsAndImproves()
    {
        var result = await RunDigits(parallelism: 2, seed: 1, rounds: 8, epochs: 5, lr: 0.1);
        var rounds = result.History.Rounds;
        Assert.Equal(8, rounds.Count);
        Assert.True(rounds[^1].Evaluate["accuracy"] > 0.85, $"accuracy {rounds[^1].Evaluate["accuracy"]}");
        Assert.True(rounds[^1].Evaluate["loss"] < rounds[0].Evaluate["loss"]);
        Assert.All(rounds, r => Assert.Equal(5, r.Results));
    }
}
