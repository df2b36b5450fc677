using Federate.Core;

namespace Federate.Learning.Tests.Models;

public class ClientCheckpointTests
{
    private static (LearningClient Client, ArrayRecord Global) Setup()
    {
        var data = DatasetCatalog.Load("iris").Train;
        Model Create() => ModelFactory.Create("mlp:8", data.FeatureCount, data.ClassCount);
        var init = Create();
        init.Initialize(4);
        return (new LearningClient(Create, data, data, new TrainOptions { Epochs = 4, BatchSize = 16, LearningRate = 0.1 }, 7, 2), init.GetParameters());
    }

    private static ConfigRecord Config(int epochs, string? path = null, bool resume = false)
    {
        var c = new ConfigRecord { [RecordNames.ServerRound] = 3L, ["local_epochs"] = epochs, ["proximal_mu"] = 0.5 };
        if (path is not null)
        {
            c["checkpoint_path"] = path;
            c["resume_from_checkpoint"] = resume;
        }

        return c;
    }

    private static byte[] Bytes(ArrayRecord r)
    {
        using var ms = new MemoryStream();
        Safetensors.Write(ms, r);
        return ms.ToArray();
    }

    [Fact]
    public void Fit_ResumeFromCheckpointAfterTwoEpochs_EqualsUninterruptedFit()
    {
        var path = Path.Combine(Path.GetTempPath(), $"federate-ckpt-{Guid.NewGuid():N}", "client.safetensors");
        var (client, global) = Setup();
        var uninterrupted = client.Fit(global, Config(4), CancellationToken.None);

        // A crash after epoch 2 leaves the checkpoint that a 2-epoch run of the same round writes.
        client.Fit(global, Config(2, path), CancellationToken.None);
        var (fresh, _) = Setup();
        var resumed = fresh.Fit(global, Config(4, path, resume: true), CancellationToken.None);

        Assert.Equal(2, resumed.Metrics["resumed_from_epoch"]);
        Assert.Equal(Bytes(uninterrupted.Parameters), Bytes(resumed.Parameters));
        Assert.Equal(uninterrupted.Metrics["loss"], resumed.Metrics["loss"]);
    }

    [Fact]
    public void Fit_CheckpointOfAnotherRoundOrCorrupted_StartsOver()
    {
        var path = Path.Combine(Path.GetTempPath(), $"federate-ckpt-{Guid.NewGuid():N}", "client.safetensors");
        var (client, global) = Setup();
        var uninterrupted = client.Fit(global, Config(4), CancellationToken.None);

        var other = Config(2, path);
        other[RecordNames.ServerRound] = 2L;
        client.Fit(global, other, CancellationToken.None);
        var stale = client.Fit(global, Config(4, path, resume: true), CancellationToken.None);
        Assert.False(stale.Metrics.ContainsKey("resumed_from_epoch"));
        Assert.Equal(Bytes(uninterrupted.Parameters), Bytes(stale.Parameters));

        File.WriteAllBytes(path, [1, 2, 3]);
        var corrupted = client.Fit(global, Config(4, path, resume: true), CancellationToken.None);
        Assert.False(corrupted.Metrics.ContainsKey("resumed_from_epoch"));
        Assert.Equal(Bytes(uninterrupted.Parameters), Bytes(corrupted.Parameters));
    }
}
