using Federate.Client;
using Federate.Core;
using Federate.Core.Client;
using Federate.Core.Running;
using Federate.Core.Strategies;

namespace Federate.Server.Tests;

/// <summary>A client whose update the server refuses stops with the server's reason instead of carrying on silently.</summary>
public sealed class ClientRefusalTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task RunAsync_ServerRefusesTheUpdate_ThrowsWithTheServersReason()
    {
        var options = new FleetServerOptions { Port = 0, Host = "127.0.0.1", Insecure = true, FinishGrace = TimeSpan.FromSeconds(5) };
        await using var server = await FleetServer.StartAsync(options);
        var runOptions = new RunOptions { Rounds = 1, MinNodes = 1, RoundTimeout = Limit, RunId = options.RunId };
        var driver = new RunDriver(server.Grid, new FedAvg(), runOptions, [server.Observer]);
        var run = driver.RunAsync(new ArrayRecord { { "w", Tensor.FromArray(new float[] { 0, 0, 0 }, 3) } });

        // A client app (not a built-in learner) that answers with one weight too many.
        using var client = new FleetClient(new FleetClientOptions { Server = $"127.0.0.1:{server.Port}", Insecure = true, PartitionId = 0, Name = "wrong" }, new WrongShapeApp());
        using var stop = new CancellationTokenSource(Limit);
        var refused = await Assert.ThrowsAsync<FleetClientException>(() => client.RunAsync(stop.Token));
        Assert.Equal("the server refused this client's update: update does not match the global model: tensor 'w' should be Float32[3], got Float32[4]", refused.Message);

        var result = await run.WaitAsync(Limit);
        var failure = Assert.Single(result.History.Rounds[0].Failures, f => f.Phase == "train");
        Assert.Equal("invalid_update", failure.Code);
    }

    private sealed class WrongShapeApp : IClientApp
    {
        public ValueTask<Message> HandleAsync(Message message, CancellationToken cancellationToken)
        {
            var content = new RecordDict();
            content.Arrays[RecordNames.Model] = new ArrayRecord { { "w", Tensor.FromArray(new float[] { 1, 2, 3, 4 }, 4) } };
            content.Metrics[RecordNames.Metrics] = new MetricRecord { [RecordNames.NumExamples] = 1 };
            return ValueTask.FromResult(message.CreateReply(content));
        }
    }
}
