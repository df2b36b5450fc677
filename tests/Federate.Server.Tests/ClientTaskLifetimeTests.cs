using Federate.Client;
using Federate.Core;
using Federate.Core.Client;
using Federate.Core.Running;
using Federate.Core.Strategies;

namespace Federate.Server.Tests;

/// <summary>
/// A client keeps no model of an earlier task: when the next task reaches the client app, the tensors the client
/// received for the previous one and the tensors of its reply are garbage, so a client's peak memory is the received
/// model and its trained copy (a reference kept to the last task or reply would add a model-sized array).
/// </summary>
public sealed class ClientTaskLifetimeTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(90);

    [Theory]
    [InlineData(true, true)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    public async Task NextTask_EarlierTasksReceivedAndReplyTensors_AreCollected(bool transferEndpoint, bool returnMemory)
    {
        var options = new FleetServerOptions { Port = 0, Host = "127.0.0.1", Insecure = true, FinishGrace = TimeSpan.FromSeconds(5) };
        await using var server = await FleetServer.StartAsync(options);
        var runOptions = new RunOptions { Rounds = 4, MinNodes = 1, RoundTimeout = Limit, RunId = options.RunId };
        var driver = new RunDriver(server.Grid, new FedAvg { Sampling = new SamplingOptions { FractionEvaluate = 0 } }, runOptions, [server.Observer]);
        // 4.4 MB: above the size from which the client collects earlier models before it allocates the next.
        var initial = new ArrayRecord { { "w", Tensor.FromArray(new float[1_100_000], 1_100_000) } };
        var run = driver.RunAsync(initial);

        var app = new WatchingApp();
        var clientOptions = new FleetClientOptions { Server = $"127.0.0.1:{server.Port}", Insecure = true, PartitionId = 0, Name = "a", UseTransferEndpoint = transferEndpoint, ReturnMemoryBetweenTasks = returnMemory };
        using var client = new FleetClient(clientOptions, app);
        using var stop = new CancellationTokenSource(Limit);
        var clientRun = client.RunAsync(stop.Token);
        var result = await run.WaitAsync(Limit);
        await server.FinishAsync(result.History);
        Assert.Equal(ClientExit.Finished, await clientRun.WaitAsync(Limit));
        Assert.All(result.History.Rounds, r => Assert.Empty(r.Failures));

        // Rounds 2, 3 and 4 each looked back at the task before: nothing of it was still reachable.
        Assert.Equal(4, app.Tasks);
        Assert.Equal([0, 0, 0], app.AliveAtNextTask);

        // The model went through 4 rounds of +1 (the check above is about lifetimes, not values).
        Assert.All(result.Parameters["w"].AsSpan<float>().ToArray(), v => Assert.Equal(4f, v));
    }

    /// <summary>Adds one to every parameter; at each task, first counts the earlier task's tensors still alive.</summary>
    private sealed class WatchingApp : IClientApp
    {
        private readonly List<WeakReference> _previous = [];

        public int Tasks { get; private set; }

        public List<int> AliveAtNextTask { get; } = [];

        public ValueTask<Message> HandleAsync(Message message, CancellationToken cancellationToken)
        {
            if (Tasks > 0)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
                GC.Collect();
                AliveAtNextTask.Add(_previous.Count(w => w.IsAlive));
            }

            Tasks++;
            _previous.Clear();
            var content = new RecordDict();
            foreach (var (name, record) in message.Content!.Arrays)
            {
                var copy = new ArrayRecord();
                foreach (var (key, tensor) in record)
                {
                    var next = Tensor.FromArray(tensor.AsSpan<float>().ToArray().Select(v => v + 1f).ToArray(), [.. tensor.Shape]);
                    copy.Add(key, next);
                    _previous.Add(new WeakReference(tensor));
                    _previous.Add(new WeakReference(next));
                }

                content.Arrays[name] = copy;
            }

            content.Metrics[RecordNames.Metrics] = new MetricRecord { [RecordNames.NumExamples] = 1 };
            return ValueTask.FromResult(message.CreateReply(content));
        }
    }
}
