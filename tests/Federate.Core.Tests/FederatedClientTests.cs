using Federate.Core.Client;

namespace Federate.Core.Tests;

/// <summary>A diverged training is answered as the failure 'diverged', never sent as NaN parameters.</summary>
public sealed class FederatedClientTests
{
    [Theory]
    [InlineData(double.NaN, 1f, "training diverged: the loss is NaN; lower the learning rate ('lr')")]
    [InlineData(double.PositiveInfinity, 1f, "training diverged: the loss is infinite; lower the learning rate ('lr')")]
    [InlineData(0.5, float.NaN, "training diverged: tensor 'w' contains NaN or infinity; lower the learning rate ('lr')")]
    public async Task HandleAsync_TrainingDiverges_RepliesDivergedWithTheReason(double loss, float weight, string reason)
    {
        var app = new OneStepClient(loss, weight).ToClientApp();
        var reply = await app.HandleAsync(Train(), CancellationToken.None);
        Assert.Equal(new MessageError(FederatedClient.DivergedCode, reason), reply.Error);
    }

    [Fact]
    public async Task HandleAsync_FiniteTraining_RepliesWithTheModel()
    {
        var app = new OneStepClient(0.5, 2).ToClientApp();
        var reply = await app.HandleAsync(Train(), CancellationToken.None);
        Assert.Null(reply.Error);
        Assert.Equal(new float[] { 0, 2 }, reply.Content!.Arrays[RecordNames.Model]["w"].GetArray<float>());
    }

    private static Message Train()
    {
        var content = new RecordDict();
        content.Arrays[RecordNames.Model] = Records.Vector(0, 0);
        return new Message(new MessageMetadata { RunId = "r", Round = 1, MessageType = MessageType.Train, DestinationNodeId = 1 }, content);
    }

    private sealed class OneStepClient(double loss, float weight) : FederatedClient
    {
        public override ArrayRecord GetParameters(ConfigRecord config) => new();

        public override FitResult Fit(ArrayRecord parameters, ConfigRecord config, CancellationToken cancellationToken) =>
            new(Records.Vector(0, weight), 1, new MetricRecord { ["loss"] = loss });

        public override EvaluateResult Evaluate(ArrayRecord parameters, ConfigRecord config, CancellationToken cancellationToken) =>
            new(loss, 1, new MetricRecord());
    }
}
