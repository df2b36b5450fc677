using Federate.Core;
using Federate.Core.Client;

namespace Federate.TorchSharp.Tests;

public sealed class TorchClientTests
{
    private static Message Instruction(MessageType type, ArrayRecord model, ConfigRecord? config = null)
    {
        var content = new RecordDict();
        content.Arrays[RecordNames.Model] = model;
        content.Configs[RecordNames.Config] = config ?? new ConfigRecord { [RecordNames.ServerRound] = 1L };
        return new Message(new MessageMetadata { RunId = "r", Round = 1, MessageType = type }, content);
    }

    [Fact]
    public async Task Train_ServerModelOfAnotherShape_ModelMismatchReplyInOneLine()
    {
        using var client = Federation.Client(0, seed: 0);
        var wider = TorchStateDict.ToRecord(TestModels.Cnn(hidden: 6));

        var reply = await client.ToClientApp().HandleAsync(Instruction(MessageType.Train, wider), CancellationToken.None);

        Assert.NotNull(reply.Error);
        Assert.Equal(FederatedClient.ModelMismatchCode, reply.Error.Code);
        Assert.Equal("tensor 'conv.weight' is Float32[6,1,3,3] in the received model and Float32[4,1,3,3] in this client's module; give the server and every client the same model", reply.Error.Reason);
    }

    [Fact]
    public void Fit_LearningRateZeroInConfig_ModelUnchangedAndLossReported()
    {
        using var client = Federation.Client(1, seed: 0);
        var global = Federation.Initial(seed: 3);
        var config = new ConfigRecord { [RecordNames.ServerRound] = 1L, ["lr"] = 0.0, ["local_epochs"] = 2L, ["batch_size"] = 32L };

        var fit = client.Fit(global, config, CancellationToken.None);

        Assert.Equal(Federation.Bytes(global), Federation.Bytes(fit.Parameters));
        Assert.True(fit.NumExamples > 0);
        Assert.InRange(fit.Metrics["loss"], 2.0, 2.6); // about ln 10 for an untrained 10-class network
    }

    [Fact]
    public void Fit_SameRoundAndSeed_SameModel_OtherRound_OtherShuffle()
    {
        var global = Federation.Initial(seed: 3);
        var config = Federation.Options(1, 0).TrainConfig;
        FitResult Fit(long round)
        {
            using var client = Federation.Client(2, seed: 5);
            var c = new ConfigRecord(config) { [RecordNames.ServerRound] = round };
            return client.Fit(global, c, CancellationToken.None);
        }

        Assert.Equal(Federation.Bytes(Fit(1).Parameters), Federation.Bytes(Fit(1).Parameters));
        Assert.NotEqual(Federation.Bytes(Fit(1).Parameters), Federation.Bytes(Fit(2).Parameters));
    }

    [Fact]
    public async Task Train_DpSgdConfig_ClientErrorNamingIt()
    {
        using var client = Federation.Client(0, seed: 0);
        var config = new ConfigRecord { [RecordNames.ServerRound] = 1L, ["noise_multiplier"] = 1.0 };

        var reply = await client.ToClientApp().HandleAsync(Instruction(MessageType.Train, Federation.Initial(0), config), CancellationToken.None);

        Assert.Equal(("client_error", "DP-SGD is not available for TorchSharp modules; run the server without DP-SGD"), (reply.Error?.Code, reply.Error?.Reason));
    }

    [Fact]
    public async Task Evaluate_ReportsLossAccuracyAndExamples()
    {
        using var client = Federation.Client(0, seed: 0);

        var reply = await client.ToClientApp().HandleAsync(Instruction(MessageType.Evaluate, Federation.Initial(0)), CancellationToken.None);

        var metrics = reply.Content!.Metrics[RecordNames.Metrics];
        Assert.InRange(metrics["accuracy"], 0.0, 0.4);
        Assert.InRange(metrics["loss"], 2.0, 2.6);
        Assert.True(metrics[RecordNames.NumExamples] > 50);
    }
}
