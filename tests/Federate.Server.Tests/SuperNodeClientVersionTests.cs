using Federate.Client;
using Federate.Client.Flower;
using Federate.Core;
using Federate.Core.Client;
using Federate.Core.Running;
using Federate.Core.Strategies;
using Federate.Protocol;

namespace Federate.Server.Tests;

/// <summary>
/// Federate clients as SuperNodes speaking Flower 1.19's and Flower 1.23's Fleet API to one Federate server (real gRPC
/// on 127.0.0.1): both shapes of registration, pulls (objects_to_pull or object trees), arrays (inline or chunked) and
/// pushes.
/// </summary>
public sealed class SuperNodeClientVersionTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Run_SuperNodeClientsOf119And123_TrainTogetherAndKeepTextMetrics()
    {
        var options = new FleetServerOptions { Port = 0, Host = "127.0.0.1", Insecure = true, FlowerPort = 0, FinishGrace = TimeSpan.FromSeconds(10) };
        await using var server = await FleetServer.StartAsync(options);
        var runOptions = new RunOptions { Rounds = 2, MinNodes = 2, RoundTimeout = Limit, RunId = options.RunId };
        var driver = new RunDriver(server.Grid, new FedAvg(), runOptions, [server.Observer]);
        var run = driver.RunAsync(new ArrayRecord { { "w", Tensor.FromArray(new float[] { 0, 0, 0 }, 3) } });

        var address = $"127.0.0.1:{server.FlowerPort}";
        using var old = new SuperNodeClient(address, new StepApp(1f, "old"), poll: TimeSpan.FromMilliseconds(50));
        using var newer = new SuperNodeClient(address, new StepApp(3f, "newer"), poll: TimeSpan.FromMilliseconds(50), version: FlowerFleetVersion.Flower123);
        using var stop = new CancellationTokenSource(Limit);
        var clients = Task.WhenAll(old.RunAsync(stop.Token), newer.RunAsync(stop.Token));

        var result = await run.WaitAsync(Limit);
        await server.FinishAsync(result.History).WaitAsync(Limit);
        await clients.WaitAsync(Limit);

        Assert.Equal((FlowerFleetVersion.Flower119, FlowerFleetVersion.Flower123), (old.Version, newer.Version));
        Assert.All(result.History.Rounds, r => Assert.Equal((2, 0), (r.Results, r.Failures.Count)));
        // Each round adds the example-weighted mean step: (1 * 1 + 3 * 3) / 4 = 2.5, twice.
        Assert.Equal(new float[] { 5, 5, 5 }, result.Parameters["w"].AsSpan<float>().ToArray());
        Assert.Equal(["newer", "old"], result.History.Rounds[1].TrainValues.Select(v => v.Value.AsString()).Order(StringComparer.Ordinal));
        Assert.Equal(2.5, result.History.Rounds[1].Evaluate["loss"]);
    }

    /// <summary>Adds <paramref name="step"/> to every weight (weighted by <paramref name="step"/> examples); reports a string.</summary>
    private sealed class StepApp(float step, string tag) : IClientApp
    {
        public ValueTask<Message> HandleAsync(Message message, CancellationToken cancellationToken)
        {
            var model = message.Content?.Arrays.GetValueOrDefault(RecordNames.Model) ?? new ArrayRecord { { "w", Tensor.FromArray(new float[] { 0, 0, 0 }, 3) } };
            var content = new RecordDict();
            var metrics = new MetricRecord { [RecordNames.NumExamples] = step };
            switch (message.Metadata.MessageType)
            {
                case MessageType.Train:
                    content.Arrays[RecordNames.Model] = new ArrayRecord { { "w", Tensor.FromArray(model["w"].AsSpan<float>().ToArray().Select(x => x + step).ToArray(), 3) } };
                    content.Configs[RecordNames.Metrics] = new ConfigRecord { ["tag"] = tag };
                    break;
                case MessageType.Evaluate:
                    metrics["loss"] = step;
                    break;
                default:
                    content.Arrays[RecordNames.Model] = model;
                    break;
            }

            content.Metrics[RecordNames.Metrics] = metrics;
            return ValueTask.FromResult(message.CreateReply(content));
        }
    }
}
